"""changes.py: every change to a client, its links or its sources bumps one counter,
on SQLite and PostgreSQL alike, and nothing else does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import col, update

from flowkick.clients import create_client, moderate, remove_client, set_active, untrack
from flowkick.database import Database
from flowkick.lookups import CLIENTS_VERSION
from flowkick.tables import FeedCache, Source

pytestmark = pytest.mark.anyio
NOW = 1_790_000_000.0


async def _version(db: Database) -> int:
    return int((await db.read(lambda s: s.execute(text(CLIENTS_VERSION)))).scalar_one())


async def test_a_new_client_bumps_the_version(each_db: Database) -> None:
    before = await _version(each_db)
    await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    assert await _version(each_db) > before


async def test_deactivating_a_client_bumps_the_version(each_db: Database) -> None:
    client = await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    before = await _version(each_db)
    await set_active(each_db, client.id, False)
    assert await _version(each_db) > before


async def test_untracking_a_source_bumps_the_version(each_db: Database) -> None:
    client = await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    source_id = (await each_db.read(lambda s: s.execute(text("SELECT id FROM source")))).scalar_one()
    before = await _version(each_db)
    await untrack(each_db, client.id, source_id)
    assert await _version(each_db) > before


async def test_renaming_a_source_by_hand_bumps_the_version(each_db: Database) -> None:
    await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    before = await _version(each_db)
    await each_db.write(lambda s: s.execute(update(Source).values(handle="cafe.two")))
    assert await _version(each_db) > before


async def test_removing_a_client_bumps_the_version(each_db: Database) -> None:
    client = await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    before = await _version(each_db)
    await remove_client(each_db, client.id)
    assert await _version(each_db) > before


async def test_hiding_an_item_bumps_the_version(each_db: Database) -> None:
    client = await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    await each_db.write(lambda s: s.execute(update(FeedCache).values(items=[{"id": "p1"}])))
    before = await _version(each_db)
    assert await moderate(each_db, client.id, "p1", "hide")
    assert await _version(each_db) > before


async def test_a_feed_write_leaves_the_version_alone(each_db: Database) -> None:
    await create_client(each_db, "Café", {"instagram": ["cafe"]}, now=NOW)
    before = await _version(each_db)
    await each_db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.version) >= 0)
                                       .values(version=FeedCache.version + 1, status="ok")))
    assert await _version(each_db) == before


async def test_connecting_again_makes_no_second_trigger(each_db: Database) -> None:
    await each_db.connect()
    client = await create_client(each_db, "Café", {}, now=NOW)
    before = await _version(each_db)
    await set_active(each_db, client.id, False)
    assert await _version(each_db) == before + 1
