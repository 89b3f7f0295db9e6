"""A private PostgreSQL server for the test session, and a fresh database for each test.

    postgres_cluster       Debian's PostgreSQL (installed with apt when missing), initdb'd
                           into a temp folder owned by the `postgres` user, listening on a
                           free port on 127.0.0.1 and a socket in that folder, trust auth,
                           durability off (tests need speed, not crash safety)
    postgres_url           the session's `flowkick` database, as a SQLAlchemy URL
    postgres_database_url  a database of the test's own, dropped after it
    each_db                a connected `Database` of the test's own, once on SQLite and
                           once on PostgreSQL: for behaviour both must share

The server is stopped with `pg_ctl stop -m fast` and its folder removed at the end of the
session; a server that fails to start raises with the tail of its log.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flowkick.database import Database
from tests.support.servers import REPO, free_port

SERVER_OPTIONS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                  "-c max_connections=200 -c deadlock_timeout=200ms")


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries, installing Debian's package when there is none."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        subprocess.run(["bash", str(REPO / "scripts/install-test-deps.sh")], check=True)
    newest = max(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(newest).parent


class PostgresCluster:
    """One initdb'd data folder and the server running on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = postgres_bin()
        self.port = free_port()
        self.data = root / "data"
        self.log = root / "postgres.log"
        self._numbers = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._as_postgres("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--locale=C", "--no-sync")
        try:
            self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                              f"-p {self.port} -h 127.0.0.1 -k {self.root} {SERVER_OPTIONS}", "start")
        except RuntimeError as exc:
            raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text(errors='replace')[-3000:]}") from exc

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, statement: str) -> None:
        """Runs one statement as the superuser over the private socket (outside a transaction)."""
        self._as_postgres("psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                          "-v", "ON_ERROR_STOP=1", "-q", "-c", statement)

    def new_database(self) -> str:
        name = f"test_{next(self._numbers)}"
        self.sql(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        """WITH (FORCE) ends connections a failed test left open, so the drop never hangs."""
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _as_postgres(self, program: str, *args: str) -> None:
        """PostgreSQL's tools refuse to run as root: run them as the `postgres` user then."""
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="flowkick-pg-"))  # not under pytest's root-only folder
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PostgresCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    postgres_cluster.sql("CREATE DATABASE flowkick")
    return postgres_cluster.url("flowkick")


@pytest.fixture
def postgres_database_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    name = postgres_cluster.new_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def each_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = (f"sqlite+aiosqlite:///{tmp_path / 'flowkick.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_database_url"))
    database = Database(url)
    await database.connect()
    yield database
    await database.close()
