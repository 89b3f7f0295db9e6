"""Collection planning: what each refresh asks Apify for, and how the answer joins what is stored.

Apify charges per result, so after a source's first fill a refresh asks only for what is
new (docs/apify.md has the figures):

- **fill**: a source with nothing dated stored, or whose last incremental fetch may have
  missed items, asks for its newest `items_per_source` items and replaces what it had;
- **incremental**: otherwise it asks only for items published after `since`, the later
  of its newest stored item and its last fetch (less `OVERLAP_SECONDS` for items the
  platform lists late), with each actor's date filter, and merges them in: deduplicated
  by id, the fetched copy winning, newest first, capped at `items_per_source`;
- **renewal**: every `counts_refresh_hours` the fetch reaches back `counts_window_hours`
  (or to `since`, if that is earlier), so the likes and comments of recent items (the
  ones still collecting them) are renewed; 0 hours makes the renewal a fill.

One actor run serves a batch of handles with one date filter, the earliest `since` of
the batch; due sources are sorted by `since` before batching so a batch's handles ask
for similar windows. A source that posts rarely is checked less often: its next check is
its average time between posts divided by `QUIET_DIVISOR`, never sooner than the
platform's TTL and never later than `quiet_max_hours` (the TTL stays the promise for
active sources).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

from flowkick.feeds import content_hash
from flowkick.settings import Settings
from flowkick.sources import HandleResult, Item
from flowkick.sources.actor_output import NO_ITEMS, newest_first
from flowkick.sources.actors import ACTORS
from flowkick.sources.readers import parse_time
from flowkick.tables import FeedCache

# Items a platform lists a little after their publication time still fall in the window.
OVERLAP_SECONDS = 600.0
# A quiet source is checked about twenty times between two of its posts: a new post then
# waits on average a fortieth of that gap (a café posting every other day: about 1 hour).
QUIET_DIVISOR = 20


@dataclass(frozen=True)
class Due:
    """A source to fetch, the row version it was due at (a claim fails once the row moved on),
    and what to ask for: `since` None for a fill, else items published after it; `renew` when
    the fetch renews counts."""

    source_id: int
    platform: str
    handle: str
    version: int
    since: float | None = None
    renew: bool = True


@dataclass(frozen=True)
class Stored:
    """What planning needs to know of a source's row."""

    fetched_at: float | None
    newest_at: float | None
    counts_renewed_at: float | None


def plan(due: Due, stored: Stored, settings: Settings, now: float) -> Due:
    """What one due source's next fetch asks for (see the module docstring)."""
    if stored.newest_at is None or stored.counts_renewed_at is None:
        return replace(due, since=None, renew=True)
    since = max(stored.newest_at + 1, (stored.fetched_at or 0.0) - OVERLAP_SECONDS)
    if now - stored.counts_renewed_at >= settings.counts_refresh_hours * 3600:
        window = settings.counts_window_hours * 3600
        return replace(due, since=min(since, now - window) if window else None, renew=True)
    return replace(due, since=since, renew=False)


def batches(due: list[Due], size: int) -> list[list[Due]]:
    """Due sources in runs: per platform, fills apart from incremental fetches (which go
    oldest `since` first), at most `size` handles a run (fewer where the actor needs it)."""
    groups: dict[tuple[str, bool], list[Due]] = {}
    for d in due:
        groups.setdefault((d.platform, d.since is None), []).append(d)
    runs = []
    for (platform, fill), group in groups.items():
        spec_size = ACTORS[platform].fill_batch_size if fill and platform in ACTORS else None
        step = min(size, spec_size or size)
        ordered = group if fill else sorted(group, key=lambda d: d.since or 0.0)
        runs += [ordered[i:i + step] for i in range(0, len(ordered), step)]
    return runs


def run_since(batch: list[Due]) -> datetime | None:
    """The date filter of the batch's run: its earliest `since` (None when it is a fill)."""
    moments = [d.since for d in batch]
    if any(moment is None for moment in moments):
        return None
    return datetime.fromtimestamp(min(m for m in moments if m is not None), UTC)


def nothing_new(due: Due, got: HandleResult) -> bool:
    """An incremental fetch that found no new item for a handle: that is news, not a failure."""
    return due.since is not None and not got.items and got.error == NO_ITEMS


def store(row: FeedCache, due: Due, got: HandleResult, settings: Settings, now: float) -> None:
    """Fold a handle's successful fetch into its row: items, profile, freshness, counts."""
    limit = settings.items_per_source
    items = got.items[:limit] if due.since is None else merged(row.items, got.items, limit)
    gap = due.since is not None and _may_have_missed(row.items, got.items, due, limit)
    row.items, row.profile = items, got.profile or row.profile
    row.item_count, row.content_hash = len(items), content_hash(items, row.profile)
    row.newest_at = newest_time(items)
    row.counts_renewed_at = None if gap else now if due.renew else row.counts_renewed_at
    row.status, row.fetched_at = "ok", now
    row.expires_at = now + next_check(items, settings.ttl(due.platform), settings, now)


def merged(stored: list[Item], fetched: list[Item], limit: int) -> list[Item]:
    """Stored and fetched items by id (the fetched copy has the fresh counts), newest first."""
    by_id = {item["id"]: item for item in stored}
    by_id.update((item["id"], item) for item in fetched)
    return newest_first(by_id.values())[:limit]


def newest_time(items: Iterable[Item]) -> float | None:
    """Publication time of the newest dated item, as Unix seconds."""
    moments = [_timestamp(item) for item in items]
    dated = [moment for moment in moments if moment is not None]
    return max(dated) if dated else None


def next_check(items: list[Item], ttl: float, settings: Settings, now: float) -> float:
    """Seconds until the source is due again: its TTL, longer for a source that posts rarely."""
    dated = sorted((m for m in map(_timestamp, items) if m is not None), reverse=True)
    if not dated:
        return ttl
    spans = [now - dated[0]] + ([(dated[0] - dated[-1]) / (len(dated) - 1)] if len(dated) > 1 else [])
    return min(max(ttl, max(spans) / QUIET_DIVISOR), max(ttl, settings.quiet_max_hours * 3600))


def _may_have_missed(stored: list[Item], fetched: list[Item], due: Due, limit: int) -> bool:
    """An incremental fetch that came back full of items never seen may have missed older
    new ones (the actor's limit cut them): the next fetch is a fill."""
    known = {item["id"] for item in stored}
    spec = ACTORS.get(due.platform)
    cap = spec.per_handle(limit, run_since([due])) if spec else limit
    return len(fetched) >= cap and not any(item["id"] in known for item in fetched)


def _timestamp(item: Item) -> float | None:
    value = item.get("published_at")
    return _moment(value) if isinstance(value, str) else None


@lru_cache(maxsize=16_384)
def _moment(text: str) -> float | None:
    """A stored item's time as Unix seconds. Kept: a feed's renewal meets its items' times
    again, and parsing them twice per stored feed was a twentieth of a first fill."""
    parsed = parse_time(text)
    return datetime.fromisoformat(parsed).timestamp() if parsed else None
