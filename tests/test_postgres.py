"""PostgreSQL: the core behaviours on a real server, through the same code that runs on SQLite.

Each test has a database of its own on the session's private server. "Another process" is
another `Database` (its own connection pool) with its own refresher or usage counter.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col, select, text

from flowkick.clients import create_client
from flowkick.database import MIGRATIONS, SCHEMA_VERSION, Database, schema_version
from flowkick.lookups import Lookups
from flowkick.media import cleanup
from flowkick.plans import Plans
from flowkick.quotas import Quotas, TokenBucket
from flowkick.refresher import Refresher
from flowkick.tables import Client, ClientSource, FeedCache, ItemClicks, MediaAsset, Usage
from flowkick.usage import UsageCounter
from tests.support.apps import FakeClock, ScriptedSource, running, scripted_app, until
from tests.support.refresher_rig import Rig, make_rig

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(postgres_database_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_database_url)
    await database.connect()
    yield database
    await database.close()


@pytest.fixture
async def rig(tmp_path: Path, postgres_database_url: str) -> AsyncIterator[Rig]:
    made = await make_rig(tmp_path, database_url=postgres_database_url, batch_size=5)
    yield made
    await made.db.close()


@pytest.fixture
async def other_db(postgres_database_url: str) -> AsyncIterator[Database]:
    """The same database as a second server process opens it (connect() is up to the test)."""
    database = Database(postgres_database_url)
    yield database
    await database.close()


# -- schema ------------------------------------------------------------------------------


async def test_every_table_is_created_and_the_schema_version_recorded(db: Database) -> None:
    tables = await db.read(lambda s: s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
    assert set(tables.scalars()) == set(SQLModel.metadata.tables)
    assert await db.read(schema_version) == SCHEMA_VERSION


async def test_connecting_again_keeps_the_data(db: Database, other_db: Database) -> None:
    await create_client(db, "Kept", {"instagram": ["kept.cafe"]}, now=1.5)
    await other_db.connect()
    names = await other_db.read(lambda s: s.execute(select(Client.name, Client.created_at)))
    assert names.all() == [("Kept", 1.5)]


async def test_a_version_1_database_is_migrated_and_keeps_its_rows(db: Database, other_db: Database) -> None:
    new = await create_client(db, "Old", {"google_reviews": ["ChIJOld"]}, now=0, origins=["https://old.example"])
    await db.write(_back_to_version_1)
    await other_db.connect()
    client = await other_db.read(lambda s: s.get(Client, new.id))
    assert client is not None
    link = (await other_db.read(lambda s: s.execute(select(ClientSource)))).scalar_one()
    assert await other_db.read(schema_version) == SCHEMA_VERSION
    assert (client.name, client.allowed_origins, client.keyword_filter, client.min_rating) == (
        "Old", ["https://old.example"], [], None)
    assert link.pinned_ids == []


async def _back_to_version_1(session: AsyncSession) -> None:
    """Drops what every migration after version 1 adds (indexes go with their columns)."""
    for statement in (statement for version in sorted(MIGRATIONS) for statement in MIGRATIONS[version]):
        added = re.fullmatch(r"ALTER TABLE (\w+) ADD COLUMN (\w+) .*", statement)
        if added:
            await session.execute(text(f"ALTER TABLE {added[1]} DROP COLUMN {added[2]}"))
    await session.execute(text("UPDATE schema_version SET version = 1"))


# -- clients and the HTTP read path ------------------------------------------------------


async def test_a_new_clients_key_serves_its_feed_once_the_refresher_filled_it(
        tmp_path: Path, postgres_database_url: str) -> None:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source, database_url=postgres_database_url)
    async with running(app) as client:
        new = await create_client(app.state.db, "Café", {"instagram": ["pg.cafe"]}, now=source.clock.now())
        first = await _feed(client, new.publishable_key)
        await until(lambda: _served(client, new.publishable_key))
        feed = (await _feed(client, new.publishable_key)).json()
    assert first.status_code == 202
    assert (feed["status"], feed["handle"], len(feed["items"])) == ("ok", "pg.cafe", 12)  # the default limit


async def test_a_secret_key_is_resolved_from_the_authorization_header(
        tmp_path: Path, postgres_database_url: str) -> None:
    app = scripted_app(tmp_path, database_url=postgres_database_url)
    async with running(app) as client:
        new = await create_client(app.state.db, "Agency", {"tiktok": ["pg.agency"]}, now=0)
        answer = await client.get("/api/v1/social/tiktok", headers={"Authorization": f"Bearer {new.secret_key}"})
        unknown = await client.get("/api/v1/social/tiktok", headers={"Authorization": "Bearer sk_nobody"})
    assert (answer.status_code, unknown.status_code) == (202, 401)


async def _feed(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get("/api/v1/social/instagram", params={"api_key": key})


async def _served(client: httpx.AsyncClient, key: str) -> bool:
    return (await _feed(client, key)).status_code == 200


# -- usage -------------------------------------------------------------------------------


async def test_usage_flushes_add_to_the_days_counters(db: Database) -> None:
    new = await create_client(db, "Counted", {}, now=0)
    usage = UsageCounter(db, FakeClock())
    for hit in (True, False, True):
        usage.record(new.id, hit=hit)
        await usage.flush()
    row = (await db.read(lambda s: s.execute(select(Usage)))).scalar_one()
    assert (row.requests, row.cache_hits, row.errors) == (3, 2, 0)


async def test_views_and_clicks_per_day_and_per_post_add_up_across_flushes(db: Database) -> None:
    new = await create_client(db, "Watched", {}, now=0)
    usage = UsageCounter(db, FakeClock())
    for kind, item in (("view", None), ("click", "instagram:1"), ("click", "instagram:1"), ("click", "instagram:2")):
        usage.event(new.id, kind, item)
        await usage.flush()
    row = (await db.read(lambda s: s.execute(select(Usage)))).scalar_one()
    clicks = (await db.read(lambda s: s.execute(select(ItemClicks)))).scalars().all()
    assert (row.views, row.clicks) == (1, 3)
    assert {c.item_id: c.clicks for c in clicks} == {"instagram:1": 2, "instagram:2": 1}


async def test_a_clients_month_to_date_starts_from_what_every_process_flushed_this_month(db: Database) -> None:
    clock = FakeClock()
    client = await create_client(db, "Café", {}, now=clock.now())
    this_month = time.strftime("%Y-%m", time.gmtime(clock.now()))
    rows = [Usage(client_id=client.id, day=f"{this_month}-02", requests=40),
            Usage(client_id=client.id, day=f"{this_month}-20", requests=2),
            Usage(client_id=client.id, day="2026-08-31", requests=1000)]
    await db.write(lambda s: _add_all(s, rows))
    lookups = Lookups(db)
    quotas = Quotas(db, lookups, clock, Plans(), TokenBucket(0, 0, clock))
    assert await quotas.month_to_date(client.id, "free") == 42
    lookups.close()


async def _add_all(session: AsyncSession, rows: list[Usage]) -> None:
    session.add_all(rows)


async def test_concurrent_flushes_of_two_processes_add_up(db: Database, other_db: Database) -> None:
    new = await create_client(db, "Busy", {}, now=0)
    counters = [UsageCounter(db, FakeClock()), UsageCounter(other_db, FakeClock())]
    for _ in range(5):
        for counter in counters:
            for _ in range(10):
                counter.record(new.id, error=True)
        await asyncio.gather(*(counter.flush() for counter in counters))
    row = (await db.read(lambda s: s.execute(select(Usage)))).scalar_one()
    assert (row.requests, row.cache_hits, row.errors) == (100, 0, 100)


# -- the refresher across processes ------------------------------------------------------


def _another_process(rig: Rig, db: Database) -> Refresher:
    return Refresher(db, rig.refresher.sources, rig.settings, rig.clock)


async def test_a_source_leased_by_one_process_is_left_by_another(rig: Rig, other_db: Database) -> None:
    await rig.track("a.cafe")
    rig.source.gate = asyncio.Event()
    first = asyncio.create_task(_another_process(rig, other_db).run_once())
    await until(lambda: rig.source.in_flight == 1)
    assert (await rig.refresher.run_once()).runs == 0
    rig.source.gate.set()
    assert (await first).runs == 1
    assert rig.source.calls == [("instagram", ["a.cafe"])]


async def test_concurrent_passes_of_many_processes_fetch_each_source_once(
        rig: Rig, postgres_database_url: str) -> None:
    handles = [f"cafe{i}" for i in range(60)]
    await rig.track(*handles)
    databases = [Database(postgres_database_url) for _ in range(4)]
    try:
        processes = [_another_process(rig, db) for db in databases]
        summaries = await asyncio.gather(*(p.run_once() for p in processes for _ in range(3)))
    finally:
        await asyncio.gather(*(db.close() for db in databases))
    fetched = Counter(handle for _, batch in rig.source.calls for handle in batch)
    assert fetched == Counter(handles)
    assert sum(s.runs for s in summaries) == len(rig.source.calls)


async def test_a_source_refreshed_by_another_process_after_this_one_looked_is_not_fetched_again(
        rig: Rig, other_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await rig.track("a.cafe")
    other = _another_process(rig, other_db)
    look = rig.db.read

    async def look_then_let_the_other_process_refresh(work: Any) -> Any:
        seen = await look(work)
        monkeypatch.setattr(rig.db, "read", look)
        await other.run_once()
        return seen

    monkeypatch.setattr(rig.db, "read", look_then_let_the_other_process_refresh)
    assert (await rig.refresher.run_once()).runs == 0
    assert rig.source.calls == [("instagram", ["a.cafe"])]


# -- conflicts ---------------------------------------------------------------------------


async def test_a_write_that_loses_a_deadlock_is_retried(db: Database, other_db: Database) -> None:
    await create_client(db, "A", {"instagram": ["a", "b"]}, now=0)
    first, second = (await db.read(lambda s: s.execute(select(FeedCache.source_id).order_by(col(FeedCache.source_id))))).scalars()
    deadlock = Deadlock(db)

    async def mark_both(session: AsyncSession) -> None:
        deadlock.attempts += 1
        await _mark(session, second, "write")
        if deadlock.attempts == 1:
            await deadlock.holding_the_second_row()
        await _mark(session, first, "write")

    async with other_db.engine.connect() as other:
        await deadlock.play(other, mark_both, first, second)
    marks = await db.read(lambda s: s.execute(select(FeedCache.last_error).order_by(col(FeedCache.source_id))))
    # Retried, and through: a retry that takes row B again before the other side (woken by
    # the first abort) has, deadlocks once more on a loaded machine (CI saw 3 attempts).
    assert deadlock.attempts >= 2 and list(marks.scalars()) == ["write", "write"]


class Deadlock:
    """The write takes row B; another connection, holding row A, waits for B; then the write
    asks for A. PostgreSQL aborts the write (the other side waits longer before it looks for
    deadlocks), and the write's retry goes through once the other side commits."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.attempts = 0
        self._holds, self._go = asyncio.Event(), asyncio.Event()

    async def holding_the_second_row(self) -> None:
        self._holds.set()
        await self._go.wait()

    async def play(self, other: AsyncConnection, work: Callable[[AsyncSession], Awaitable[None]],
                   first: int, second: int) -> None:
        async with other.begin():
            await other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
            pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await _mark(other, first, "other")
            writing = asyncio.ensure_future(self.db.write(work))
            await self._holds.wait()
            waiting = asyncio.ensure_future(_mark(other, second, "other"))
            await until(lambda: self._waits_for_a_lock(pid))
            self._go.set()
            await waiting
        await writing

    async def _waits_for_a_lock(self, pid: int) -> bool:
        query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        return (await self.db.read(lambda s: s.execute(query, {"pid": pid}))).scalar_one() == "Lock"


async def _mark(session: AsyncSession | AsyncConnection, source_id: int, mark: str) -> None:
    """A write to one feed row, of a column no trigger watches (writes that triggers follow
    also take a counter row, changes.py, which changes the order locks are taken in)."""
    await session.execute(update(FeedCache).where(col(FeedCache.source_id) == source_id).values(last_error=mark))


# -- media clean-up ----------------------------------------------------------------------

async def test_the_media_clean_up_marks_shown_pictures_referenced_and_the_rest_unreferenced(db: Database) -> None:
    def asset(digest: str, unreferenced_since: float | None = None) -> MediaAsset:
        return MediaAsset(digest=digest * 32, created_at=0.0, last_shown_at=500.0, unreferenced_since=unreferenced_since)

    async def add(session: AsyncSession) -> None:
        session.add_all([asset("a"), asset("b", unreferenced_since=300.0), asset("c"), asset("d", unreferenced_since=300.0)])

    await db.write(add)
    shown = {"a" * 32: 200.0, "b" * 32: 900.0, "e" * 32: 100.0}  # e: shown, but not stored
    await db.write(lambda s: cleanup._mark(s, shown, 1234.0))
    assets = (await db.read(lambda s: s.execute(select(MediaAsset)))).scalars()
    assert {a.digest[0]: (a.last_shown_at, a.unreferenced_since) for a in assets} == {
        "a": (500.0, None), "b": (900.0, None), "c": (500.0, 1234.0), "d": (500.0, 300.0)}
