"""changes.py: every new version of a feed, of its row or its published copy, is logged under a
number larger than every change before it, on SQLite and PostgreSQL alike; writes that keep
the version log nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select, update

from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.lookups import FEED_CHANGES, FEEDS_VERSION
from flowkick.tables import FeedCache, FeedChange, FeedPublic

pytestmark = pytest.mark.anyio
NOW = 1_790_000_000.0


async def _feeds(db: Database) -> list[int]:
    await create_client(db, "Café", {"instagram": ["cafe"], "tiktok": ["cafe"]}, now=NOW)
    rows = await db.read(lambda s: s.execute(select(FeedCache.source_id).order_by(col(FeedCache.source_id))))
    return list(rows.scalars())


async def _count(db: Database) -> int:
    return int((await db.read(lambda s: s.execute(text(FEEDS_VERSION)))).scalar_one())


async def _changes_after(db: Database, seq: int) -> list[tuple[int, int]]:
    rows = await db.read(lambda s: s.execute(text(FEED_CHANGES), {"seq": seq}))
    return [(source_id, version) for source_id, version, _ in rows]


async def _bump(db: Database, source_id: int) -> None:
    await db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.source_id) == source_id)
                                       .values(version=FeedCache.version + 1)))


async def test_a_new_feed_is_logged(each_db: Database) -> None:
    first, second = await _feeds(each_db)
    assert await _changes_after(each_db, 0) == [(first, 0), (second, 0)]


async def test_a_new_version_is_logged_after_every_earlier_change(each_db: Database) -> None:
    first, second = await _feeds(each_db)
    seen = await _count(each_db)
    await _bump(each_db, second)
    await _bump(each_db, first)
    assert await _changes_after(each_db, seen) == [(second, 1), (first, 1)]


async def test_a_feed_changed_again_is_logged_once_at_its_latest_version(each_db: Database) -> None:
    first, _ = await _feeds(each_db)
    seen = await _count(each_db)
    await _bump(each_db, first)
    await _bump(each_db, first)
    assert await _changes_after(each_db, seen) == [(first, 2)]


async def test_a_published_copy_of_a_new_version_is_logged(each_db: Database) -> None:
    first, _ = await _feeds(each_db)
    await each_db.write(_publish(first, 0))
    seen = await _count(each_db)
    await each_db.write(_publish(first, 1))
    assert await _changes_after(each_db, seen) == [(first, 1)]


def _publish(source_id: int, version: int) -> Callable[[AsyncSession], Awaitable[None]]:
    """A copy stored as the publisher stores one: over an older copy, if any."""
    async def work(session: AsyncSession) -> None:
        copy = await session.get(FeedPublic, source_id)
        if copy is None:
            session.add(FeedPublic(source_id=source_id, version=version, base="/media/", status="ok", body=b"{}"))
        else:
            copy.version = version

    return work


async def test_a_write_that_keeps_the_version_logs_nothing(each_db: Database) -> None:
    first, _ = await _feeds(each_db)
    seen = await _count(each_db)
    await each_db.write(lambda s: s.execute(update(FeedCache).values(last_error="timeout", status="error")))
    await each_db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.source_id) == first)
                                            .values(version=FeedCache.version)))
    assert await _count(each_db) == seen
    assert await _changes_after(each_db, seen) == []


async def test_a_removed_feed_leaves_no_change_behind(each_db: Database) -> None:
    first, second = await _feeds(each_db)
    await each_db.write(lambda s: s.execute(delete(FeedCache).where(col(FeedCache.source_id) == first)))
    changes = await each_db.read(lambda s: s.execute(select(FeedChange.source_id)))
    assert list(changes.scalars()) == [second]


async def test_connecting_again_makes_no_second_trigger(each_db: Database) -> None:
    await each_db.connect()
    first, _ = await _feeds(each_db)
    seen = await _count(each_db)
    await _bump(each_db, first)
    assert await _count(each_db) == seen + 1
