"""SQLite as another process sees it: a connection of its own holding the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


@asynccontextmanager
async def sqlite_write_lock(path: Path) -> AsyncIterator[None]:
    """Another connection holding the database's write lock, as a busy writer elsewhere does
    (taken in a thread: the app's own writers need the event loop to finish theirs first)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    try:
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()
