"""Bad input: every failure is a JSON error with the right status and a stable code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkick.clients import create_client
from flowkick.tables import Client
from tests.support.apps import demo_api

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


async def _error(client: httpx.AsyncClient, url: str, **kwargs: Any) -> tuple[int, str]:
    answer = await client.get(url, **kwargs)
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return answer.status_code, body["error"]["code"]


@pytest.mark.parametrize(("url", "status", "code"), [
    ("/api/v1/social/instagram", 401, "missing_key"),
    ("/api/v1/social/instagram?api_key=pk_nope", 401, "unknown_key"),
    ("/api/v1/social/instagram?api_key=" + "k" * 500, 401, "unknown_key"),
    ("/api/v1/social/myspace?api_key=pk_demo", 404, "unknown_platform"),
    ("/api/v1/social/instagram?api_key=pk_demo&handle=somebody.else", 404, "source_not_found"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=0", 400, "bad_limit"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=51", 400, "bad_limit"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=-1", 400, "bad_limit"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=1.5", 400, "bad_limit"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=ten", 400, "bad_limit"),
    ("/api/v1/social/instagram?api_key=pk_demo&limit=%EF%BC%95", 400, "bad_limit"),
    ("/api/v1/social/google_reviews?api_key=pk_demo&min_rating=6", 400, "bad_min_rating"),
    ("/api/v1/social/google_reviews?api_key=pk_demo&min_rating=0", 400, "bad_min_rating"),
    ("/api/v1/social/google_reviews?api_key=pk_demo&min_rating=4.5", 400, "bad_min_rating"),
    ("/api/v1/social/instagram?api_key=pk_demo&handle=%00evil", 400, "bad_handle"),
    ("/api/v1/feed?api_key=pk_demo&platforms=instagram,friendster", 404, "unknown_platform"),
    ("/api/v1/nothing-here", 404, "not_found"),
])
async def test_bad_requests_get_json_errors(api: httpx.AsyncClient, url: str, status: int, code: str) -> None:
    assert await _error(api, url) == (status, code)


async def test_wrong_bearer_scheme_is_a_missing_key(api: httpx.AsyncClient) -> None:
    assert await _error(api, "/api/v1/social/instagram", headers={"Authorization": "Basic pk_demo"}) == (401, "missing_key")


async def test_platform_the_client_does_not_track_is_not_found(api: httpx.AsyncClient) -> None:
    app = api.app  # type: ignore[attr-defined]
    new = await create_client(app.state.db, "Solo", {"instagram": ["solo.cafe"]}, now=0)
    assert await _error(api, f"/api/v1/social/tiktok?api_key={new.publishable_key}") == (404, "source_not_found")


async def test_inactive_client_is_forbidden(api: httpx.AsyncClient) -> None:
    app = api.app  # type: ignore[attr-defined]
    new = await create_client(app.state.db, "Lapsed", {"instagram": ["lapsed.cafe"]}, now=0)

    async def deactivate(session: Any) -> None:
        (await session.get(Client, new.id)).active = False

    await app.state.db.write(deactivate)
    app.state.reader.forget_clients()
    auth = {"Authorization": f"Bearer {new.secret_key}"}
    assert await _error(api, "/api/v1/social/instagram", headers=auth) == (403, "client_inactive")


@pytest.mark.parametrize("path", ["/api/v1/social/instagram", "/api/v1/feed", "/api/v1/sources", "/api/v1/usage"])
async def test_a_secret_key_in_the_url_is_refused_with_a_pointer_to_the_header(api: httpx.AsyncClient, path: str) -> None:
    answer = await api.get(path, params={"api_key": "sk_demo"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "secret_key_in_url")
    assert "Authorization: Bearer" in answer.json()["error"]["message"]


async def test_a_secret_key_in_an_embed_url_is_refused_too(api: httpx.AsyncClient) -> None:
    answer = await api.get("/embed/instagram", params={"api_key": "sk_demo"})
    assert answer.status_code == 400 and "secret_key_in_url" in answer.text


async def test_a_secret_key_in_the_authorization_header_is_accepted(api: httpx.AsyncClient) -> None:
    assert (await api.get("/embed/instagram", headers={"Authorization": "Bearer sk_demo"})).status_code == 200


async def test_oversized_query_is_refused_with_414(api: httpx.AsyncClient) -> None:
    assert await _error(api, "/api/v1/social/instagram?api_key=pk_demo&x=" + "a" * 5000) == (414, "uri_too_long")


async def test_wrong_method_is_a_json_405(api: httpx.AsyncClient) -> None:
    answer = await api.post("/api/v1/social/instagram?api_key=pk_demo")
    assert answer.status_code == 405 and answer.json()["error"]["code"] == "method_not_allowed"


QUERY_NAMES = st.sampled_from(["api_key", "limit", "min_rating", "handle", "platforms", "theme", "x", "", "limit[]"])
QUERY_VALUES = st.one_of(st.text(max_size=40), st.sampled_from(["pk_demo", "12", "-0", "1e3", "0x10", "５", " 3 "]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=6),
       path=st.sampled_from(["/api/v1/social/instagram", "/api/v1/social/google", "/api/v1/feed", "/api/v1/social/%00"]))
async def test_no_query_string_produces_a_server_error(api: httpx.AsyncClient, pairs: list[tuple[str, str]],
                                                       path: str) -> None:
    answer = await api.get(path, params=pairs)
    assert answer.status_code in {200, 202, 400, 401, 403, 404, 414}
    assert answer.headers["content-type"] == "application/json"


EMBED_NAMES = st.sampled_from(["api_key", "limit", "theme", "layout", "lang", "accent", "radius", "columns", "gap",
                               "css", "header", "handle", "min_rating", "platforms"])
EMBED_VALUES = st.one_of(QUERY_VALUES, st.sampled_from(["²", "٣", "dark", "badge", "#fff", "1", "none", "de"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(EMBED_NAMES, EMBED_VALUES), max_size=6),
       path=st.sampled_from(["/embed/instagram", "/embed/google_reviews", "/embed/feed", "/embed/%00"]))
async def test_no_embed_query_produces_a_server_error(api: httpx.AsyncClient, pairs: list[tuple[str, str]],
                                                      path: str) -> None:
    answer = await api.get(path, params=[("api_key", "pk_demo"), *pairs])
    assert answer.status_code in {200, 202, 400, 401, 403, 404, 414}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=80))
async def test_raw_query_bytes_never_produce_a_server_error(api: httpx.AsyncClient, raw: bytes) -> None:
    query = "api_key=pk_demo&" + quote_from_bytes(raw, safe="=&;+")  # invalid UTF-8 included, once decoded
    answer = await api.get(httpx.URL("/api/v1/social/instagram", query=query.encode()))
    assert answer.status_code < 500
