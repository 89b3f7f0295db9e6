"""The read path's database reads: a few fixed statements, straight on the driver.

A first request for a client or a feed costs one indexed read. Through the ORM it cost
far more: a session, a thread hop to aiosqlite, row objects, the JSON columns parsed by
the standard library. Here each read is one prepared statement returning plain tuples.

On SQLite the statement runs synchronously on a connection of its own, in the event
loop: in WAL mode a reader never waits for a writer, and one indexed read of a local,
cached file takes microseconds, less than the hop to a thread would. On PostgreSQL it runs
through the engine's pool (asyncpg).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from flowkick.database import Database

Row = Sequence[Any]

FEED = "SELECT version, base, status, fetched_at, expires_at, body FROM feed_public WHERE source_id = :id"

# Every feed's version beside its published copy's (None: not published), from the
# covering index ix_feed_cache_version and feed_public's small columns: no feed row read.
VERSIONS = ("SELECT f.source_id, f.version, p.version FROM feed_cache f "
            "LEFT JOIN feed_public p ON p.source_id = f.source_id")

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
        self._connection: sqlite3.Connection | None = None
        self._statements: dict[str, Any] = {}

    async def rows(self, sql: str, **params: Any) -> list[Row]:
        if self._path:
            return self._sqlite().execute(sql, params).fetchall()
        statement = self._statements.get(sql)
        if statement is None:
            statement = self._statements[sql] = text(sql)
        async with self.db.engine.connect() as connection:
            return list((await connection.execute(statement, params)).all())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _sqlite(self) -> sqlite3.Connection:
        if self._connection is None:
            assert self._path is not None
            connection = sqlite3.connect(self._path, timeout=5, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA query_only=ON")
            self._connection = connection
        return self._connection
