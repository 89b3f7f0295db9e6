"""`flowkick backup` and `flowkick restore`: a live database copied while it works, and put back."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

from flowkick.platforms import PLATFORMS
from tests.support.cli import run, serving

# Feeds that expire at once and a refresher that ticks often: refreshes write all the time.
BUSY = {"FLOWKICK_TTL_" + p.upper(): "1" for p in PLATFORMS} | {"FLOWKICK_TICK_SECONDS": "0.1",
                                                                  "FLOWKICK_USAGE_FLUSH_SECONDS": "0.1"}


@contextmanager
def load(url: str) -> Iterator[list[int]]:
    """Visitors asking for every feed in a loop until the block ends; yields their answers' statuses."""
    statuses: list[int] = []
    stop = threading.Event()

    def visit() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                for platform in PLATFORMS:
                    statuses.append(client.get(f"/api/v1/social/{platform}", params={"api_key": "pk_demo"}).status_code)

    visitor = threading.Thread(target=visit)
    visitor.start()
    try:
        yield statuses
    finally:
        stop.set()
        visitor.join(30)


def stored_item_ids(database: Path) -> dict[str, list[str]]:
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT source.platform, feed_cache.items FROM feed_cache "
                          "JOIN source ON source.id = feed_cache.source_id").fetchall()
    return {platform: [item["id"] for item in json.loads(items)] for platform, items in rows}


def integrity(database: Path) -> str:
    with closing(sqlite3.connect(database)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_backup_taken_under_load_restores_to_a_sound_database_that_serves_the_same_feeds(tmp_path: Path) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir(), restored.mkdir()
    backups = [tmp_path / f"backup-{n}.db" for n in range(3)]
    with serving(live, **BUSY) as url, load(url) as statuses:
        while statuses.count(200) < 3 * len(PLATFORMS):
            threading.Event().wait(0.05)
        for backup in backups:
            assert "integrity ok" in run(live, "backup", str(backup)).stdout
    assert all(integrity(b) == "ok" for b in backups)
    expected = stored_item_ids(backups[-1])
    assert set(expected) == set(PLATFORMS) and all(expected.values())

    run(restored, "restore", str(backups[-1]))
    assert integrity(restored / "flowkick.db") == "ok"
    with serving(restored) as url, httpx.Client(base_url=url, timeout=10) as client:
        served = {p: [i["id"] for i in client.get(f"/api/v1/social/{p}", params={"api_key": "pk_demo"}).json()["items"]]
                  for p in PLATFORMS}
    assert served == {p: ids[:12] for p, ids in expected.items()}


def test_a_backup_leaves_no_partial_file_behind_when_the_database_is_missing(tmp_path: Path) -> None:
    result = run(tmp_path, "backup", str(tmp_path / "copy.db"), check=False)
    assert result.returncode == 1 and "no database at" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_restore_refuses_a_file_that_is_not_a_flowkick_database(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_bytes(b"these are not the pages you are looking for" * 100)
    result = run(tmp_path, "restore", str(tmp_path / "notes.db"), check=False)
    assert result.returncode == 1 and "not a usable SQLite database" in result.stderr
    assert not (tmp_path / "flowkick.db").exists()


def test_postgresql_is_pointed_at_pg_dump(tmp_path: Path) -> None:
    result = run(tmp_path, "backup", str(tmp_path / "copy.db"), check=False,
                 FLOWKICK_DATABASE_URL="postgresql+asyncpg://flowkick@127.0.0.1/flowkick")
    assert result.returncode == 1 and "pg_dump" in result.stderr
