"""Timing knobs of the fake, kept short so tests stay fast; tests may change them live."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Settings:
    """Defaults for every run; `RunPlan`s override them for single runs."""

    run_duration: float = 0.05
    """Seconds from start to the terminal state (READY briefly, then RUNNING)."""
    wait_cap: float = 2.0
    """Longest hold for `waitForFinish` (the real API holds up to 60 s)."""
    webhook_retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2)
    """Pauses before each webhook retry (the real schedule is 1 min, 2 min, 4 min, ...)."""
    user_id: str = "FaKeUsEr0aB1cD2eF"

    def restore_defaults(self) -> None:
        for spec in fields(self):
            setattr(self, spec.name, spec.default)
