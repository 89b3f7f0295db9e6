"""Changes seen by every process: what database triggers record in the writer's transaction.

The read path keeps clients (keys, origins, plan, sources, moderation) and feed copies in
memory, and every stored answer depends on them. A change made here says so at once
(`Reader.forget_clients`, `Reader.feeds_written`); one made by another process, the CLI
or a statement by hand must reach every process too, and soon: within a second, not
after a blind expiry. Triggers record it in the writer's own transaction, so nobody can
forget to.

- **Clients.** Triggers on the three tables a client view is made of bump one counter,
  `clients_version`, and each process reads that one row once a second
  (`lookups.CLIENTS_VERSION`, `Reader.check_clients`). A blind expiry re-read every client
  and threw away every answer twice a minute.
- **Feeds.** Triggers on `feed_cache` and `feed_public` write each new version of a
  feed's row, and of its published copy, into `feed_change`, numbered by a counter
  (`feeds_version`) they bump, and each process reads once a second only the changes
  numbered after the last it saw (`lookups.FEED_CHANGES`, `Reader.check_versions`): a
  dozen rows while the refresher renews feeds, none when nothing changed. Reading every
  feed's version instead took 15–25 ms a second at 30,000 feeds, in every process.
  Publications count too: a process that read a copy still lagging the row (its writer
  holds a feed a second for its pictures, `published.py`) learns when the new copy is out.
  The numbers follow the order of commits: the counter's row stays locked until its
  writer commits (SQLite has one writer at a time anyway), so a change committed later
  has a larger number and a reader never steps over one. On PostgreSQL, writes of feed
  versions queue for that row: a few dozen a second, each in a short transaction.

Missing triggers are made at every start: `create_all` makes tables, not triggers, and
this way an existing database gets them without a migration. (On PostgreSQL only the
missing ones: making a trigger locks its table against readers.)
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

WATCHED = ("client", "client_source", "source")  # what `lookups.CLIENT` reads
_BUMP = "UPDATE clients_version SET version = version + 1 WHERE id = 1"
_FIRST_ROWS = tuple(f"INSERT INTO {counter} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
                    for counter in ("clients_version", "feeds_version"))
_LOG_FEED = ("UPDATE feeds_version SET version = version + 1 WHERE id = 1; "
             "INSERT INTO feed_change (source_id, version, seq) SELECT NEW.source_id, NEW.version, version "
             "FROM feeds_version WHERE id = 1 ON CONFLICT (source_id) DO UPDATE SET version = excluded.version, "
             "seq = excluded.seq")
_FORGET_FEED = "DELETE FROM feed_change WHERE source_id = OLD.source_id"
# The tables whose new versions are logged, each with its trigger's name on PostgreSQL.
_LOGGED = {"feed_cache": "feed_cache_logs_changes", "feed_public": "feed_public_logs_changes"}


async def install(session: AsyncSession) -> None:
    """The counters' rows and the triggers, made if missing."""
    for statement in _FIRST_ROWS:
        await session.execute(text(statement))
    if session.get_bind().dialect.name == "sqlite":
        statements = _sqlite_triggers()
    else:
        present = set((await session.execute(text("SELECT tgname FROM pg_trigger"))).scalars())
        statements = _postgres_triggers([t for t in WATCHED if _pg_trigger(t) not in present],
                                        [t for t, trigger in _LOGGED.items() if trigger not in present])
    for statement in statements:
        await session.execute(text(statement))


def _sqlite_triggers() -> list[str]:
    clients = [f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_bumps_clients_version AFTER {event} ON {table} "
               f"BEGIN {_BUMP}; END"
               for table in WATCHED for event in ("INSERT", "UPDATE", "DELETE")]
    feeds = [statement for table in _LOGGED for statement in (
        f"CREATE TRIGGER IF NOT EXISTS {table}_insert_logs_change AFTER INSERT ON {table} BEGIN {_LOG_FEED}; END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_update_logs_change AFTER UPDATE OF version ON {table} "
        f"WHEN NEW.version IS NOT OLD.version BEGIN {_LOG_FEED}; END")]
    forget = f"CREATE TRIGGER IF NOT EXISTS feed_cache_delete_forgets_change AFTER DELETE ON feed_cache BEGIN {_FORGET_FEED}; END"
    return [*clients, *feeds, forget]


def _postgres_triggers(tables: list[str], feed_tables: list[str]) -> list[str]:
    statements = []
    if tables:
        statements.append("CREATE OR REPLACE FUNCTION flowkick_bump_clients_version() RETURNS trigger "
                          f"LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$")
        statements += [f"CREATE TRIGGER {_pg_trigger(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION flowkick_bump_clients_version()" for table in tables]
    if feed_tables:
        statements.append(
            "CREATE OR REPLACE FUNCTION flowkick_log_feed_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN {_FORGET_FEED}; RETURN NULL; END IF; "
            "IF TG_OP = 'UPDATE' AND NEW.version IS NOT DISTINCT FROM OLD.version THEN RETURN NULL; END IF; "
            f"{_LOG_FEED}; RETURN NULL; END $$")
        statements += [f"CREATE TRIGGER {_LOGGED[table]} AFTER INSERT OR UPDATE OF version"
                       f"{' OR DELETE' if table == 'feed_cache' else ''} ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION flowkick_log_feed_change()" for table in feed_tables]
    return statements


def _pg_trigger(table: str) -> str:
    return f"{table}_bumps_clients_version"
