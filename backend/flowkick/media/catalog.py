"""The media worker's database side: feeds whose pictures need gathering, stored assets,
and each feed's picture map.

A tracked feed needs gathering when its items changed since its pictures were last gathered
(`content_hash != media_hash`) or a failed download is due again (`media_retry_at`). The
map is written back with SQL arithmetic on `version`, so a refresh storing new items at the
same moment never loses its write or shares a version number with ours.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.database import Database, in_list
from flowkick.tables import ClientSource, FeedCache, MediaAsset


@dataclass(frozen=True)
class Pending:
    """A feed whose pictures to gather, as it was read."""

    source_id: int
    content_hash: str
    items: list[dict[str, Any]]
    profile: dict[str, Any]
    media: dict[str, Any]


@dataclass(frozen=True)
class Gathered:
    """What one pass over a feed's pictures found: its new map and when failures retry."""

    media: dict[str, Any]
    failures: int
    retry_at: float | None


async def pending(db: Database, now: float, limit: int, among: Collection[int] | None = None) -> list[Pending]:
    """The feeds to gather, most recently requested first; or, given the feeds the refresher
    just stored (`among`), those of them that need it. They are picked first and only those
    are read whole: filtering on the rows walked every feed's items (SQLite keeps a long
    row's later columns on overflow pages), which made a first fill of 30,000 feeds slow
    down as it went. Any feed is picked from the index ix_feed_cache_media alone, but even
    that walks every feed (13 ms at 30,000), once per pass of a fill: named feeds are found
    by key, and their status checked here, as SQLite would walk the status index for it."""
    needs = (or_(col(FeedCache.content_hash) != col(FeedCache.media_hash), col(FeedCache.media_retry_at) <= now),
             exists().where(col(ClientSource.source_id) == FeedCache.source_id))
    picked: Any
    if among is not None:
        named = await db.read(lambda s: s.execute(select(FeedCache.source_id, FeedCache.status).where(
            col(FeedCache.source_id).in_(in_list(among)), *needs)))
        picked = in_list([source_id for source_id, status in named.all() if status == "ok"][:limit])
        if not picked:
            return []
    else:
        picked = (select(FeedCache.source_id).where(FeedCache.status == "ok", *needs)
                  .order_by(col(FeedCache.last_requested_at).desc().nulls_last(), FeedCache.source_id)
                  .limit(limit).scalar_subquery())
    query = (select(FeedCache.source_id, FeedCache.content_hash, FeedCache.items, FeedCache.profile, FeedCache.media)
             .where(col(FeedCache.source_id).in_(picked)))
    rows = await db.read(lambda s: s.execute(query))
    return [Pending(*row) for row in rows.all()]


async def assets(db: Database, digests: list[str]) -> dict[str, MediaAsset]:
    if not digests:
        return {}
    rows = await db.read(lambda s: s.execute(select(MediaAsset).where(col(MediaAsset.digest).in_(in_list(digests)))))
    return {a.digest: a for a in rows.scalars()}


async def add_asset(db: Database, asset: MediaAsset) -> None:
    """Record a stored asset; another process storing the same picture first is fine."""
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    values = asset.model_dump()

    async def work(session: AsyncSession) -> None:
        await session.execute(insert(MediaAsset).values(values).on_conflict_do_nothing(index_elements=["digest"]))

    await db.write(work)


async def save(db: Database, gathered: list[tuple[Pending, Gathered]]) -> list[int]:
    """Store feeds' new picture maps in one transaction; the feeds whose visible pictures
    changed (they got a new version).

    The maps go in one statement run for every feed, not an ORM statement built for each:
    building them cost a tenth of a first fill. When a feed's items changed while we worked,
    the map is merged in (nothing learnt is lost) but the feed stays pending, so the next
    pass gathers the new items' pictures.
    """
    visible = {feed.source_id: _shown(found.media) != _shown(feed.media) for feed, found in gathered}

    async def work(session: AsyncSession) -> list[int]:
        await session.execute(_SAVE_MAP, [
            {"id": feed.source_id, "hash": feed.content_hash, "new_media": found.media, "failures": found.failures,
             "retry_at": found.retry_at, "bump": int(visible[feed.source_id])} for feed, found in gathered])
        hashes: dict[int, str] = dict((await session.execute(select(FeedCache.source_id, FeedCache.content_hash).where(
            col(FeedCache.source_id).in_(in_list(visible))))).all())
        changed = []
        for feed, found in gathered:
            if feed.source_id not in hashes:  # the source was removed meanwhile
                continue
            if hashes[feed.source_id] == feed.content_hash:
                if visible[feed.source_id]:
                    changed.append(feed.source_id)
            elif await _merge(session, feed.source_id, found.media):
                changed.append(feed.source_id)
        return changed

    return await db.write(work) if gathered else []


def name(row: FeedCache, found: Gathered) -> None:
    """Give a feed row being written its picture map (the refresher's write: `MediaWorker.name_known`)."""
    row.media, row.media_hash = found.media, row.content_hash
    row.media_failures, row.media_retry_at = found.failures, found.retry_at


_table = FeedCache.__table__  # type: ignore[attr-defined]
_SAVE_MAP = (
    update(_table).where(_table.c.source_id == bindparam("id"), _table.c.content_hash == bindparam("hash"))
    .values(media=bindparam("new_media"), media_hash=bindparam("hash"), media_failures=bindparam("failures"),
            media_retry_at=bindparam("retry_at"), version=_table.c.version + bindparam("bump"))
)


async def _merge(session: AsyncSession, source_id: int, media: dict[str, Any]) -> bool:
    """A feed whose items changed since it was read: what was learnt joins its map."""
    row = await session.get(FeedCache, source_id)
    if row is None:
        return False
    row.media = {**row.media, **media}
    row.version += 1
    return True


async def totals(session: AsyncSession) -> tuple[int, int, int]:
    """Stored assets, their bytes, and failed downloads across every feed (admin, metrics)."""
    count, size = (await session.execute(
        select(func.count(), func.coalesce(func.sum(MediaAsset.bytes), 0)).select_from(MediaAsset))).one()
    failures = (await session.execute(select(func.coalesce(func.sum(FeedCache.media_failures), 0)))).scalar_one()
    return int(count), int(size), int(failures)


def _shown(media: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a map that visitors see: stored pictures, not failure bookkeeping."""
    return {k: v for k, v in media.items() if isinstance(v, Mapping) and v.get("d")}
