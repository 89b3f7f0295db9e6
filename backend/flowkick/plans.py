"""Plans: what a client pays for, as numbers the read path and the refresher enforce.

The four sold plans (free, starter, pro, enterprise) have defaults below; the
`FLOWKICK_PLANS` setting (JSON) changes any of their numbers or adds plans:

    {"starter": {"monthly_requests": 50000}, "agency": {"max_sources": 200, "over_limit": "block"}}

`demo` is the built-in sample client's plan: unlimited, without a burst limit, so the
example pages on a developer's machine never stop working.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

OverLimit = Literal["freeze", "block"]
SOLD = ("free", "starter", "pro", "enterprise")
DEMO_PLAN = "demo"


@dataclass(frozen=True)
class Plan:
    """A plan's limits. None means unlimited."""

    name: str
    monthly_requests: int | None
    max_sources: int | None
    min_refresh_seconds: int
    over_limit: OverLimit = "freeze"  # freeze: serve the last items, stop refreshing; block: answer 429
    burst: bool = True  # whether the per-key token bucket applies

    def over(self, used: int) -> bool:
        return self.monthly_requests is not None and used > self.monthly_requests

    def spent(self, used: int) -> bool:
        return self.monthly_requests is not None and used >= self.monthly_requests


DEFAULT_PLANS: dict[str, Plan] = {
    "free": Plan("free", monthly_requests=10_000, max_sources=2, min_refresh_seconds=900),
    "starter": Plan("starter", monthly_requests=100_000, max_sources=5, min_refresh_seconds=600),
    "pro": Plan("pro", monthly_requests=1_000_000, max_sources=25, min_refresh_seconds=300),
    "enterprise": Plan("enterprise", monthly_requests=None, max_sources=None, min_refresh_seconds=60),
    DEMO_PLAN: Plan(DEMO_PLAN, monthly_requests=None, max_sources=None, min_refresh_seconds=0, burst=False),
}

_NUMBERS = {"monthly_requests", "max_sources", "min_refresh_seconds"}


class Plans:
    """The plan table in force; an unknown plan name falls back to free, never to unlimited."""

    def __init__(self, overrides: str = "") -> None:
        self.by_name = dict(DEFAULT_PLANS)
        for name, values in _parse(overrides).items():
            base = self.by_name.get(name, replace(DEFAULT_PLANS["free"], name=name))
            self.by_name[name] = replace(base, **_checked(name, values))

    def __getitem__(self, name: str) -> Plan:
        return self.by_name.get(name) or self.by_name["free"]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def names(self) -> list[str]:
        """Plans an operator can assign (the demo plan is the sample client's own)."""
        return [name for name in self.by_name if name != DEMO_PLAN]


def _parse(raw: str) -> dict[str, dict[str, Any]]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"FLOWKICK_PLANS is not valid JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError('FLOWKICK_PLANS must look like {"plan": {"monthly_requests": 1000, ...}}')
    return value


def _checked(name: str, values: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(Plan)} - {"name"}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"plan {name!r}: unknown limit {key!r}; use one of {sorted(known)}")
        if key in _NUMBERS and not (value is None or (isinstance(value, int) and value >= 0)):
            raise ValueError(f"plan {name!r}: {key} must be a whole number or null")
        if key == "over_limit" and value not in ("freeze", "block"):
            raise ValueError(f"plan {name!r}: over_limit must be 'freeze' or 'block'")
        if key == "burst" and not isinstance(value, bool):
            raise ValueError(f"plan {name!r}: burst must be true or false")
    return values
