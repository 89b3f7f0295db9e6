"""The database: one engine, WAL-mode SQLite or PostgreSQL, schema creation and migration.

Writes go through `Database.write`, which serializes writers inside the process (SQLite
allows one writer at a time anyway) and retries when another process holds the lock, so a
busy database slows a write down instead of failing a request or a refresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, select, text

from flowkick import changes
from flowkick.tables import REFRESH_COLUMNS, SchemaVersion  # importing the module registers every table

T = TypeVar("T")

# version reached -> statements that bring the previous version there.
MIGRATIONS: dict[int, list[str]] = {
    2: [  # key rotation with a grace period, client-wide moderation, pinned items
        "ALTER TABLE client ADD COLUMN previous_publishable_key_hash VARCHAR",
        "ALTER TABLE client ADD COLUMN previous_publishable_expires_at FLOAT",
        "ALTER TABLE client ADD COLUMN previous_secret_key_hash VARCHAR",
        "ALTER TABLE client ADD COLUMN previous_secret_expires_at FLOAT",
        "ALTER TABLE client ADD COLUMN keyword_filter JSON NOT NULL DEFAULT '[]'",
        "ALTER TABLE client ADD COLUMN min_rating INTEGER",
        "ALTER TABLE client_source ADD COLUMN pinned_ids JSON NOT NULL DEFAULT '[]'",
        "CREATE INDEX ix_client_previous_publishable_key_hash ON client (previous_publishable_key_hash)",
        "CREATE INDEX ix_client_previous_secret_key_hash ON client (previous_secret_key_hash)",
    ],
    3: [  # media: every picture stored by Flowkick
        "ALTER TABLE feed_cache ADD COLUMN media JSON NOT NULL DEFAULT '{}'",
        "ALTER TABLE feed_cache ADD COLUMN media_hash VARCHAR NOT NULL DEFAULT ''",
        "ALTER TABLE feed_cache ADD COLUMN media_failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE feed_cache ADD COLUMN media_retry_at FLOAT",
    ],
    4: [  # incremental collection: when counts were last renewed; what each run was charged
        "ALTER TABLE feed_cache ADD COLUMN newest_at FLOAT",
        "ALTER TABLE feed_cache ADD COLUMN counts_renewed_at FLOAT",
        "ALTER TABLE refresh_run ADD COLUMN charged INTEGER NOT NULL DEFAULT 0",
    ],
    6: [  # analytics: feed views and opened posts per client and day (per post: the item_clicks table)
        "ALTER TABLE usage ADD COLUMN views INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE usage ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0",
    ],
    7: [  # feeds stored pre-serialized for the read path (table feed_public, made by create_all)
        "CREATE INDEX IF NOT EXISTS ix_feed_cache_version ON feed_cache (source_id, version)",
        "CREATE INDEX IF NOT EXISTS ix_feed_cache_media ON feed_cache "
        "(status, content_hash, media_hash, media_retry_at, last_requested_at)",
        f"CREATE INDEX IF NOT EXISTS ix_feed_cache_refresh ON feed_cache ({', '.join(REFRESH_COLUMNS)})",
    ],
    8: [  # published copies stored compressed (feeds.public_body): the old ones go, and the
          # safety net publishes every feed again within seconds (the read path works a feed
          # out from its row until then)
        "DELETE FROM feed_public",
    ],
}

SCHEMA_VERSION = max(MIGRATIONS)

_BUSY_MARKERS = ("database is locked", "database is busy", "deadlock detected", "could not serialize")


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Flowkick; running an older one could corrupt it."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url, **_engine_options(url))
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()
        self._in_flight: set[asyncio.Future[Any]] = set()

    async def connect(self) -> None:
        """Create missing tables and bring the schema to SCHEMA_VERSION."""
        await self.write(lambda s: s.run_sync(lambda sync: SQLModel.metadata.create_all(sync.connection())))
        await self.write(_migrate)
        await self.write(changes.install)

    async def close(self) -> None:
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.engine.dispose()

    async def ping(self) -> bool:
        try:
            await self.read(lambda session: session.execute(text("SELECT 1")))
            return True
        except Exception:  # noqa: BLE001 - health checks report, never raise
            return False

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self._shielded(self._read(work))

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]], attempts: int = 12) -> T:
        """Run `work` in one transaction, retrying while the database is locked by someone else."""
        return await self._shielded(self._write(work, attempts))

    async def _shielded(self, operation: Awaitable[T]) -> T:
        """Run a database operation to its end even if the caller is cancelled.

        A caller cancelled mid-query (shutdown, a visitor gone) stops waiting, but the
        transaction still commits or rolls back whole and its connection goes back to the
        pool: never a half-open connection holding SQLite's write lock, never a leaked one.
        """
        task = asyncio.ensure_future(operation)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        task.add_done_callback(_settled)
        return await asyncio.shield(task)

    async def _read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.sessions() as session:
            return await work(session)

    async def _write(self, work: Callable[[AsyncSession], Awaitable[T]], attempts: int) -> T:
        delay = 0.02
        for attempt in range(attempts):
            try:
                async with self._write_lock, self.sessions() as session, session.begin():
                    return await work(session)
            except DBAPIError as exc:  # asyncpg's deadlock and serialization errors are not OperationalError
                if attempt == attempts - 1 or not _is_busy(exc):
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")


def in_list(values: Iterable[T]) -> list[T]:
    """The values of an IN (…) for a statement run again and again, their number padded (by
    repeating the last) to a power of two. Every length of an IN list is a statement of its
    own, prepared and kept in each connection's statement cache; with thousands of ids in a
    list whose length changed on every refresher tick, those cached statements grew a
    process by a gigabyte. Padded, a statement has a dozen shapes at most."""
    listed = list(dict.fromkeys(values))
    if not listed:
        return listed
    return listed + [listed[-1]] * ((1 << (len(listed) - 1).bit_length()) - len(listed))


IN_LIST_MAX = 512  # ids per IN (…): well under SQLite's and asyncpg's limits on parameters


def in_lists(values: Sequence[T]) -> Iterator[list[T]]:
    """The values in IN lists of at most `IN_LIST_MAX`, each padded as `in_list` pads."""
    for start in range(0, len(values), IN_LIST_MAX):
        yield in_list(values[start:start + IN_LIST_MAX])


def _settled(task: asyncio.Future[Any]) -> None:
    """Marks a shielded operation's outcome as seen; its caller may have stopped waiting."""
    if not task.cancelled():
        task.exception()


async def schema_version(session: AsyncSession) -> int | None:
    row = await session.get(SchemaVersion, 1)
    return row.version if row else None


async def _migrate(session: AsyncSession) -> None:
    current = await schema_version(session)
    if current is None:
        session.add(SchemaVersion(id=1, version=SCHEMA_VERSION, migrated_at=time.time()))
        return
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(f"database schema {current} is newer than this Flowkick ({SCHEMA_VERSION}); upgrade it")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS.get(version, []):
            await session.execute(text(statement))
    row = (await session.execute(select(SchemaVersion))).scalar_one()
    row.version, row.migrated_at = SCHEMA_VERSION, time.time()


# Prepared statements each SQLite connection keeps (Python's default: 128). With IN lists
# of up to 512 parameters (`in_list`), 128 kept statements on each of the pool's
# connections held 33 MB of SQLite's memory at 30,000 feeds (`sqlite3_memory_used`: 45.7
# MB after a cold pass, 12.4 MB with 16), and a first fill of 30,000 demo feeds took 77 s
# against 60 s (two runs each, alternated). The read path's own connections (`lookups.py`)
# run a handful of statements and keep the default.
SQLITE_STATEMENTS = 16


def _engine_options(url: str) -> dict[str, Any]:
    # JSON columns (feed items, picture maps) through orjson: the standard library's json
    # took most of the time of reading and writing a feed row.
    json_options = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "cached_statements": SQLITE_STATEMENTS}, **json_options}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True, **json_options}


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; the busy timeout waits out other processes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_busy(exc: DBAPIError) -> bool:
    message = str(exc).lower()
    return any(marker in message for marker in _BUSY_MARKERS)
