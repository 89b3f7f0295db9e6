"""`POST /webhooks/apify/{secret}`: the real app in Apify mode against the fake Apify.

Most tests post to the app in-process while its refresher waits for a fake run; the
last ones serve the app on 127.0.0.1 so the fake itself calls back, as Apify would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from flowkick.app import create_app
from flowkick.clients import create_client
from flowkick.sources.apify import webhook_secret
from flowkick.tables import FeedCache, RefreshRun, WebhookEvent
from tests.support.apify_rig import ApifyRig, apify_rig, apify_settings
from tests.support.apps import FakeClock, running, until
from tests.support.fake_apify import FakeApify
from tests.support.servers import serving

pytestmark = pytest.mark.anyio

LUNA = "lunacafe.berlin"
Running = tuple[Starlette, httpx.AsyncClient]
Waiting = tuple[Starlette, httpx.AsyncClient, str]  # the app, its client, and the run it waits for


@asynccontextmanager
async def apify_app(tmp_path: Path, fake: FakeApify, **overrides: Any) -> AsyncIterator[Running]:
    """The app in Apify mode, running in this test's event loop, tracking LUNA on Instagram."""
    settings = apify_settings(tmp_path, fake, secret_key="test-secret", **overrides)
    app = create_app(settings, clock=FakeClock(time.time()))
    async with running(app) as client:
        await create_client(app.state.db, "Luna", {"instagram": [LUNA]}, now=time.time())
        yield app, client


async def run_row(app: Starlette) -> RefreshRun | None:
    rows = await app.state.db.read(lambda s: s.execute(select(RefreshRun).where(RefreshRun.run_id.is_not(None))))
    return rows.scalars().first()


async def started_run(app: Starlette) -> str:
    """The id of the run the app's refresher started for LUNA, once it is on record."""
    await until(lambda: run_row(app))
    row = await run_row(app)
    assert row is not None and row.run_id is not None
    return row.run_id


async def status_is(app: Starlette, status: str) -> bool:
    row = await run_row(app)
    return row is not None and row.status == status


async def events(app: Starlette) -> list[WebhookEvent]:
    return list((await app.state.db.read(lambda s: s.execute(select(WebhookEvent)))).scalars())


def hook(app: Starlette, run_id: str, dispatch_id: str = "Dispatch000000001", **payload: Any) -> dict[str, Any]:
    """What Apify would send for `run_id` (keyword arguments replace parts of the payload)."""
    body = {"eventType": "ACTOR.RUN.SUCCEEDED", "eventData": {"actorId": "x", "actorRunId": run_id},
            "resource": {"id": run_id, "status": "SUCCEEDED"}, **payload}
    return {"url": f"/webhooks/apify/{webhook_secret(app.state.settings)}", "json": body,
            "headers": {"X-Apify-Webhook-Dispatch-Id": dispatch_id}}


async def fed(rig: ApifyRig) -> bool:
    return (await rig.feed("instagram", LUNA)).item_count > 0


def gets_of(fake: FakeApify, run_id: str) -> int:
    return sum(1 for r in fake.requests if r.kind == "get" and r.path.endswith(run_id))


@pytest.fixture
async def waiting(tmp_path: Path, fake_apify: FakeApify) -> AsyncIterator[Waiting]:
    """The app waiting for a long fake run, polling so rarely that only a webhook could wake it."""
    fake_apify.plan_runs(duration=30)
    async with apify_app(tmp_path, fake_apify, apify_poll_seconds=600) as (app, client):
        yield app, client, await started_run(app)


async def test_a_forged_webhook_is_refused_and_changes_nothing(waiting: Waiting, fake_apify: FakeApify) -> None:
    app, client, run_id = waiting
    reply = await client.post("/webhooks/apify/not-the-secret", json=hook(app, run_id)["json"])
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "bad_webhook_secret"
    assert await events(app) == [] and gets_of(fake_apify, run_id) == 1


async def test_a_webhook_for_a_waiting_run_wakes_its_fetch_to_read_the_run_again(
        waiting: Waiting, fake_apify: FakeApify) -> None:
    app, client, run_id = waiting
    reply = await client.post(**hook(app, run_id))
    assert reply.json() == {"received": "new"}
    await until(lambda: gets_of(fake_apify, run_id) == 2)
    (event,) = await events(app)
    assert (event.dispatch_id, event.run_id, event.event_type) == ("Dispatch000000001", run_id, "ACTOR.RUN.SUCCEEDED")


async def test_the_payload_is_only_a_hint_a_run_still_running_is_waited_for(
        waiting: Waiting, fake_apify: FakeApify) -> None:
    app, client, run_id = waiting
    forged = hook(app, run_id, resource={"id": run_id, "status": "SUCCEEDED", "defaultDatasetId": "Evil"})
    await client.post(**forged)
    await until(lambda: gets_of(fake_apify, run_id) == 2)
    row = await run_row(app)
    assert row is not None and row.status == "RUNNING" and row.dataset_id != "Evil"


async def test_a_replayed_webhook_is_processed_once(waiting: Waiting) -> None:
    app, client, run_id = waiting
    answers = [(await client.post(**hook(app, run_id))).json()["received"] for _ in range(3)]
    assert answers == ["new", "replay", "replay"] and len(await events(app)) == 1


async def test_a_webhook_for_a_run_we_never_started_is_acknowledged_and_ignored(waiting: Waiting) -> None:
    app, client, _ = waiting
    reply = await client.post(**hook(app, "NotOurRun00000000"))
    assert (reply.status_code, reply.json()) == (200, {"received": "unknown"}) and await events(app) == []


async def test_an_oversized_webhook_is_refused(waiting: Waiting) -> None:
    app, client, run_id = waiting
    reply = await client.post(**hook(app, run_id, padding="x" * 100_000))
    assert reply.status_code == 413 and await events(app) == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"eventData": {"actorRunId": "../../etc"}}', b"{}"])
async def test_a_webhook_naming_no_valid_run_is_a_bad_request(waiting: Waiting, body: bytes) -> None:
    app, client, _ = waiting
    reply = await client.post(f"/webhooks/apify/{webhook_secret(app.state.settings)}", content=body)
    assert reply.status_code == 400 and await events(app) == []


async def test_a_webhook_for_a_run_already_collected_does_nothing(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_app(tmp_path, fake_apify) as (app, client):
        run_id = await started_run(app)
        await until(lambda: status_is(app, "SUCCEEDED"))
        reply = await client.post(**hook(app, run_id, dispatch_id="Dispatch000000002"))
        assert reply.json() == {"received": "collected"} and await events(app) == []


async def test_without_its_webhook_polling_finishes_the_job(tmp_path: Path, fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(webhooks="drop")
    async with apify_app(tmp_path, fake_apify, public_url="http://127.0.0.1:9") as (app, _):
        await until(lambda: status_is(app, "SUCCEEDED"))
        feed = (await app.state.db.read(lambda s: s.execute(select(FeedCache)))).scalar_one()
    assert fake_apify.deliveries == [] and feed.item_count > 0


async def test_a_webhook_for_an_interrupted_run_has_it_collected_at_once(tmp_path: Path, fake_apify: FakeApify) -> None:
    app = create_app(apify_settings(tmp_path, fake_apify, tick_seconds=600), clock=FakeClock(time.time()))
    async with running(app) as client, apify_rig(tmp_path, fake_apify) as rig:
        await rig.track("instagram", LUNA)
        fake_apify.plan_runs(duration=0.5)
        stopped = asyncio.create_task(rig.refresher.run_once())  # another server, stopped mid-run
        run_id = await started_run(app)
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        assert (await client.post(**hook(app, run_id))).json() == {"received": "new"}
        await until(lambda: fed(rig))
    assert fake_apify.run_count() == 1


# --- Apify calling back over HTTP ------------------------------------------------------


def app_at(tmp_path: Path, fake: FakeApify) -> Callable[[str], Starlette]:
    """The app for a URL: Apify calls back there, and it polls too rarely to matter."""
    return lambda url: create_app(apify_settings(tmp_path, fake, public_url=url, apify_poll_seconds=600))


async def test_apify_calling_back_ends_the_wait_long_before_the_next_poll(tmp_path: Path,
                                                                          fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(duration=0.5)
    with serving(app_at(tmp_path, fake_apify)):
        async with apify_rig(tmp_path, fake_apify) as rig:
            await rig.track("instagram", LUNA)
            await until(lambda: fed(rig))
    (delivery,) = fake_apify.deliveries
    assert delivery.status_code == 200 and delivery.event_type == "ACTOR.RUN.SUCCEEDED"


async def test_a_delivery_apify_sends_twice_is_processed_once(tmp_path: Path, fake_apify: FakeApify) -> None:
    fake_apify.plan_runs(duration=0.5, webhooks="duplicate")
    with serving(app_at(tmp_path, fake_apify)):
        async with apify_rig(tmp_path, fake_apify) as rig:
            await rig.track("instagram", LUNA)
            await until(lambda: fed(rig))
            deliveries = await fake_apify.wait_for_deliveries_async(2)
            recorded = await rig.webhook_events()
    assert [d.status_code for d in deliveries] == [200, 200] and deliveries[0].dispatch_id == deliveries[1].dispatch_id
    assert len(recorded) == 1
