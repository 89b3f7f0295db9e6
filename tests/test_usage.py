"""Usage counting: in memory on the hot path, flushed in batches, kept across a clean stop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.tables import FeedCache, Usage
from flowkick.usage import UsageCounter
from tests.support.apps import FakeClock, running, scripted_app, settings_for, until
from tests.support.sqlite import sqlite_write_lock

pytestmark = pytest.mark.anyio

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


async def _usage_rows(db: Database) -> list[Usage]:
    return list((await db.read(lambda s: s.execute(select(Usage)))).scalars())


async def test_warm_requests_write_nothing_to_the_database(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=3600)
    async with running(app) as client:
        await until(lambda: _ok(client))
        app.state.refresher._loop_task.cancel()  # only the requests themselves may touch the database now
        statements: list[str] = []
        event.listen(app.state.db.engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
        for _ in range(20):
            assert (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).status_code == 200
        assert not [s for s in statements if s.lstrip().upper().startswith(WRITES)]


async def _ok(client: Any) -> bool:
    return (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).status_code == 200


async def test_requests_are_counted_per_client_and_day(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=3600)
    async with running(app) as client:
        await until(lambda: _ok(client))
        before = app.state.usage.pending(1)["requests"]
        for _ in range(5):
            await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
        pending = app.state.usage.pending(1)
    assert pending["requests"] == before + 5 and pending["cache_hits"] >= 4


async def test_usage_counters_survive_a_clean_shutdown(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=3600)
    async with running(app) as client:
        await until(lambda: _ok(client))
        for _ in range(7):
            await client.get("/api/v1/social/tiktok", params={"api_key": "pk_demo"})
        counted = app.state.usage.pending(1)["requests"]
    db = Database(app.state.settings.database_url)
    try:
        rows = await _usage_rows(db)
    finally:
        await db.close()
    assert [(r.client_id, r.requests) for r in rows] == [(1, counted)] and counted >= 8


async def test_counts_are_flushed_in_the_background(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=0.05)
    async with running(app) as client:
        await until(lambda: _ok(client))
        await until(lambda: _flushed(app.state.db))


async def _flushed(db: Database) -> bool:
    return any(r.requests for r in await _usage_rows(db))


async def test_request_times_are_written_every_half_minute_and_on_shutdown_not_with_every_flush(
        tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=0.05)
    async with running(app) as client:
        await until(lambda: _ok(client))
        await until(lambda: _flushed(app.state.db))
        assert (await app.state.db.read(lambda s: s.get(FeedCache, 1))).last_requested_at is None
    db = Database(app.state.settings.database_url)
    try:
        assert (await db.read(lambda s: s.get(FeedCache, 1))).last_requested_at is not None
    finally:
        await db.close()


async def test_flush_adds_to_the_days_existing_counts(tmp_path: Path) -> None:
    db = Database(settings_for(tmp_path).database_url)
    await db.connect()
    await _client_row(db)
    usage = UsageCounter(db, FakeClock())
    try:
        for hit in (True, False, True):
            usage.record(1, hit=hit)
            await usage.flush()
        (row,) = await _usage_rows(db)
    finally:
        await db.close()
    assert (row.requests, row.cache_hits, row.errors) == (3, 2, 0)


async def test_failed_flush_keeps_the_counts_for_the_next_one(tmp_path: Path) -> None:
    db = Database(settings_for(tmp_path).database_url)
    await db.connect()
    usage = UsageCounter(db, FakeClock())
    usage.record(1)  # client 1 does not exist yet: the foreign key refuses the flush
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await usage.flush()
    await _client_row(db)
    usage.record(1)
    await usage.flush()
    (row,) = await _usage_rows(db)
    await db.close()
    assert row.requests == 2


async def test_a_flush_whose_caller_is_cancelled_mid_write_writes_its_counts_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    db = Database(settings.database_url)
    await db.connect()
    await _client_row(db)
    usage = UsageCounter(db, FakeClock())
    for _ in range(3):
        usage.record(1)
    async with sqlite_write_lock(tmp_path / "flowkick.db"):  # the flush waits for the database
        flushing = asyncio.create_task(usage.flush())
        await until(lambda: usage.pending(1)["requests"] == 0)
        flushing.cancel()  # a server stopping cancels its flusher (UsageCounter.stop)
        await asyncio.gather(flushing, return_exceptions=True)
    await usage.flush()  # and flushes once more
    (row,) = await _usage_rows(db)
    await db.close()
    assert row.requests == 3


async def test_last_requested_time_reaches_the_feed_row(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, usage_flush_seconds=3600)
    async with running(app) as client:
        await until(lambda: _ok(client))
        await app.state.usage.flush()
        row = await app.state.db.read(lambda s: s.get(FeedCache, 1))
    assert row.last_requested_at == app.state.clock.now()


async def _client_row(db: Database) -> None:
    await create_client(db, "Counted", {}, now=0)
