"""The management API: a secret key manages its own client, and nothing of anyone else's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from flowkick.clients import NewClient, create_client
from tests.support.apps import running, scripted_app, until

pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    app: Starlette
    http: httpx.AsyncClient
    a: NewClient
    b: NewClient

    async def call(self, method: str, path: str, key: str, **kwargs: object) -> httpx.Response:
        return await self.http.request(method, path, headers={"authorization": f"Bearer {key}"}, **kwargs)  # type: ignore[arg-type]

    async def item_ids(self, key: str, handle: str) -> list[str]:
        body = (await self.http.get("/api/v1/social/instagram", params={"api_key": key, "handle": handle})).json()
        return [i["id"] for i in body["items"]]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Client A (starter, tracks cafe.a) and client B (tracks cafe.b), both fetched."""
    app = scripted_app(tmp_path)
    async with running(app) as http:
        a = await create_client(app.state.db, "A", {"instagram": ["cafe.a"]}, now=0, plan="starter")
        b = await create_client(app.state.db, "B", {"instagram": ["cafe.b"]}, now=0)
        rig = Rig(app, http, a, b)
        for key, handle in ((a.publishable_key, "cafe.a"), (b.publishable_key, "cafe.b")):
            await until(lambda k=key, h=handle: _ready(http, k, h))
        yield rig


async def _ready(http: httpx.AsyncClient, key: str, handle: str) -> bool:
    reply = await http.get("/api/v1/social/instagram", params={"api_key": key, "handle": handle})
    return reply.status_code == 200


async def source_id(rig: Rig, key: str) -> int:
    return int((await rig.call("GET", "/api/v1/sources", key)).json()["sources"][0]["id"])


async def test_sources_lists_only_the_keys_own_client(rig: Rig) -> None:
    body = (await rig.call("GET", "/api/v1/sources", rig.a.secret_key)).json()
    assert [(s["platform"], s["handle"], s["status"]) for s in body["sources"]] == [("instagram", "cafe.a", "ok")]
    assert body["max_sources"] == 5


async def test_publishable_key_cannot_manage(rig: Rig) -> None:
    reply = await rig.call("GET", "/api/v1/sources", rig.a.publishable_key)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "secret_key_required"


async def test_unknown_key_is_refused(rig: Rig) -> None:
    assert (await rig.call("GET", "/api/v1/usage", "sk_nobody")).status_code == 401


async def test_adding_a_source_tracks_it_and_fetches_it(rig: Rig) -> None:
    reply = await rig.call("POST", "/api/v1/sources", rig.a.secret_key, json={"platform": "tiktok", "handle": "@Cafe.A"})
    assert reply.status_code == 201 and reply.json()["source"]["handle"] == "cafe.a"
    await until(lambda: _feed_status(rig, rig.a.publishable_key, "tiktok", 200))


async def _feed_status(rig: Rig, key: str, platform: str, status: int) -> bool:
    return (await rig.http.get(f"/api/v1/social/{platform}", params={"api_key": key})).status_code == status


async def test_adding_beyond_the_plans_source_limit_is_refused(rig: Rig) -> None:
    for handle in ("two", "three", "four", "five"):
        assert (await rig.call("POST", "/api/v1/sources", rig.a.secret_key,
                               json={"platform": "tiktok", "handle": handle})).status_code == 201
    sixth = await rig.call("POST", "/api/v1/sources", rig.a.secret_key, json={"platform": "tiktok", "handle": "six"})
    assert sixth.status_code == 403 and sixth.json()["error"]["code"] == "source_limit"


async def test_adding_a_source_with_a_bad_body_is_a_400(rig: Rig) -> None:
    reply = await rig.call("POST", "/api/v1/sources", rig.a.secret_key, content=b"not json")
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "bad_body"


async def test_adding_an_invalid_handle_is_a_400(rig: Rig) -> None:
    reply = await rig.call("POST", "/api/v1/sources", rig.a.secret_key, json={"platform": "tiktok", "handle": "a b/c"})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "bad_handle"


async def test_deleting_a_source_stops_showing_it(rig: Rig) -> None:
    own = await source_id(rig, rig.a.secret_key)
    assert (await rig.call("DELETE", f"/api/v1/sources/{own}", rig.a.secret_key)).status_code == 204
    assert await _feed_status(rig, rig.a.publishable_key, "instagram", 404)


async def test_client_a_cannot_delete_client_bs_source(rig: Rig) -> None:
    theirs = await source_id(rig, rig.b.secret_key)
    reply = await rig.call("DELETE", f"/api/v1/sources/{theirs}", rig.a.secret_key)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "source_not_found"
    assert await _feed_status(rig, rig.b.publishable_key, "instagram", 200)


async def test_hiding_an_item_removes_it_from_the_clients_feed(rig: Rig) -> None:
    first = (await rig.item_ids(rig.a.publishable_key, "cafe.a"))[0]
    reply = await rig.call("POST", f"/api/v1/items/{first}/hide", rig.a.secret_key)
    assert reply.status_code == 200
    assert first not in await rig.item_ids(rig.a.publishable_key, "cafe.a")


async def test_pinning_an_item_puts_it_first(rig: Rig) -> None:
    last = (await rig.item_ids(rig.a.publishable_key, "cafe.a"))[-1]
    await rig.call("POST", f"/api/v1/items/{last}/pin", rig.a.secret_key)
    assert (await rig.item_ids(rig.a.publishable_key, "cafe.a"))[0] == last


async def test_client_a_cannot_hide_client_bs_item(rig: Rig) -> None:
    theirs = (await rig.item_ids(rig.b.publishable_key, "cafe.b"))[0]
    reply = await rig.call("POST", f"/api/v1/items/{theirs}/hide", rig.a.secret_key)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "item_not_found"
    assert theirs in await rig.item_ids(rig.b.publishable_key, "cafe.b")


async def test_hiding_in_a_shared_source_hides_for_that_client_only(rig: Rig) -> None:
    await rig.call("POST", "/api/v1/sources", rig.b.secret_key, json={"platform": "instagram", "handle": "cafe.a"})
    shared = (await rig.item_ids(rig.a.publishable_key, "cafe.a"))[0]
    await rig.call("POST", f"/api/v1/items/{shared}/hide", rig.a.secret_key)
    assert shared in await rig.item_ids(rig.b.publishable_key, "cafe.a")


async def test_unknown_moderation_action_is_a_404(rig: Rig) -> None:
    first = (await rig.item_ids(rig.a.publishable_key, "cafe.a"))[0]
    assert (await rig.call("POST", f"/api/v1/items/{first}/delete", rig.a.secret_key)).status_code == 404


async def test_usage_counts_this_months_feed_requests_against_the_plan(rig: Rig) -> None:
    before = (await rig.call("GET", "/api/v1/usage", rig.a.secret_key)).json()["month"]["requests"]
    for _ in range(3):
        await rig.http.get("/api/v1/social/instagram", params={"api_key": rig.a.publishable_key})
    body = (await rig.call("GET", "/api/v1/usage", rig.a.secret_key)).json()
    assert body["plan"] == "starter" and body["month"]["requests"] == before + 3
    assert body["month"]["remaining"] == 100_000 - before - 3
    assert sum(d["requests"] for d in body["days"]) == before + 3


async def test_usage_of_one_client_does_not_include_anothers(rig: Rig) -> None:
    before = (await rig.call("GET", "/api/v1/usage", rig.a.secret_key)).json()["month"]
    for _ in range(4):
        await rig.http.get("/api/v1/social/instagram", params={"api_key": rig.b.publishable_key})
    after = (await rig.call("GET", "/api/v1/usage", rig.a.secret_key)).json()["month"]
    assert after == before
