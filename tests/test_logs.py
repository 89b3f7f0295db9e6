"""Logs and request ids: one JSON line per request, keys never written, ids on every answer."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from flowkick import logs
from flowkick.access import AccessLog
from tests.support.apps import demo_api
from tests.support.logcheck import LogLines

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


def access_line(log_lines: LogLines, request_id: str) -> dict[str, Any]:
    (line,) = [json.loads(line) for line in log_lines.lines if f'"request_id":"{request_id}"' in line]
    return line  # type: ignore[no-any-return]


async def test_every_answer_carries_a_fresh_request_id(api: httpx.AsyncClient) -> None:
    ids = {(await api.get(path)).headers["x-request-id"] for path in ("/healthz", "/healthz", "/nowhere")}
    assert len(ids) == 3 and all(len(i) == 24 for i in ids)


async def test_a_sane_request_id_from_the_caller_is_kept(api: httpx.AsyncClient) -> None:
    answer = await api.get("/healthz", headers={"X-Request-ID": "edge-7f3a:42"})
    assert answer.headers["x-request-id"] == "edge-7f3a:42"


@pytest.mark.parametrize("given", ["", "has space", "x" * 200, "<script>", "a\tb"])
async def test_a_strange_request_id_is_replaced(api: httpx.AsyncClient, given: str) -> None:
    answer = await api.get("/healthz", headers={"X-Request-ID": given})
    assert answer.headers["x-request-id"] != given and len(answer.headers["x-request-id"]) == 24


async def test_one_access_line_per_request_with_the_facts(api: httpx.AsyncClient, log_lines: LogLines) -> None:
    answer = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 3},
                           headers={"X-Request-ID": "line-facts"})
    line = access_line(log_lines, "line-facts")
    assert line["logger"] == "flowkick.access" and line["level"] == "info" and line["method"] == "GET"
    assert (line["status"], line["client_id"]) == (answer.status_code, 1)
    assert line["duration_ms"] > 0 and line["time"].endswith("Z")


async def test_the_key_in_a_logged_path_is_masked(api: httpx.AsyncClient, log_lines: LogLines) -> None:
    await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 3},
                  headers={"X-Request-ID": "masked-query"})
    line = access_line(log_lines, "masked-query")
    assert line["path"] == "/api/v1/social/instagram?api_key=pk_***&limit=3" and line["key"] == "pk_***"


async def test_a_key_in_the_authorization_header_is_logged_by_kind_only(
        api: httpx.AsyncClient, log_lines: LogLines) -> None:
    await api.get("/embed/instagram", headers={"Authorization": "Bearer sk_demo", "X-Request-ID": "masked-header"})
    line = access_line(log_lines, "masked-header")
    assert line["key"] == "sk_***" and "sk_demo" not in json.dumps(line)


async def test_a_management_call_names_its_client(api: httpx.AsyncClient, log_lines: LogLines) -> None:
    await api.get("/api/v1/usage", headers={"Authorization": "Bearer sk_demo", "X-Request-ID": "manage-1"})
    line = access_line(log_lines, "manage-1")
    assert (line["client_id"], line["key"], line["status"]) == (1, "sk_***", 200)


async def test_apifys_callback_secret_is_masked_in_its_access_line(api: httpx.AsyncClient, log_lines: LogLines) -> None:
    await api.post("/webhooks/apify/not-the-secret", headers={"X-Request-ID": "callback-1"}, json={})
    assert access_line(log_lines, "callback-1")["path"] == "/webhooks/apify/***"


async def test_a_repeat_answered_from_memory_says_so(api: httpx.AsyncClient, log_lines: LogLines) -> None:
    for request_id in ("first-ask", "second-ask"):
        await api.get("/api/v1/social/tiktok", params={"api_key": "pk_demo", "limit": 5},
                      headers={"X-Request-ID": request_id})
    repeat = access_line(log_lines, "second-ask")
    assert repeat["memory"] is True and repeat["client_id"] == 1 and repeat["status"] == 200


async def test_an_unhandled_error_is_logged_and_answered_with_its_request_id(log_lines: LogLines) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("the disk caught fire")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=AccessLog(broken)), base_url="http://t") as http:
        answer = await http.get("/", headers={"X-Request-ID": "on-fire"})
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal"
    assert answer.headers["x-request-id"] == "on-fire"
    failure = next(json.loads(line) for line in log_lines.lines if '"unhandled error"' in line and "on-fire" in line)
    assert failure["level"] == "error" and "the disk caught fire" in failure["error"]


@pytest.mark.parametrize(("text", "shown"), [
    ("GET /embed/x?api_key=sk_abcdefghijklmnopqrstuvwxyz012345&limit=3",
     "GET /embed/x?api_key=sk_***&limit=3"),
    ("key pk_demo was refused", "key pk_*** was refused"),
    ("https://api.apify.com/v2/acts?token=apify_api_Zx81", "https://api.apify.com/v2/acts?token=***"),
    ("headers: {'authorization': 'Bearer sk_live'}", "headers: {'authorization': 'Bearer sk_***'}"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
    ("asked for the task_list of disk_usage", "asked for the task_list of disk_usage"),
    ("POST /webhooks/apify/Zk3-9x?dispatch=1 failed", "POST /webhooks/apify/***?dispatch=1 failed"),
])
def test_redact_masks_keys_credential_values_and_authorization(text: str, shown: str) -> None:
    assert logs.redact(text) == shown


@contextmanager
def configured(style: str) -> Iterator[io.StringIO]:
    """`logs.configure` writing to a string; the root logger is put back afterwards."""
    stream, root = io.StringIO(), logging.getLogger()
    level = root.level
    handler = logs.configure("info", style, stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_carry_a_records_fields() -> None:
    with configured("json") as stream:
        logging.getLogger("flowkick.refresher").info("run finished", extra={"fields": {"items": 12, "cost_usd": 0.03}})
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert (line["message"], line["items"], line["cost_usd"], line["level"]) == ("run finished", 12, 0.03, "info")


async def test_access_lines_are_written_in_batches_and_before_any_later_line() -> None:
    async def hello(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def nothing() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def ignore(message: dict[str, Any]) -> None:
        pass

    with configured("json") as stream:
        for n in range(3):
            scope = {"type": "http", "method": "GET", "path": "/ping", "query_string": f"api_key=pk_demo&n={n}".encode(),
                     "headers": [(b"x-request-id", f"batch-{n}".encode())]}
            await AccessLog(hello)(scope, nothing, ignore)
        held_back = stream.getvalue()
        logging.getLogger("flowkick.test").warning("a later line")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert held_back == "" and [line.get("request_id") for line in lines] == ["batch-0", "batch-1", "batch-2", None]
    assert lines[0]["path"] == "/ping?api_key=pk_***&n=0" and lines[-1]["message"] == "a later line"


def test_keys_nested_in_a_records_fields_are_masked() -> None:
    with configured("json") as stream:
        logging.getLogger("flowkick.test").warning("refused", extra={"fields": {"handles": ["sk_demo"]}})
    assert json.loads(stream.getvalue().splitlines()[-1])["handles"] == ["sk_***"]


def test_http_clients_do_not_log_the_urls_they_call() -> None:
    with configured("json") as stream:
        logging.getLogger("httpx").info("HTTP Request: POST https://hooks.slack.com/services/T0/B0/s3cr3t")
    assert "s3cr3t" not in stream.getvalue()


def test_text_lines_for_people_mask_keys_too() -> None:
    with configured("text") as stream:
        logging.getLogger("flowkick.test").warning("refused %s", "sk_demo", extra={"fields": {"client_id": 4}})
    assert stream.getvalue().rstrip().endswith("WARNING flowkick.test: refused sk_*** client_id=4")
