"""The read path's database reads: a few fixed statements, straight on the driver.

A first request for a client or a feed costs one indexed read. Through the ORM it cost
far more: a session, a thread hop to aiosqlite, row objects, the JSON columns parsed by
the standard library. Here each read is one prepared statement returning plain tuples.

On SQLite a point read (`rows`) runs synchronously on a connection of its own, in the
event loop: in WAL mode a reader never waits for a writer, and one indexed read of a
local, cached file takes microseconds, less than the hop to a thread would. A read of
every feed (`scan`) runs in a thread on another connection, so the loop keeps answering
(sqlite3 lets go of the GIL while SQLite works). On PostgreSQL both run through the
engine's pool (asyncpg).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from flowkick.database import Database

Row = Sequence[Any]

FEED = "SELECT version, base, status, fetched_at, expires_at, body FROM feed_public WHERE source_id = :id"

# The feeds changed since change number :seq, a page of them in order (changes.py): a range
# of feed_change's index on seq.
FEED_CHANGES_PAGE = 1000
FEED_CHANGES = f"SELECT source_id, version, seq FROM feed_change WHERE seq > :seq ORDER BY seq LIMIT {FEED_CHANGES_PAGE}"
FEEDS_VERSION = "SELECT version FROM feeds_version WHERE id = 1"

# One client's requests this month, by every process: a range of the usage table's key.
MONTH_REQUESTS = "SELECT coalesce(sum(requests), 0) FROM usage WHERE client_id = :id AND day BETWEEN :first AND :last"

# Bumped by triggers on every change to clients, their links and sources (changes.py).
CLIENTS_VERSION = "SELECT version FROM clients_version WHERE id = 1"

# Feeds whose published copy lags their row (or is missing): a safety net, run seldom. A feed
# never fetched has nothing to publish (its row answers "pending" cheaply): publishing each of
# 30,000 new feeds at start-up, only to publish it again when fetched, cost a first fill a tenth.
UNPUBLISHED = ("SELECT f.source_id FROM feed_cache f LEFT JOIN feed_public p ON p.source_id = f.source_id "
               "WHERE f.status <> 'pending' AND (p.version IS NULL OR p.version <> f.version)")

# A key's client and every source it tracks, one row per source (one row of NULLs for none).
CLIENT = (
    "SELECT c.id, c.active, c.plan, c.allowed_origins, c.keyword_filter, c.min_rating, "
    "c.publishable_key_hash, c.secret_key_hash, c.previous_publishable_key_hash, c.previous_publishable_expires_at, "
    "c.previous_secret_key_hash, c.previous_secret_expires_at, "
    "s.id, s.platform, s.handle, cs.min_rating, cs.hidden_ids, cs.pinned_ids "
    "FROM client c LEFT JOIN client_source cs ON cs.client_id = c.id LEFT JOIN source s ON s.id = cs.source_id "
    "WHERE c.id = (SELECT id FROM client WHERE publishable_key_hash = :digest OR secret_key_hash = :digest "
    "OR previous_publishable_key_hash = :digest OR previous_secret_key_hash = :digest LIMIT 1) "
    "ORDER BY s.platform, s.handle"
)


class Lookups:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._path = db.engine.url.database if db.is_sqlite else None
        self._connections: list[sqlite3.Connection | None] = [None, None]  # point reads, scans
        self._statements: dict[str, Any] = {}
        self._scanning = threading.Lock()
        self._closed = False

    async def rows(self, sql: str, **params: Any) -> list[Row]:
        """A point read: one indexed statement."""
        if self._path:
            return self._sqlite(0).execute(sql, params).fetchall()
        return await self._pooled(sql, params)

    async def scan(self, sql: str) -> list[Row]:
        """A read of every feed, off the event loop."""
        if self._path:
            return await asyncio.to_thread(self._scan, sql)
        return await self._pooled(sql, {})

    def _scan(self, sql: str) -> list[Row]:
        with self._scanning:
            if self._closed:
                raise RuntimeError("the read path's connections are closed")
            return self._sqlite(1).execute(sql).fetchall()

    async def _pooled(self, sql: str, params: dict[str, Any]) -> list[Row]:
        statement = self._statements.get(sql)
        if statement is None:
            statement = self._statements[sql] = text(sql)
        async with self.db.engine.connect() as connection:
            return list((await connection.execute(statement, params)).all())

    def close(self) -> None:
        """Close the connections; a scan still running in its thread (its caller may have been
        cancelled, the thread cannot be) ends first: closing under it crashed the process."""
        with self._scanning:
            self._closed = True
            self._close()

    def _close(self) -> None:
        for connection in self._connections:
            if connection is not None:
                connection.close()
        self._connections = [None, None]

    def _sqlite(self, which: int) -> sqlite3.Connection:
        connection = self._connections[which]
        if connection is None:
            assert self._path is not None
            connection = sqlite3.connect(self._path, timeout=5, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA query_only=ON")
            self._connections[which] = connection
        return connection
