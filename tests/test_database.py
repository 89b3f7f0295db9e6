"""Storage: WAL SQLite, schema version, busy databases, and consistency after a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlmodel import select, text

from flowkick.database import SCHEMA_VERSION, Database, SchemaTooNew, in_list, schema_version
from flowkick.tables import Client, FeedCache

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await database.connect()
    yield database
    await database.close()


async def test_schema_version_is_recorded(db: Database) -> None:
    assert await db.read(schema_version) == SCHEMA_VERSION


async def test_connecting_again_keeps_the_data(db: Database, tmp_path: Path) -> None:
    await db.write(lambda s: _add_client(s, "Kept"))
    again = Database(db.url)
    await again.connect()
    names = await again.read(lambda s: s.execute(select(Client.name)))
    await again.close()
    assert list(names.scalars()) == ["Kept"]


async def _add_client(session: object, name: str) -> None:
    session.add(Client(name=name, publishable_key_hash=name + "p", secret_key_hash=name + "s", created_at=0))  # type: ignore[attr-defined]


async def test_a_database_from_a_newer_release_is_refused(db: Database) -> None:
    await db.write(lambda s: s.execute(text("UPDATE schema_version SET version = 999")))
    newer = Database(db.url)
    with pytest.raises(SchemaTooNew):
        await newer.connect()
    await newer.close()


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db: Database) -> None:
    async def pragmas(session: object) -> tuple[str, int]:
        mode = (await session.execute(text("PRAGMA journal_mode"))).scalar()  # type: ignore[attr-defined]
        timeout = (await session.execute(text("PRAGMA busy_timeout"))).scalar()  # type: ignore[attr-defined]
        return mode, timeout

    assert await db.read(pragmas) == ("wal", 10000)


async def test_a_write_waits_out_another_process_holding_the_lock(db: Database, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "f.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: (holder.execute("COMMIT"), holder.close()))
    release.start()
    try:
        await db.write(lambda s: _add_client(s, "Patient"))
    finally:
        release.join()
    names = await db.read(lambda s: s.execute(select(Client.name)))
    assert list(names.scalars()) == ["Patient"]


async def test_a_cancelled_write_still_commits_whole(db: Database) -> None:
    started = asyncio.Event()

    async def slow(session: object) -> None:
        await _add_client(session, "Whole")
        started.set()
        await asyncio.sleep(0.05)

    task = asyncio.create_task(db.write(slow))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.write(lambda s: _add_client(s, "After"))
    names = await db.read(lambda s: s.execute(select(Client.name).order_by(Client.name)))
    assert list(names.scalars()) == ["After", "Whole"]


REFRESH_FOREVER = """
import asyncio, sys
from sqlalchemy import text
from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.platforms import PLATFORMS
from flowkick.refresher import Refresher
from flowkick.settings import Settings
from flowkick.sources.demo import DemoSource
from tests.support.apps import FakeClock

async def main():
    settings = Settings.from_env({}, database_url=sys.argv[1], batch_size=5)
    db = Database(settings.database_url)
    await db.connect()
    clock = FakeClock()
    await create_client(db, "Many", {"instagram": [f"cafe{i}" for i in range(300)]}, now=0)
    print("ready", flush=True)
    refresher = Refresher(db, dict.fromkeys(PLATFORMS, DemoSource(clock)), settings, clock)
    while True:
        await refresher.run_once()
        clock.advance(10 ** 6)
        await db.write(lambda s: s.execute(text("UPDATE feed_cache SET last_requested_at = 1e12")))

asyncio.run(main())
"""


async def test_a_killed_refresh_leaves_the_database_consistent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'killed.db'}"
    child = subprocess.Popen([sys.executable, "-c", REFRESH_FOREVER, url], stdout=subprocess.PIPE,
                             cwd=Path(__file__).resolve().parents[1], env={**os.environ, "PYTHONPATH": "."})
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    await asyncio.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    check = sqlite3.connect(tmp_path / "killed.db")
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    db = Database(url)
    rows = list((await db.read(lambda s: s.execute(select(FeedCache)))).scalars())
    await db.close()
    assert len(rows) == 300
    assert all(r.item_count == len(r.items) for r in rows)
    assert all((r.status, r.fetched_at is None) in {("pending", True), ("ok", False)} for r in rows)
    assert any(r.status == "ok" for r in rows)


@pytest.mark.parametrize(("values", "padded"), [
    ([], []),
    ([7], [7]),
    ([1, 2, 3], [1, 2, 3, 3]),
    ([5, 5, 6], [5, 6]),
    (list(range(5)), [0, 1, 2, 3, 4, 4, 4, 4]),
])
def test_an_in_list_is_padded_to_a_power_of_two_with_its_last_value(values: list[int], padded: list[int]) -> None:
    assert in_list(values) == padded
