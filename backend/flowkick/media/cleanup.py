"""Keeping the media store bounded.

Files no tracked feed references any more (a post dropped out of its feed, a source no
client shows) are deleted once they have been unreferenced for the grace period, so a feed
that flips back within it does not download its pictures again; an untracked feed forgets
them, and gathers them anew if a client tracks it again. Over the store's size cap, the pictures
whose feeds were requested least recently are evicted first; their feeds show the
placeholder until a later pass stores them again. Files that never made it into the asset
table (a crash between storing and recording) are deleted after the grace period too.

It runs in the media worker about once an hour, and reads the asset table whole and the
feeds' picture maps a page at a time: cheap next to one image download, and never on a
visitor's request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only
from sqlmodel import col, select

from flowkick.database import Database, in_list
from flowkick.media.store import MediaStore
from flowkick.settings import Settings
from flowkick.tables import ClientSource, FeedCache, MediaAsset

EVICTED_RETRY_SECONDS = 24 * 3600.0
_UNLINKED = (FeedCache.media, FeedCache.media_hash, FeedCache.version, FeedCache.media_failures,
             FeedCache.media_retry_at)
FEED_PAGE = 100  # feeds whose picture maps are read and parsed between two turns of the event loop


@dataclass
class Cleaned:
    deleted: int = 0
    evicted: int = 0
    orphans: int = 0
    changed_feeds: tuple[int, ...] = ()


async def clean(db: Database, store: MediaStore, settings: Settings, now: float) -> Cleaned:
    shown = await _shown_at(db)
    await db.write(lambda s: _mark(s, shown, now))
    result = Cleaned()
    result.deleted = await _delete_unreferenced(db, store, now - settings.media_grace_hours * 3600)
    if settings.media_max_store_bytes > 0:
        result.evicted, result.changed_feeds = await _evict(db, store, settings.media_max_store_bytes, now)
    result.orphans = await _delete_orphans(db, store, now - settings.media_grace_hours * 3600)
    return result


async def _shown_at(db: Database) -> dict[str, float]:
    """Every digest a tracked feed references, with the last time a feed showing it was requested."""
    shown: dict[str, float] = {}
    columns = (FeedCache.media, FeedCache.last_requested_at, FeedCache.fetched_at)
    async for rows in _feed_pages(db, columns, tracked=True):
        for _, media, requested, fetched in rows:
            at = requested or fetched or 0.0
            for digest in _digests(media):
                shown[digest] = max(shown.get(digest, 0.0), at)
    return shown


async def _feed_pages(db: Database, columns: tuple[Any, ...], tracked: bool = False) -> AsyncIterator[list[Any]]:
    """Every feed's `columns` after its source id, `FEED_PAGE` feeds at a time (only those a
    client tracks when `tracked`).

    Parsing every feed's picture map in one go held the event loop for seconds at tens of
    thousands of feeds, and visitors' requests with it.
    """
    after = -1
    while True:
        page = select(FeedCache.source_id, *columns).where(col(FeedCache.source_id) > after)
        if tracked:
            page = page.where(exists().where(col(ClientSource.source_id) == FeedCache.source_id))
        page = page.order_by(col(FeedCache.source_id)).limit(FEED_PAGE)
        rows = (await db.read(lambda s, page=page: s.execute(page))).all()
        if rows:
            yield rows
        if len(rows) < FEED_PAGE:
            return
        after = rows[-1][0]


async def _mark(session: AsyncSession, shown: dict[str, float], now: float) -> None:
    """Every picture no tracked feed shows is unreferenced from now on (unless it already
    was); every shown one is referenced again, last shown when its feed last was. Two
    statements, not an ORM object per stored picture: a store holds hundreds of thousands."""
    await session.execute(update(MediaAsset).where(col(MediaAsset.unreferenced_since).is_(None))
                          .values(unreferenced_since=now))
    if shown:
        await session.execute(_SHOWN, [{"d": digest, "at": at} for digest, at in shown.items()])


_assets = MediaAsset.__table__  # type: ignore[attr-defined]
_SHOWN = update(_assets).where(_assets.c.digest == bindparam("d")).values(
    unreferenced_since=None,
    last_shown_at=case((_assets.c.last_shown_at < bindparam("at"), bindparam("at")), else_=_assets.c.last_shown_at))


async def _delete_unreferenced(db: Database, store: MediaStore, before: float) -> int:
    rows = await db.read(lambda s: s.execute(
        select(MediaAsset.digest, MediaAsset.files).where(col(MediaAsset.unreferenced_since) < before)))
    gone = rows.all()
    if gone:
        await _unlink(db, {d for d, _ in gone}, retry_at=None)
    await _forget(db, store, gone)
    return len(gone)


async def _evict(db: Database, store: MediaStore, cap: int, now: float) -> tuple[int, tuple[int, ...]]:
    """Delete the least recently shown pictures until the store fits its cap again."""
    rows = await db.read(lambda s: s.execute(
        select(MediaAsset.digest, MediaAsset.files, MediaAsset.bytes).order_by(col(MediaAsset.last_shown_at))))
    assets = rows.all()
    excess = sum(size for _, _, size in assets) - cap
    victims = []
    for digest, files, size in assets:
        if excess <= 0:
            break
        victims.append((digest, files))
        excess -= size
    if not victims:
        return 0, ()
    changed = await _unlink(db, {d for d, _ in victims}, retry_at=now + EVICTED_RETRY_SECONDS)
    await _forget(db, store, victims)
    return len(victims), changed


async def _unlink(db: Database, digests: set[str], retry_at: float | None) -> tuple[int, ...]:
    """Take pictures about to be deleted out of every feed map naming them, giving those feeds
    a new version. Maps first, files after (`_forget`): a process killed in between leaves
    pictures no feed names, deleted by a later pass; the other way round it left feeds
    naming deleted files: broken pictures on their pages.

    Evicted pictures become a failure record retried at `retry_at` (not at once: the store
    is full); deleted unreferenced ones are dropped, and the feed gathers again whenever
    it is tracked. The maps are read a page at a time and only the feeds naming a deleted
    picture are loaded whole: loading every feed row, items and all, in one transaction
    held the event loop and hundreds of megabytes at tens of thousands of feeds.
    """
    changed: list[int] = []
    async for rows in _feed_pages(db, (FeedCache.media,)):
        naming = [source_id for source_id, media in rows if _digests(media) & digests]
        if naming:
            changed += await db.write(lambda s, naming=naming: _unlink_rows(s, naming, digests, retry_at))
    return tuple(changed)


async def _unlink_rows(session: AsyncSession, source_ids: list[int], digests: set[str],
                       retry_at: float | None) -> list[int]:
    """`_unlink` for these feeds, their maps read again in the write's own transaction (and
    only what it changes: the items stay unread)."""
    rows = (await session.execute(select(FeedCache).options(load_only(*_UNLINKED)).where(
        col(FeedCache.source_id).in_(in_list(source_ids))))).scalars()
    changed = []
    for row in rows:
        hits = [key for key, record in row.media.items() if _digest(record) in digests]
        if not hits:
            continue
        media = dict(row.media)
        for key in hits:
            if retry_at is None:
                del media[key]
                row.media_hash = ""
            else:
                media[key] = {"x": "evicted", "n": 0, "t": retry_at}
        row.media, row.version = media, row.version + 1
        row.media_failures = sum(1 for r in media.values() if not _digest(r))
        row.media_retry_at = min((r.get("t", 0.0) for r in media.values() if not _digest(r)), default=None)
        changed.append(row.source_id)
    return changed


async def _delete_orphans(db: Database, store: MediaStore, before: float) -> int:
    known = set((await db.read(lambda s: s.execute(select(MediaAsset.digest)))).scalars())
    orphans = [f.name async for f in store.files() if f.modified < before and _name_digest(f.name) not in known]
    await store.delete(orphans)
    return len(orphans)


async def _forget(db: Database, store: MediaStore, assets: list[Any]) -> None:
    """Delete the files first: a crash in between leaves rows to retry, never files unaccounted."""
    if not assets:
        return
    await store.delete([name for _, files, *_ in assets for name in files])
    digests = [digest for digest, *_ in assets]

    async def work(session: AsyncSession) -> None:
        await session.execute(delete(MediaAsset).where(col(MediaAsset.digest).in_(digests)))

    await db.write(work)


def _digests(media: Mapping[str, Any]) -> set[str]:
    return {d for d in (_digest(record) for record in media.values()) if d}


def _digest(record: Any) -> str | None:
    return record.get("d") if isinstance(record, Mapping) else None


def _name_digest(name: str) -> str:
    """ab/<digest>-640.webp -> <digest>."""
    return name.rsplit("/", 1)[-1].split("-", 1)[0]
