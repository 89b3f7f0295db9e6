"""The `flowkick` command, run as a newcomer would: a real process in a folder."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from flowkick.settings import table

FLOWKICK = [sys.executable, "-m", "flowkick"]


def run(folder: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))} | env
    result = subprocess.run([*FLOWKICK, *args], cwd=folder, env=environment, capture_output=True, text=True,
                            timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_clients_add_json_prints_the_keys_once(tmp_path: Path) -> None:
    out = json.loads(run(tmp_path, "clients", "add", "Luna", "--instagram", "lunacafe.berlin", "--json").stdout)
    assert set(out) == {"id", "publishable_key", "secret_key"}
    assert out["publishable_key"].startswith("pk_") and out["secret_key"].startswith("sk_")
    assert out["secret_key"] not in run(tmp_path, "clients", "list").stdout


def test_keys_are_stored_only_as_hashes(tmp_path: Path) -> None:
    out = json.loads(run(tmp_path, "clients", "add", "Luna", "--tiktok", "luna", "--json").stdout)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("flowkick.db*"))
    assert out["publishable_key"].encode() not in stored and out["secret_key"].encode() not in stored


def test_clients_list_shows_sources_origins_and_plan(tmp_path: Path) -> None:
    run(tmp_path, "clients", "add", "Luna", "--instagram", "@LunaCafe.Berlin", "--google-reviews", "ChIJabc",
        "--origin", "https://luna.example", "--plan", "pro")
    (client,) = json.loads(run(tmp_path, "clients", "list", "--json").stdout)
    assert client["sources"] == [["google_reviews", "ChIJabc"], ["instagram", "lunacafe.berlin"]]
    assert (client["plan"], client["origins"]) == ("pro", ["https://luna.example"])


def test_clients_remove_deletes_the_client(tmp_path: Path) -> None:
    run(tmp_path, "clients", "add", "Gone", "--twitter", "gone")
    run(tmp_path, "clients", "remove", "1")
    assert run(tmp_path, "clients", "list", "--json").stdout.strip() == "[]"


def test_removing_an_unknown_client_fails_clearly(tmp_path: Path) -> None:
    result = run(tmp_path, "clients", "remove", "42", check=False)
    assert result.returncode == 1 and "no client with id 42" in result.stderr


def test_an_invalid_handle_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, "clients", "add", "Bad", "--instagram", "no spaces please", check=False)
    assert result.returncode == 1 and "not a valid instagram handle" in result.stderr


def test_refresh_shows_progress_and_a_summary(tmp_path: Path) -> None:
    run(tmp_path, "clients", "add", "Luna", "--instagram", "a", "--instagram", "b", "--youtube", "c")
    result = run(tmp_path, "refresh")
    assert "Instagram" in result.stderr and "2/2 handles" in result.stderr and "1/1 handles" in result.stderr
    assert re.search(r"runs: 2\s+items: 72\s+errors: 0", result.stdout)


def test_refresh_can_be_limited_to_one_platform(tmp_path: Path) -> None:
    run(tmp_path, "clients", "add", "Luna", "--instagram", "a", "--youtube", "c")
    assert "runs: 1" in run(tmp_path, "refresh", "--platform", "youtube").stdout
    assert "runs: 1" in run(tmp_path, "refresh").stdout


def test_settings_lists_every_setting(tmp_path: Path) -> None:
    out = run(tmp_path, "settings", FLOWKICK_BATCH_SIZE="7").stdout
    assert "FLOWKICK_BATCH_SIZE=7" in out
    assert all(env in out for env, *_ in table())


def test_settings_hides_secrets(tmp_path: Path) -> None:
    out = run(tmp_path, "settings", FLOWKICK_APIFY_TOKEN="apify_api_secret").stdout
    assert "apify_api_secret" not in out and "FLOWKICK_APIFY_TOKEN=***" in out


def test_a_bad_setting_value_is_a_clear_error(tmp_path: Path) -> None:
    result = run(tmp_path, "settings", check=False, FLOWKICK_BATCH_SIZE="many")
    assert result.returncode == 1 and "FLOWKICK_BATCH_SIZE='many' is not a valid int" in result.stderr


def test_serve_on_port_zero_prints_its_url_and_serves(tmp_path: Path) -> None:
    with serving(tmp_path) as url:
        health = httpx.get(f"{url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["mode"] == "demo"
    assert (tmp_path / "flowkick.db").exists()


def test_sigterm_flushes_usage_before_exit(tmp_path: Path) -> None:
    with serving(tmp_path) as url:
        for _ in range(3):
            httpx.get(f"{url}/api/v1/social/instagram", params={"api_key": "pk_demo"}, timeout=10)
    database = sqlite3.connect(tmp_path / "flowkick.db")
    requests = database.execute("SELECT requests FROM usage").fetchall()
    database.close()
    assert requests == [(3,)]


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`flowkick serve --port 0` in `folder`; yields the URL it printed, stops it with SIGTERM."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))}
    server = subprocess.Popen([*FLOWKICK, "serve", "--port", "0", "--log-level", "warning"], cwd=folder,
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match and "demo mode" in line, line
        yield match.group(0)
    finally:
        server.terminate()
        server.wait(timeout=20)
        for stream in (server.stdout, server.stderr):
            if stream:
                stream.close()
    assert server.returncode == -signal.SIGTERM  # uvicorn re-raises the signal after a graceful shutdown


@pytest.mark.parametrize("command", [["clients"], ["clients", "add"], ["refresh", "--platform", "myspace"]])
def test_usage_errors_exit_with_status_2(tmp_path: Path, command: list[str]) -> None:
    assert run(tmp_path, *command, check=False).returncode == 2
