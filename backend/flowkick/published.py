"""Feeds published for the read path: each one serialized once, by whoever changed it.

Working a feed out from its row (the platform's items, the picture map, `resolve`) costs
milliseconds; a read path doing it on every first request of a feed sets the rate of a
server whose visitors ask for more feeds than it keeps in memory. So the process that
writes a feed also publishes it: the feed as visitors see it, serialized, in
`feed_public`, under the feed row's version. A first request then reads that one row
(`lookups.FEED`).

Publishing follows the writers (the refresher and the media worker call `notify`), and a
once-a-second check (`Reader.check_versions`) hands over any feed whose published copy
lags its row, whoever wrote it: the CLI, an older process, a statement by hand. A copy is
stored only over an older one, so two processes publishing the same feed never go back
in time, and until a feed is published the read path works it out from the row itself.

A feed stored with new items is held back a moment (`SETTLE_SECONDS`) while the media
worker gathers their pictures, then published once, pictures and all, rather than once
with placeholders and again a moment later (visitors saw the placeholders flash, and the
67 KB copy was serialized and written twice). A feed whose pictures take longer goes out
with placeholders, and again with the pictures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import suppress
from functools import cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.database import Database, in_list
from flowkick.feeds import public_body
from flowkick.lookups import UNPUBLISHED, Lookups
from flowkick.media.resolve import UrlFor
from flowkick.tables import FeedCache, FeedPublic

log = logging.getLogger("flowkick.published")
BATCH = 25  # feeds per transaction: each serialized in the event loop, so a batch holds it ~15 ms
SETTLE_SECONDS = 1.0  # how long a feed with new items waits for their pictures before it goes out without
_PROBE = "00/" + "0" * 32 + "-160.webp"  # any valid stored name


def media_base(url_for: UrlFor) -> str:
    """The prefix `url_for` puts before a stored file's name: a copy made with another is not ours."""
    return url_for(_PROBE)[: -len(_PROBE)]


class Publisher:
    def __init__(self, db: Database, url_for: UrlFor) -> None:
        self.db = db
        self.url_for = url_for
        self.base = media_base(url_for)
        # feeds now published at their row's version, and those of them whose copy this
        # process stored (a copy already current is not stored again, nor its answers forgotten)
        self.on_published: Callable[[list[int], list[int]], None] = lambda current, stored: None
        self._queued: dict[int, float] = {}  # source id -> when first queued (monotonic)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self, source_ids: Iterable[int]) -> None:
        """These feeds were written: publish them soon (in batches, off the caller's path)."""
        now = time.monotonic()
        for source_id in source_ids:
            self._queued.setdefault(source_id, now)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="flowkick-publisher")

    async def stop(self) -> None:
        """Publish what is queued, then stop."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.publish_queued()

    async def _loop(self) -> None:
        while True:
            with suppress(TimeoutError):
                async with asyncio.timeout(self._until_next()):
                    await self._wake.wait()
            try:
                await self.publish_queued(SETTLE_SECONDS)
            except Exception:
                log.exception("publishing feeds failed; trying again")
                await asyncio.sleep(1)

    def _until_next(self) -> float | None:
        """Seconds until the feed queued longest may go out without its pictures; None: none queued."""
        if not self._queued:
            return None
        return max(0.0, min(self._queued.values()) + SETTLE_SECONDS - time.monotonic())

    async def publish_queued(self, settle: float = 0.0) -> None:
        """Publish what is queued, but feeds queued less than `settle` seconds ago whose
        pictures are still being gathered: they stay queued."""
        self._wake.clear()
        queued = list(self._queued.items())
        for start in range(0, len(queued), BATCH):
            batch = dict(queued[start:start + BATCH])
            for source_id in batch:
                del self._queued[source_id]
            now = time.monotonic()
            young = [source_id for source_id, since in batch.items() if now - since < settle]
            held: Collection[int] = batch  # nothing is lost on a failure: tried again on the next wake
            try:
                held = await self.publish(list(batch), young)
            finally:
                for source_id in held:
                    self._queued[source_id] = min(batch[source_id], self._queued.get(source_id, batch[source_id]))

    async def publish_lagging(self) -> None:
        """Publish every feed whose published copy lags its row, now (the CLI, after a refresh)."""
        lookups = Lookups(self.db)
        try:
            lagging = [source_id for source_id, in await lookups.scan(UNPUBLISHED)]
        finally:
            lookups.close()
        for start in range(0, len(lagging), BATCH):
            await self.publish(lagging[start:start + BATCH])

    async def publish(self, source_ids: list[int], young: Collection[int] = ()) -> list[int]:
        """Serialize these feeds from their rows and store each over any older copy; but those
        of `young` whose pictures are still being gathered, which are returned."""
        current, stored, held = await self.db.write(lambda session: self._publish(session, source_ids, young))
        if current:
            self.on_published(current, stored)
        return held

    async def _publish(self, session: AsyncSession, source_ids: list[int],
                       young: Collection[int]) -> tuple[list[int], list[int], list[int]]:
        held = await _gathering(session, young) if young else []
        ready = [source_id for source_id in source_ids if source_id not in held]
        if not ready:
            return [], [], held
        rows = (await session.execute(select(FeedCache).where(col(FeedCache.source_id).in_(in_list(ready))))).scalars()
        values = [{"source_id": row.source_id, "version": row.version, "base": self.base, "status": row.status,
                   "fetched_at": row.fetched_at, "expires_at": row.expires_at, "body": public_body(row, self.url_for)}
                  for row in rows]
        stored = list((await session.execute(_newer_over_older(self.db.is_sqlite), values)).scalars()) if values else []
        return [v["source_id"] for v in values], stored, held


async def _gathering(session: AsyncSession, source_ids: Collection[int]) -> list[int]:
    """Those of these feeds whose pictures are still being gathered. Their status is checked
    here, not in the statement: with `status = 'ok'` in it, SQLite walked the status index
    over every feed (5 ms at 30,000, on every batch published) instead of reading these by key."""
    rows = await session.execute(select(FeedCache.source_id, FeedCache.status).where(
        col(FeedCache.source_id).in_(in_list(source_ids)), col(FeedCache.content_hash) != col(FeedCache.media_hash)))
    return [source_id for source_id, status in rows.all() if status == "ok"]


@cache
def _newer_over_older(is_sqlite: bool) -> Any:
    """INSERT … ON CONFLICT DO UPDATE, only where the stored copy is of an older version or
    base; RETURNING names the copies it stored. Answering a feed already current as newly
    published forgot its answers for nothing, and a feed queued again while its publication
    ran (the media worker's notice) came back moments later: a test saw another feed's
    refresh drop its stored answers. Made once and run with a batch's rows as parameters:
    a statement with the rows in it, made per batch, cost a first fill a twentieth of its
    event loop's time."""
    insert = sqlite.insert if is_sqlite else postgresql.insert
    statement = insert(FeedPublic)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["source_id"],
        set_={name: getattr(new, name) for name in ("version", "base", "status", "fetched_at", "expires_at", "body")},
        where=(col(FeedPublic.version) < new.version) | (col(FeedPublic.base) != new.base),
    ).returning(col(FeedPublic.source_id))
