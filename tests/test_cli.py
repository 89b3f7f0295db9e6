"""The `flowkick` command, run as a newcomer would: a real process in a folder."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from flowkick.settings import table
from tests.support.cli import run, serving


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


def test_refresh_stores_the_pictures_of_what_it_fetched(tmp_path: Path) -> None:
    run(tmp_path, "clients", "add", "Luna", "--instagram", "a")
    result = run(tmp_path, "refresh")
    stored = re.search(r"pictures: (\d+) stored, 0 failed", result.stdout)
    assert stored and int(stored.group(1)) > 0
    assert list((tmp_path / "media").rglob("*.webp"))


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


def test_settings_hide_the_alert_webhook_url_and_the_smtp_password(tmp_path: Path) -> None:
    out = run(tmp_path, "settings", FLOWKICK_ALERT_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/s3cr3t",
              FLOWKICK_SMTP_PASSWORD="mail-pass", FLOWKICK_METRICS_TOKEN="scrape-token").stdout
    assert not {"s3cr3t", "mail-pass", "scrape-token"} & set(re.findall(r"[\w-]+", out))
    assert "FLOWKICK_ALERT_WEBHOOK_URL=***" in out and "FLOWKICK_SMTP_PASSWORD=***" in out


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


def test_serve_writes_one_json_line_per_request_with_keys_masked(tmp_path: Path) -> None:
    with serving(tmp_path) as url:
        httpx.get(f"{url}/embed/instagram", headers={"Authorization": "Bearer sk_demo", "X-Request-ID": "wp-1"})
        httpx.get(f"{url}/api/v1/social/instagram?api_key=pk_demo", headers={"X-Request-ID": "page-1"})
    lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()]
    by_id = {line.get("request_id"): line for line in lines}
    assert by_id["wp-1"]["key"] == "sk_***" and by_id["page-1"]["path"] == "/api/v1/social/instagram?api_key=pk_***"
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's own lines are JSON too
    assert "pk_demo" not in (tmp_path / "serve.log").read_text() and "sk_demo" not in (tmp_path / "serve.log").read_text()


def test_serve_writes_text_for_people_when_asked(tmp_path: Path) -> None:
    with serving(tmp_path, FLOWKICK_LOG_FORMAT="text") as url:
        httpx.get(f"{url}/healthz", headers={"X-Request-ID": "by-hand"})
    assert re.search(r"INFO +flowkick\.access: request request_id=by-hand method=GET path=/healthz status=200",
                     (tmp_path / "serve.log").read_text())


@pytest.mark.parametrize("command", [["clients"], ["clients", "add"], ["refresh", "--platform", "myspace"]])
def test_usage_errors_exit_with_status_2(tmp_path: Path, command: list[str]) -> None:
    assert run(tmp_path, *command, check=False).returncode == 2
