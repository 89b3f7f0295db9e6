"""Raw actor output used by the parser tests and the fake Apify server.

Copies of the shared research samples (invented data in the real actors' field names),
kept in the repository so a clone tests on its own.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
