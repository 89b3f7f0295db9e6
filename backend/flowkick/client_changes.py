"""Changes to clients, seen by every process: a counter that database triggers bump.

The read path keeps each client (keys, origins, plan, sources, moderation) in memory, and
every stored answer depends on one. A change made here says so at once (`forget_clients`);
one made by another process, the CLI or a statement by hand must reach every process
too, and soon: within a second, not after a blind expiry that re-read every client and
threw away every answer twice a minute. So triggers on the three tables a client view is
made of bump `clients_version` in the writer's own transaction, and each process reads
that one row once a second (`lookups.CLIENTS_VERSION`, `Reader.check_clients`). Nobody
can forget to bump it.

Missing triggers are made at every start: `create_all` makes tables, not triggers, and
this way an existing database gets them without a migration. (On PostgreSQL only the
missing ones: making a trigger locks its table against readers.)
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

WATCHED = ("client", "client_source", "source")  # what `lookups.CLIENT` reads
_BUMP = "UPDATE clients_version SET version = version + 1 WHERE id = 1"
_FIRST_ROW = "INSERT INTO clients_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"


async def install(session: AsyncSession) -> None:
    """The counter's row and the triggers that bump it, made if missing."""
    await session.execute(text(_FIRST_ROW))
    if session.get_bind().dialect.name == "sqlite":
        statements = _sqlite_triggers()
    else:
        present = set((await session.execute(text("SELECT tgname FROM pg_trigger"))).scalars())
        statements = _postgres_triggers([t for t in WATCHED if _pg_trigger(t) not in present])
    for statement in statements:
        await session.execute(text(statement))


def _sqlite_triggers() -> list[str]:
    return [f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_bumps_clients_version AFTER {event} ON {table} "
            f"BEGIN {_BUMP}; END"
            for table in WATCHED for event in ("INSERT", "UPDATE", "DELETE")]


def _postgres_triggers(tables: list[str]) -> list[str]:
    if not tables:
        return []
    function = ("CREATE OR REPLACE FUNCTION flowkick_bump_clients_version() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {_BUMP}; RETURN NULL; END $$")
    return [function, *(f"CREATE TRIGGER {_pg_trigger(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                        "FOR EACH STATEMENT EXECUTE FUNCTION flowkick_bump_clients_version()" for table in tables)]


def _pg_trigger(table: str) -> str:
    return f"{table}_bumps_clients_version"
