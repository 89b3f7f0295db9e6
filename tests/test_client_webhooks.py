"""Client webhooks: signed with the Standard Webhooks scheme, sent on new items and failures, retried."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette

from flowkick.clients import NewClient, create_client
from flowkick.sources.demo import demo_items
from flowkick.tables import WebhookDelivery
from tests.support.apps import ScriptedSource, running, scripted_app, until
from tests.support.receivers import HttpReceiver, http_receiver

pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    app: Starlette
    http: httpx.AsyncClient
    source: ScriptedSource
    client: NewClient
    hook: HttpReceiver
    stored: list[int] = field(default_factory=list)  # sources the refresher reported stored, in order

    def __post_init__(self) -> None:
        tell = self.app.state.refresher.on_update

        def noted(source_ids: Iterable[int]) -> None:
            source_ids = list(source_ids)
            tell(source_ids)
            self.stored.extend(source_ids)

        self.app.state.refresher.on_update = noted

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {self.client.secret_key}"},
                                       **kwargs)

    async def register(self, **body: Any) -> dict[str, Any]:
        answer = await self.call("POST", "/api/v1/webhooks", json={"url": self.hook.url, **body})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def refresh(self) -> None:
        """One refresh of the client's source, and the webhook round after it."""
        (tracked,) = (await self.call("GET", "/api/v1/sources")).json()["sources"]
        before = len(self.stored)
        self.app.state.refresher.refresh_now(tracked["id"])
        await until(lambda: tracked["id"] in self.stored[before:])
        await until(self._sent)

    async def _sent(self) -> bool:
        """Every message made so far had its first attempt (here or in the app's own loop)."""
        await self.app.state.client_webhooks.run_once()
        rows = await self.app.state.db.read(lambda s: s.execute(select(WebhookDelivery.attempts)))
        return all(attempts > 0 for attempts in rows.scalars())

    def messages(self, secret: str) -> list[dict[str, Any]]:
        """Every received message, verified with the Standard Webhooks reference library."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.hook.received]


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
async def rig(tmp_path: Path, hook: HttpReceiver) -> AsyncIterator[Rig]:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source, webhooks_allow_private_hosts=1, admin_password="hooks-admin")
    async with running(app) as http:
        client = await create_client(app.state.db, "Agency", {"instagram": ["cafe.one"]}, now=source.clock.now())
        await until(lambda: _filled(http, client))
        yield Rig(app, http, source, client, hook)


async def _filled(http: httpx.AsyncClient, client: NewClient) -> bool:
    answer = await http.get("/api/v1/social/instagram", headers={"Authorization": f"Bearer {client.publishable_key}"})
    return answer.status_code == 200


async def test_a_newly_tracked_accounts_first_items_are_announced_signed_by_the_standard_scheme(rig: Rig) -> None:
    secret = (await rig.register())["secret"]
    added = await rig.call("POST", "/api/v1/sources", json={"platform": "tiktok", "handle": "cafe.two"})
    await until(lambda: rig.hook.received)
    (message,) = rig.messages(secret)
    assert message["type"] == "feed.updated" and message["data"]["source"]["id"] == added.json()["source"]["id"]
    assert len(message["data"]["new_item_ids"]) == message["data"]["item_count"] > 0


async def test_a_refresh_stored_while_a_round_rests_is_announced_in_the_next(rig: Rig) -> None:
    secret = (await rig.register())["secret"]
    await rig.call("POST", "/api/v1/sources", json={"platform": "tiktok", "handle": "cafe.two"})
    await until(lambda: rig.hook.received)  # the app's own round announced it; rounds rest a second between
    old = demo_items("instagram", "cafe.one", 24, rig.source.clock.now())
    rig.source.items["cafe.one"] = [{**old[0], "id": "instagram:brand-new"}, *old]
    sources = (await rig.call("GET", "/api/v1/sources")).json()["sources"]
    rig.app.state.refresher.refresh_now(next(s["id"] for s in sources if s["handle"] == "cafe.one"))
    await until(lambda: len(rig.hook.received) == 2)
    assert [m["data"]["source"]["handle"] for m in rig.messages(secret)] == ["cafe.two", "cafe.one"]


async def test_a_tampered_message_fails_verification(rig: Rig) -> None:
    secret = (await rig.register())["secret"]
    await rig.call("POST", "/api/v1/sources", json={"platform": "tiktok", "handle": "cafe.two"})
    await until(lambda: rig.hook.received)
    received = rig.hook.received[0]
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(secret).verify(received.body.replace(b"cafe.two", b"cafe.six"), received.headers)


async def test_a_refresh_without_new_items_sends_nothing(rig: Rig) -> None:
    await rig.register()  # the feed was filled before: its items count as known
    await rig.refresh()
    assert rig.hook.received == []


async def test_only_new_items_are_announced(rig: Rig) -> None:
    secret = (await rig.register())["secret"]
    old = demo_items("instagram", "cafe.one", 24, rig.source.clock.now())
    fresh = {**old[0], "id": "instagram:brand-new"}
    rig.source.items["cafe.one"] = [fresh, *old]
    await rig.refresh()
    (message,) = rig.messages(secret)
    assert message["data"]["new_item_ids"] == ["instagram:brand-new"]


async def test_a_failed_refresh_is_announced(rig: Rig) -> None:
    secret = (await rig.register())["secret"]
    rig.source.failing = "the actor crashed"
    await rig.refresh()
    (message,) = rig.messages(secret)
    assert message["type"] == "feed.failed" and message["data"]["error"] == "the actor crashed"


async def test_a_webhook_gets_only_the_events_it_asked_for(rig: Rig) -> None:
    await rig.register(events=["feed.updated"])
    rig.source.failing = "the actor crashed"
    await rig.refresh()
    assert rig.hook.received == []


async def test_a_failed_delivery_is_retried_with_the_same_id_until_it_lands(rig: Rig) -> None:
    secret, webhook_id = (await rig.register())["secret"], 1
    rig.hook.fail_next(503)
    rig.source.failing = "the actor crashed"
    await rig.refresh()
    pending = (await rig.call("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")).json()["deliveries"]
    rig.source.clock.advance(5)
    await rig.app.state.client_webhooks.deliver_due()
    (delivered,) = (await rig.call("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")).json()["deliveries"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in pending] == [("pending", 1, 503)]
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 2)
    first, second = rig.hook.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivered["id"]
    assert len(rig.messages(secret)) == 2


async def test_a_delivery_is_not_retried_before_its_time(rig: Rig) -> None:
    await rig.register()
    rig.hook.fail_next(500)
    rig.source.failing = "the actor crashed"
    await rig.refresh()
    rig.source.clock.advance(4)
    await rig.app.state.client_webhooks.deliver_due()
    assert len(rig.hook.received) == 1


async def test_the_secret_is_shown_once_and_the_listing_leaves_it_out(rig: Rig) -> None:
    created = await rig.register()
    listed = (await rig.call("GET", "/api/v1/webhooks")).json()["webhooks"]
    assert created["secret"].startswith("whsec_") and listed == [created["webhook"]]
    assert "secret" not in json.dumps(listed)


async def test_a_webhook_can_be_removed(rig: Rig) -> None:
    await rig.register()
    assert (await rig.call("DELETE", "/api/v1/webhooks/1")).status_code == 204
    assert (await rig.call("GET", "/api/v1/webhooks")).json()["webhooks"] == []


async def test_another_clients_webhook_is_not_found(rig: Rig) -> None:
    other = await create_client(rig.app.state.db, "Other", {}, now=0)
    await rig.register()
    answer = await rig.http.delete("/api/v1/webhooks/1", headers={"Authorization": f"Bearer {other.secret_key}"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "webhook_not_found"


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "ftp://agency.example/hook"}, "bad_webhook"),
    ({"url": "https://agency.example/hook", "events": ["feed.deleted"]}, "bad_webhook"),
    ({"url": "https://agency.example/hook", "events": []}, "bad_webhook"),
])
async def test_a_bad_webhook_is_refused(rig: Rig, body: dict[str, Any], code: str) -> None:
    answer = await rig.call("POST", "/api/v1/webhooks", json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


async def test_private_addresses_are_refused_outside_tests(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as http:
        answer = await http.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                                 headers={"Authorization": "Bearer sk_demo"})
    assert answer.status_code == 400 and "public address" in answer.json()["error"]["message"]


async def test_the_publishable_key_manages_no_webhooks(rig: Rig) -> None:
    answer = await rig.http.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {rig.client.publishable_key}"})
    assert answer.status_code == 403


async def test_admin_registers_a_webhook_and_shows_its_deliveries(rig: Rig) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', (await rig.http.get("/admin/login")).text)
    assert csrf is not None
    await rig.http.post("/admin/login", data={"csrf": csrf.group(1), "password": "hooks-admin"})
    token = re.search(r'name="csrf" value="([^"]+)"', (await rig.http.get("/admin/webhooks")).text)
    assert token is not None
    shown = await rig.http.post("/admin/webhooks", data={"csrf": token.group(1), "client": str(rig.client.id),
                                                         "url": rig.hook.url, "events": "feed.failed"})
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", shown.text)
    assert secret is not None
    rig.source.failing = "the actor crashed"
    await rig.refresh()
    page = (await rig.http.get("/admin/webhooks")).text
    assert 'data-webhook="1"' in page and "delivered" in page
    assert [m["type"] for m in rig.messages(secret.group(0))] == ["feed.failed"]
