"""The origin rule for publishable keys: the allow/deny matrix, over HTTP and as a function."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from flowkick.clients import NewClient, create_client
from flowkick.errors import Forbidden
from flowkick.origins import InvalidOrigin, enforce, normalize_entry
from tests.support.apps import running, scripted_app

ALLOWED = ("https://cafe.example", "https://*.cafe.example", "http://localhost:3000")


def request(**headers: str) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def refused(**headers: str) -> bool:
    try:
        enforce(request(**headers), ALLOWED, "publishable")
    except Forbidden:
        return True
    return False


@pytest.mark.parametrize("origin", [
    "https://cafe.example",
    "https://CAFE.example",
    "https://cafe.example:443",
    "https://www.cafe.example",
    "https://a.b.cafe.example",
    "http://localhost:3000",
])
def test_listed_origins_are_allowed(origin: str) -> None:
    assert not refused(origin=origin)


@pytest.mark.parametrize("origin", [
    "https://evil.example",
    "http://cafe.example",  # another scheme
    "https://cafe.example:8443",  # another port
    "https://cafe.example.evil.example",  # the name as a prefix
    "https://evilcafe.example",  # the name as a suffix without a dot
    "https://www.cafe.example.evil.example",
    "http://www.cafe.example",  # wildcard keeps the scheme
    "http://localhost:3001",
    "http://localhost",
    "null",  # sandboxed frames and file: pages
    "not an origin",
])
def test_other_origins_are_refused(origin: str) -> None:
    assert refused(origin=origin)


def test_wildcard_does_not_cover_the_bare_domain() -> None:
    assert not refused(origin="https://cafe.example")  # listed on its own
    with pytest.raises(Forbidden):
        enforce(request(origin="https://cafe.example"), ("https://*.cafe.example",), "publishable")


def test_a_request_without_origin_or_referer_is_refused() -> None:
    assert refused()


def test_referer_stands_in_for_a_missing_origin() -> None:
    assert not refused(referer="https://www.cafe.example/menu?x=1")
    assert refused(referer="https://evil.example/cafe.example")


def test_origin_wins_over_referer() -> None:
    assert refused(origin="https://evil.example", referer="https://cafe.example/")


def test_empty_list_allows_any_page_and_none() -> None:
    enforce(request(origin="https://anything.example"), (), "publishable")
    enforce(request(), (), "publishable")


def test_secret_keys_are_never_checked_against_the_list() -> None:
    enforce(request(origin="https://evil.example"), ALLOWED, "secret")
    enforce(request(), ALLOWED, "secret")


@pytest.mark.parametrize(("entry", "stored"), [
    ("https://Cafe.Example/", "https://cafe.example"),
    ("cafe.example", "https://cafe.example"),
    ("*.cafe.example", "https://*.cafe.example"),
    ("https://cafe.example:443", "https://cafe.example"),
    ("http://localhost:3000", "http://localhost:3000"),
])
def test_entries_are_normalized_when_saved(entry: str, stored: str) -> None:
    assert normalize_entry(entry) == stored


@pytest.mark.parametrize("entry", ["https://cafe.example/menu", "ftp://cafe.example", "https://*", "https://a*.b.example",
                                   "https://", "javascript:alert(1)", "https://caf e.example"])
def test_invalid_entries_are_rejected(entry: str) -> None:
    with pytest.raises(InvalidOrigin):
        normalize_entry(entry)


# -- over HTTP ---------------------------------------------------------------------------------------

@pytest.fixture
async def listed(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, NewClient]]:
    app = scripted_app(tmp_path)
    async with running(app) as http:
        new = await create_client(app.state.db, "Café", {"instagram": ["cafe"]}, now=0, origins=ALLOWED)
        await app.state.refresher.run_once()
        yield http, new


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "origin", "status"), [
    ("/api/v1/social/instagram", "https://www.cafe.example", 200),
    ("/api/v1/social/instagram", "https://evil.example", 403),
    ("/api/v1/feed", "https://evil.example", 403),
    ("/embed/instagram", "https://cafe.example", 200),
    ("/embed/instagram", "https://evil.example", 403),
    ("/embed/instagram", "null", 403),
])
async def test_feeds_apply_the_rule_to_the_publishable_key(listed: tuple[httpx.AsyncClient, NewClient], path: str,
                                                           origin: str, status: int) -> None:
    http, new = listed
    reply = await http.get(path, params={"api_key": new.publishable_key}, headers={"origin": origin})
    assert reply.status_code == status


@pytest.mark.anyio
async def test_a_refused_json_request_says_why(listed: tuple[httpx.AsyncClient, NewClient]) -> None:
    http, new = listed
    reply = await http.get("/api/v1/social/instagram", params={"api_key": new.publishable_key})
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "origin_not_allowed"


@pytest.mark.anyio
async def test_the_secret_key_works_from_a_server_without_origin(listed: tuple[httpx.AsyncClient, NewClient]) -> None:
    http, new = listed
    reply = await http.get("/embed/instagram", headers={"Authorization": f"Bearer {new.secret_key}"})
    assert reply.status_code == 200
