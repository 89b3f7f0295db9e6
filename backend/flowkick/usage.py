"""Usage counters: counted in memory on the hot path, written to the database in batches.

A request never writes to the database. Counts and "last requested" times pile up here
and a background task flushes them: counts every `usage_flush_seconds`, times every
REQUESTED_SECONDS, both once more on shutdown. A failed flush puts them back, so nothing
is lost when the database is briefly busy. After each flush `on_flush` hears what was
written: quotas.py reads every process's totals then, so a monthly quota holds across
processes. The widget's views and opened posts (analytics.py decides what counts) ride
along: per client and day in the usage row, and opened posts per item in item_clicks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import or_

from flowkick import logs
from flowkick.clock import Clock, day
from flowkick.database import Database
from flowkick.tables import FeedCache, ItemClicks, Usage

log = logging.getLogger("flowkick.usage")

# "Last requested" times steer refreshes and alerts hours ahead: written every half minute,
# not on every flush (each is an UPDATE of a feed's whole row).
REQUESTED_SECONDS = 30.0
_FIELDS = ("requests", "cache_hits", "errors", "views", "clicks")
EVENTS = {"view": 3, "click": 4}  # an analytics event's field in _FIELDS
Clicks = defaultdict[tuple[int, str, str], int]


def _zeros() -> list[int]:
    return [0] * len(_FIELDS)


class UsageCounter:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._counts: defaultdict[tuple[int, str], list[int]] = defaultdict(_zeros)
        self._clicks: Clicks = defaultdict(int)
        self._requested: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._day: tuple[float, str] = (0.0, "")
        self.totals = [0, 0, 0]  # requests, cache hits, errors since start (for /metrics)
        self._one_at_a_time = asyncio.Lock()  # flushes, `on_flush` included, never overlap
        # Told the requests each flush wrote, per (client, day), before the lock is let go.
        self.on_flush: Callable[[Mapping[tuple[int, str], int]], Awaitable[None]] | None = None

    def record(self, client_id: int, *, hit: bool = False, error: bool = False) -> None:
        logs.note_client(client_id, hit)  # the access line names the client and whether memory answered
        counts = self._counts[(client_id, self._today())]
        counts[0] += 1
        counts[1] += hit
        counts[2] += error
        totals = self.totals
        totals[0] += 1
        totals[1] += hit
        totals[2] += error

    def event(self, client_id: int, kind: str, item_id: str | None = None) -> None:
        """A view of a feed or an opened post ("view" or "click"), already admitted by analytics.py."""
        today = self._today()
        self._counts[(client_id, today)][EVENTS[kind]] += 1
        if kind == "click" and item_id:
            self._clicks[(client_id, today, item_id)] += 1

    def _today(self) -> str:
        """The UTC day's name, formatted once a day rather than once a request."""
        now = self.clock.now()
        start, name = self._day
        if not start <= now < start + 86400:
            start, name = now - now % 86400, day(now)
            self._day = (start, name)
        return name

    def requested(self, source_id: int, at: float) -> None:
        self._requested[source_id] = at

    def pending(self, client_id: int) -> dict[str, int]:
        """Counts not yet flushed for a client, summed over days (for quotas and tests)."""
        totals = _zeros()
        for (cid, _), counts in self._counts.items():
            if cid == client_id:
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
        return dict(zip(_FIELDS, totals, strict=True))

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(self._loop(interval), name="flowkick-usage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def _loop(self, interval: float) -> None:
        every = max(1, round(REQUESTED_SECONDS / interval))
        for turn in itertools.count(1):
            await asyncio.sleep(interval)
            try:
                await self.flush(requested=turn % every == 0)
            except Exception:  # noqa: BLE001 - counts were put back; try again next time
                log.exception("usage flush failed")

    async def flush(self, requested: bool = True) -> None:
        """Write the counts (and the "last requested" times unless `requested` is false), then
        tell `on_flush`. A cancelled caller (a server stopping) does not cut a flush short: a
        write that commits must never also be put back, or its counts would be written twice."""
        flushing = asyncio.ensure_future(self._flush(requested))
        flushing.add_done_callback(_seen)
        await asyncio.shield(flushing)

    async def _flush(self, with_requested: bool) -> None:
        async with self._one_at_a_time:
            counts, self._counts = self._counts, defaultdict(_zeros)
            clicks, self._clicks = self._clicks, defaultdict(int)
            requested: dict[int, float] = {}
            if with_requested:
                requested, self._requested = self._requested, {}
            if counts or requested:
                try:
                    await self.db.write(lambda session: self._write(session, counts, clicks, requested))
                except BaseException:
                    self._put_back(counts, clicks, requested)
                    raise
            if self.on_flush is not None:
                await self.on_flush({key: values[0] for key, values in counts.items() if values[0]})

    async def _write(self, session: AsyncSession, counts: dict[tuple[int, str], list[int]], clicks: Clicks,
                     requested: dict[int, float]) -> None:
        if counts:
            rows = [{"client_id": c, "day": d, **dict(zip(_FIELDS, v, strict=True))} for (c, d), v in counts.items()]
            await session.execute(_upsert(self.db, Usage, ["client_id", "day"], _FIELDS), rows)
        if clicks:
            rows = [{"client_id": c, "day": d, "item_id": i, "clicks": n} for (c, d, i), n in clicks.items()]
            await session.execute(_upsert(self.db, ItemClicks, ["client_id", "day", "item_id"], ("clicks",)), rows)
        if requested:
            await session.execute(_LAST_REQUESTED, [{"sid": s, "at": at} for s, at in requested.items()])

    def _put_back(self, counts: dict[tuple[int, str], list[int]], clicks: Clicks, requested: dict[int, float]) -> None:
        for key, values in counts.items():
            mine = self._counts[key]
            for i, v in enumerate(values):
                mine[i] += v
        for item, n in clicks.items():
            self._clicks[item] += n
        for source_id, at in requested.items():
            self._requested[source_id] = max(at, self._requested.get(source_id, at))


def _seen(task: asyncio.Future[None]) -> None:
    """A flush's failure is its caller's to log; one whose caller was cancelled is dropped
    here instead of being reported as never retrieved (its counts were put back)."""
    if not task.cancelled():
        task.exception()


def _upsert(db: Database, model: Any, keys: list[str], fields: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adds to the day's counters, atomically on both databases.

    One statement executed for every row (executemany), not one statement naming every row:
    compiling a statement of thousands of rows held the event loop for a tenth of a second.
    """
    table = model.__table__
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    statement = insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + excluded[name] for name in fields},
    )


_feeds = FeedCache.__table__  # type: ignore[attr-defined]
# A feed's last request time, moved forward only; executed once for every feed asked.
_LAST_REQUESTED = (update(_feeds)
                   .where(_feeds.c.source_id == bindparam("sid"),
                          or_(_feeds.c.last_requested_at.is_(None), _feeds.c.last_requested_at < bindparam("at")))
                   .values(last_requested_at=bindparam("at")))
