"""Backups of a SQLite database: consistent copies of a live file, and putting one back.

Copying `flowkick.db` with `cp` while the server writes can tear a page or miss what is
still in the WAL file. SQLite's online backup API copies a consistent snapshot instead,
page by page, while the server keeps reading and writing. Every copy is checked with
`PRAGMA integrity_check` before it counts, and a restore refuses a file that is not a
sound Flowkick database. PostgreSQL has its own tools: `pg_dump` and `pg_restore`.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Checked:
    """A database file that passed `integrity_check`, and the schema version it holds."""

    size_bytes: int
    schema: int


def sqlite_path(database_url: str) -> Path:
    """The file behind a SQLite URL; PostgreSQL is pointed at its own tools."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupError("this database is not SQLite: use pg_dump and pg_restore (see the README)")
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(url.database)


def backup(database_url: str, target: Path) -> Checked:
    """A consistent copy of the live database at `target` (written aside, then renamed)."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        checked = check(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return checked


def restore(backup_file: Path, database_url: str) -> Checked:
    """Replaces the database's content with `backup_file`'s, after checking the backup."""
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    checked = check(backup_file)
    target = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(backup_file, target)
    return checked


def check(path: Path) -> Checked:
    """`integrity_check` passes and the file holds a Flowkick schema, else BackupError."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            row = db.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from exc
    if verdict != "ok":
        raise BackupError(f"{path} failed integrity_check: {verdict}")
    if row is None:
        raise BackupError(f"{path} holds no Flowkick schema")
    return Checked(size_bytes=path.stat().st_size, schema=int(row[0]))


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup, a few hundred pages at a time so writers are never held up long."""
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target, timeout=30)) as dst:
        src.backup(dst, pages=256)
