"""GET /api/v1/social/{platform} and /api/v1/feed: the JSON contract of DESIGN.md."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowkick.clients import create_client
from flowkick.clock import iso
from flowkick.platforms import PLATFORMS
from tests.support.apps import ScriptedSource, demo_api, running, scripted_app, until

pytestmark = pytest.mark.anyio

ITEM_KEYS = {"id", "platform", "type", "url", "title", "text", "image", "picture", "media", "published_at", "author",
             "likes", "comments", "views", "shares", "rating", "reply"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


async def test_feed_envelope_has_the_documented_fields(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()
    assert set(body) == {"platform", "handle", "profile", "status", "stale", "fetched_at", "expires_at", "items", "next"}
    assert (body["platform"], body["handle"], body["status"], body["stale"]) == ("instagram", "lunacafe.berlin", "ok", False)
    assert body["fetched_at"].endswith("Z") and body["expires_at"] > body["fetched_at"]
    assert body["profile"]["name"] == "Luna Café Berlin"


async def test_items_follow_the_item_shape(api: httpx.AsyncClient) -> None:
    items = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()["items"]
    assert items and all(set(item) == ITEM_KEYS for item in items)
    assert all(item["id"].startswith("instagram:") for item in items)


async def test_items_are_newest_first(api: httpx.AsyncClient) -> None:
    items = (await api.get("/api/v1/social/tiktok", params={"api_key": "pk_demo"})).json()["items"]
    dates = [item["published_at"] for item in items]
    assert dates == sorted(dates, reverse=True)


async def test_limit_defaults_to_twelve_and_caps_the_items(api: httpx.AsyncClient) -> None:
    default = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()["items"]
    three = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 3})).json()["items"]
    assert len(default) == 12
    assert three == default[:3]


async def test_bearer_header_works_like_the_query_key(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/social/youtube", headers={"Authorization": "Bearer pk_demo"})
    assert answer.status_code == 200 and answer.json()["platform"] == "youtube"


@pytest.mark.parametrize(("alias", "platform"), [("google", "google_reviews"), ("google_maps", "google_reviews"),
                                                 ("x", "twitter"), ("Instagram", "instagram")])
async def test_platform_aliases_resolve(api: httpx.AsyncClient, alias: str, platform: str) -> None:
    answer = await api.get(f"/api/v1/social/{alias}", params={"api_key": "pk_demo"})
    assert answer.json()["platform"] == platform


async def test_min_rating_filters_reviews(api: httpx.AsyncClient) -> None:
    params = {"api_key": "pk_demo", "min_rating": 5, "limit": 50}
    items = (await api.get("/api/v1/social/google_reviews", params=params)).json()["items"]
    assert items and all(item["rating"] == 5 for item in items)


async def test_min_rating_leaves_posts_without_ratings_alone(api: httpx.AsyncClient) -> None:
    items = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "min_rating": 4})).json()["items"]
    assert len(items) == 12


async def test_stored_pictures_are_absolute_for_the_requesting_host(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()
    assert body["profile"]["avatar_url"].startswith("http://testserver/media/")
    assert body["items"][0]["image"].startswith("http://testserver/media/")
    image = await api.get(body["items"][0]["image"].removeprefix("http://testserver"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"


async def test_etag_answers_304_to_if_none_match(api: httpx.AsyncClient) -> None:
    first = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
    again = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"},
                          headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_etag_differs_per_parameters(api: httpx.AsyncClient) -> None:
    a = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 2})
    b = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 3})
    stale = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 3},
                          headers={"If-None-Match": a.headers["etag"]})
    assert a.headers["etag"] != b.headers["etag"]
    assert stale.status_code == 200


async def test_fresh_feed_is_cacheable_for_up_to_a_minute(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
    assert answer.headers["cache-control"] == "max-age=60, stale-while-revalidate=600"


async def test_never_fetched_source_answers_202_pending_and_starts_its_fetch(tmp_path: Path) -> None:
    source = ScriptedSource()
    source.gate = asyncio.Event()
    async with running(scripted_app(tmp_path, source)) as client:
        pending = await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
        assert pending.status_code == 202
        assert pending.json()["status"] == "pending" and pending.json()["items"] == []
        assert pending.headers["retry-after"] == "3" and pending.headers["cache-control"] == "no-store"
        await until(lambda: source.calls)
        source.gate.set()
        await until(lambda: _status(client, "instagram", 200))


async def _status(client: httpx.AsyncClient, platform: str, status: int) -> bool:
    return (await client.get(f"/api/v1/social/{platform}", params={"api_key": "pk_demo"})).status_code == status


async def test_wall_merges_platforms_newest_first(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/feed", params={"api_key": "pk_demo", "platforms": "instagram,google_reviews",
                                                   "limit": 20})).json()
    assert {item["platform"] for item in body["items"]} == {"instagram", "google_reviews"}
    dates = [item["published_at"] for item in body["items"]]
    assert dates == sorted(dates, reverse=True) and len(dates) == 20
    assert [s["platform"] for s in body["sources"]] == ["instagram", "google_reviews"]


async def test_wall_without_platforms_shows_every_tracked_platform(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/feed", params={"api_key": "pk_demo", "limit": 50})).json()
    assert set(body["platforms"]) == set(PLATFORMS)


async def test_a_key_reads_only_its_own_clients_sources(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        a = await create_client(app.state.db, "A", {"instagram": ["cafe.a"]}, now=0)
        b = await create_client(app.state.db, "B", {"instagram": ["cafe.b"], "tiktok": ["cafe.b"]}, now=0)
        await until(lambda: _feed(client, a.publishable_key, "instagram", 200))
        own = (await client.get("/api/v1/social/instagram", params={"api_key": a.publishable_key})).json()
        other = await client.get("/api/v1/social/instagram",
                                 params={"api_key": a.publishable_key, "handle": "cafe.b"})
        untracked = await client.get("/api/v1/social/tiktok", params={"api_key": a.publishable_key})
        wall = (await client.get("/api/v1/feed", params={"limit": 50},
                                 headers={"Authorization": f"Bearer {b.secret_key}"})).json()
    assert own["handle"] == "cafe.a"
    assert other.status_code == 404 and untracked.status_code == 404
    assert {s["handle"] for s in wall["sources"]} == {"cafe.b"}


async def _feed(client: httpx.AsyncClient, key: str, platform: str, status: int, origin: str | None = None) -> bool:
    headers = {"Origin": origin} if origin else {}
    answer = await client.get(f"/api/v1/social/{platform}", params={"api_key": key}, headers=headers)
    return answer.status_code == status


async def test_handle_picks_one_of_several_accounts(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        new = await create_client(app.state.db, "Agency", {"instagram": ["one.cafe", "two.cafe"]}, now=0)
        ambiguous = await client.get("/api/v1/social/instagram", params={"api_key": new.publishable_key})
        picked = await client.get("/api/v1/social/instagram", params={"api_key": new.publishable_key,
                                                                       "handle": "@Two.Cafe"})
    assert ambiguous.status_code == 400 and ambiguous.json()["error"]["code"] == "handle_required"
    assert picked.json()["handle"] == "two.cafe"


async def _with_origins(app: Any, *origins: str) -> str:
    new = await create_client(app.state.db, "Listed", {"instagram": ["listed.cafe"]}, now=0, origins=origins)
    return new.publishable_key


async def test_json_answers_let_an_allowed_page_read_them(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        key = await _with_origins(app, "https://cafe.example")
        await until(lambda: _feed(client, key, "instagram", 200, origin="https://cafe.example"))
        for _ in range(2):  # the full path, then the stored answer
            answer = await client.get("/api/v1/social/instagram", params={"api_key": key},
                                      headers={"Origin": "https://cafe.example"})
            assert answer.headers["access-control-allow-origin"] == "https://cafe.example"
            assert "ETag" in answer.headers["access-control-expose-headers"]


async def test_json_answers_refuse_a_page_outside_the_list_even_after_an_allowed_one(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        key = await _with_origins(app, "https://cafe.example")
        await until(lambda: _feed(client, key, "instagram", 200, origin="https://cafe.example"))
        foreign = await client.get("/api/v1/social/instagram", params={"api_key": key},
                                   headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers


async def test_preflight_allows_the_authorization_header(api: httpx.AsyncClient) -> None:
    answer = await api.options("/api/v1/social/instagram", headers={
        "Origin": "https://cafe.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "https://cafe.example"
    assert "Authorization" in answer.headers["access-control-allow-headers"]


async def test_a_repeated_request_is_counted_like_the_first(api: httpx.AsyncClient) -> None:
    app = api.app  # type: ignore[attr-defined]
    before = app.state.usage.pending(1)["requests"]
    for _ in range(3):
        await api.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "limit": 4})
    assert app.state.usage.pending(1)["requests"] == before + 3


async def test_a_refresh_replaces_a_stored_answer(tmp_path: Path) -> None:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source)
    async with running(app) as client:
        await until(lambda: _ok_demo(client))
        first = await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
        source.clock.advance(app.state.settings.ttl_instagram + 1)
        newest = dict(first.json()["items"][0], id="instagram:new", text="Brand new",
                      published_at=iso(source.clock.now()))
        source.items["lunacafe.berlin"] = [newest]
        await until(lambda: _first_text_is(client, "Brand new"))


async def _ok_demo(client: httpx.AsyncClient) -> bool:
    return (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).status_code == 200


async def _first_text_is(client: httpx.AsyncClient, text: str) -> bool:
    body = (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()
    return bool(body["items"]) and body["items"][0]["text"] == text
