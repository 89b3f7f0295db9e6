"""Where feed items come from.

A source fetches the latest items of several handles of one platform in one go and
answers per handle. The refresher only knows this interface; `demo` stands in when no
Apify token is set, and the Apify-backed platform modules plug in behind the same shape.

Items follow the item shape of DESIGN.md. A profile is
`{"name", "handle", "url", "avatar_url", "followers", "rating", "review_count"}`, every
value optional (None when unknown); `rating` and `review_count` are a place's average
and total for Google reviews.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

Item = dict[str, Any]
Profile = dict[str, Any]


@dataclass
class HandleResult:
    """What one fetch learned about one handle.

    `error` set means the handle failed (unknown account, error row, nothing returned);
    the refresher then keeps that handle's previous items. `rows` counts the dataset rows
    the handle accounted for (items and error rows alike): what it cost, in results.
    """

    items: list[Item] = field(default_factory=list)
    profile: Profile = field(default_factory=dict)
    error: str | None = None
    rows: int = 0


@dataclass
class FetchResult:
    """One fetch of a batch of handles: per-handle results plus the run's audit data
    (`cost_usd` what it cost, `charged` the results it was charged for)."""

    handles: dict[str, HandleResult] = field(default_factory=dict)
    status: str = "SUCCEEDED"
    error: str | None = None
    run_id: str | None = None
    dataset_id: str | None = None
    cost_usd: float | None = None
    charged: int = 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED" and self.error is None


class Source(Protocol):
    """Fetches the newest `limit` items for each of `handles` on `platform`."""

    name: str

    async def fetch(self, platform: str, handles: list[str], limit: int) -> FetchResult: ...


class RunStarted(NamedTuple):
    run_id: str
    dataset_id: str | None


@runtime_checkable
class RunSource(Protocol):
    """A source whose fetch is a remote run that outlives this process: started, then collected."""

    name: str

    async def start_run(self, platform: str, handles: list[str], limit: int,
                        since: datetime | None = None) -> RunStarted:
        """Start a run for the newest `limit` items of each handle, or only those published after `since`."""
        ...

    async def collect_run(self, platform: str, handles: list[str], limit: int, run_id: str) -> FetchResult:
        """Wait for the run and read its results; status LOST when the run is unknown."""
        ...
