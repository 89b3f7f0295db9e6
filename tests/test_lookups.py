"""lookups.py: the read path's own reads, straight on the driver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flowkick.database import Database
from flowkick.lookups import Lookups

pytestmark = pytest.mark.anyio

SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT i FROM n"


async def test_closing_waits_for_a_scan_still_running_in_its_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await db.connect()
    lookups = Lookups(db)
    scan = asyncio.create_task(lookups.scan(SLOW))
    await asyncio.sleep(0.05)  # the statement is running in its thread, as a stopping server's watcher may be
    lookups.close()  # closing the connection under the statement crashed the process
    assert len(await scan) == 1_000_000
    await db.close()


async def test_a_scan_after_closing_is_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await db.connect()
    lookups = Lookups(db)
    lookups.close()
    with pytest.raises(RuntimeError):
        await lookups.scan("SELECT 1")
    await db.close()
