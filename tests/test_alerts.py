"""Alerts fire once per incident and recover, by webhook (a real receiver) and e-mail (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from flowkick.alerts import Alerts, Notifier
from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.tables import FeedCache, SourceCost, Usage
from tests.support.apps import FakeClock, ScriptedSource, running, scripted_app, settings_for, until
from tests.support.receivers import HttpReceiver, MailReceiver, http_receiver, mail_receiver

pytestmark = pytest.mark.anyio


@dataclass
class Rig:
    db: Database
    alerts: Alerts
    clock: FakeClock
    hook: HttpReceiver
    mail: MailReceiver
    client_id: int

    async def feed(self, **values: Any) -> None:
        """Sets columns of the client's one source's feed row."""
        await self.db.write(lambda s: s.execute(update(FeedCache).values(**values)))

    def posted(self) -> list[dict[str, Any]]:
        return [json.loads(r.body)["alert"] for r in self.hook.received]


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def mail() -> Iterator[MailReceiver]:
    with mail_receiver() as receiver:
        yield receiver


@pytest.fixture
async def rig(tmp_path: Path, hook: HttpReceiver, mail: MailReceiver) -> AsyncIterator[Rig]:
    settings = settings_for(tmp_path, alert_webhook_url=hook.url, smtp_host="127.0.0.1", smtp_port=mail.port,
                            smtp_security="none", alert_email_to="ops@cafe.example, owner@cafe.example",
                            apify_budget_usd=10.0)
    db, clock = Database(settings.database_url), FakeClock()
    await db.connect()
    new = await create_client(db, "Luna Café", {"instagram": ["lunacafe.berlin"]}, now=clock.now(), plan="free")
    try:
        yield Rig(db, Alerts(db, settings, clock, Notifier(settings, retry_delay=0.01)), clock, hook, mail, new.id)
    finally:
        await db.close()


async def test_a_failing_source_opens_one_alert_and_tells_once(rig: Rig) -> None:
    await rig.feed(error_count=3, last_error="run FAILED")
    first, again = await rig.alerts.check(), await rig.alerts.check()
    assert [(n.alert.kind, n.event) for n in first] == [("failing_source", "opened")] and again == []
    (posted,) = rig.posted()
    assert posted["subject"] == "source:1" and "instagram lunacafe.berlin failed 3 refreshes" in posted["message"]


async def test_the_webhook_body_suits_slack_discord_and_generic_receivers(rig: Rig) -> None:
    await rig.feed(error_count=5)
    await rig.alerts.check()
    body = json.loads(rig.hook.received[0].body)
    assert body["text"] == body["content"] and body["text"].startswith("[Flowkick] WARNING: instagram lunacafe.berlin")
    assert body["alert"]["event"] == "opened" and body["alert"]["resolved_at"] is None


async def test_a_cleared_condition_sends_a_recovery_notice(rig: Rig) -> None:
    await rig.feed(error_count=3)
    await rig.alerts.check()
    await rig.feed(error_count=0)
    rig.clock.advance(60)
    (notice,) = await rig.alerts.check()
    assert notice.event == "resolved" and [p["event"] for p in rig.posted()] == ["opened", "resolved"]
    opened, resolved = await rig.alerts.open_and_recent()
    assert opened == [] and [(a.id, a.resolved_at) for a in resolved] == [(1, rig.clock.now())]


async def test_a_new_incident_after_recovery_is_a_new_alert(rig: Rig) -> None:
    for errors in (3, 0, 4):
        await rig.feed(error_count=errors)
        await rig.alerts.check()
    assert [(p["id"], p["event"]) for p in rig.posted()] == [(1, "opened"), (1, "resolved"), (2, "opened")]


async def test_alerts_are_e_mailed_when_smtp_is_set_up(rig: Rig) -> None:
    await rig.feed(error_count=3)
    await rig.alerts.check()
    (mail,) = rig.mail.messages
    assert mail["To"] == "ops@cafe.example, owner@cafe.example" and mail["Subject"].startswith("[Flowkick] WARNING")
    assert "Kind: failing_source" in mail.get_payload()


async def test_the_webhook_is_retried_with_backoff_until_it_answers(rig: Rig) -> None:
    rig.hook.fail_next(503, 502)
    await rig.feed(error_count=3)
    await rig.alerts.check()
    assert len(rig.hook.received) == 3
    (alert,), _ = await rig.alerts.open_and_recent()
    assert alert.opened_sent_at is not None and alert.send_error is None


async def test_a_webhook_that_never_answers_is_noted_on_the_alert(rig: Rig) -> None:
    rig.hook.fail_next(500, 500, 500, 500)
    await rig.feed(error_count=3)
    await rig.alerts.check()
    (alert,), _ = await rig.alerts.open_and_recent()
    assert alert.send_error == "webhook: HTTP 500" and len(rig.mail.messages) == 1


async def test_a_stale_source_people_still_ask_for_opens_an_alert(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.feed(status="ok", fetched_at=now - 9 * 3600, expires_at=now - 8 * 3600, last_requested_at=now - 60)
    (notice,) = await rig.alerts.check()
    assert notice.alert.kind == "stale_source" and "stale for 8.0 hours" in notice.alert.message


async def test_a_stale_source_nobody_asks_for_is_left_alone(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.feed(status="ok", fetched_at=now - 99 * 3600, expires_at=now - 98 * 3600, last_requested_at=now - 72 * 3600)
    assert await rig.alerts.check() == []


async def test_failing_picture_downloads_open_an_alert(rig: Rig) -> None:
    await rig.feed(media_failures=5)
    (notice,) = await rig.alerts.check()
    assert notice.alert.kind == "media_failures" and "5 pictures failed" in notice.alert.message


async def test_a_client_nearing_and_then_passing_its_quota(rig: Rig) -> None:
    day = "2026-09-21"  # FakeClock's day
    await rig.db.write(lambda s: s.merge(Usage(client_id=rig.client_id, day=day, requests=8_500)))
    (near,) = await rig.alerts.check()
    await rig.db.write(lambda s: s.execute(update(Usage).values(requests=10_000)))
    notices = await rig.alerts.check()
    assert near.alert.kind == "quota_near" and "used 8,500 of 10,000" in near.alert.message
    assert sorted((n.alert.kind, n.event) for n in notices) == [("quota_near", "resolved"), ("quota_reached", "opened")]


async def test_the_apify_budget_nearing_and_reached(rig: Rig) -> None:
    async def spend(usd: float) -> None:
        await rig.db.write(lambda s: s.merge(SourceCost(source_id=1, month="2026-09", cost_usd=usd)))

    await spend(8.5)
    (near,) = await rig.alerts.check()
    await spend(10.0)
    reached = [n.alert for n in await rig.alerts.check() if n.event == "opened"]
    assert near.alert.kind == "budget_near" and "$8.50 of its $10.00" in near.alert.message
    assert [(a.kind, a.severity) for a in reached] == [("budget_reached", "critical")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_processes_checking_at_once_open_one_alert(
        tmp_path: Path, hook: HttpReceiver, backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_database_url") if backend == "postgresql" else None
    settings = settings_for(tmp_path, alert_webhook_url=hook.url, **({"database_url": url} if url else {}))
    one, two, clock = Database(settings.database_url), Database(settings.database_url), FakeClock()
    await one.connect()
    await two.connect()
    try:
        await create_client(one, "Busy", {"tiktok": ["busy"]}, now=clock.now())
        await one.write(lambda s: s.execute(update(FeedCache).values(error_count=7)))
        notices = await asyncio.gather(*(Alerts(db, settings, clock).check() for db in (one, two)))
    finally:
        await one.close()
        await two.close()
    assert sum(len(n) for n in notices) == 1 and len(hook.received) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_processes_seeing_a_condition_clear_at_once_tell_its_recovery_once(
        tmp_path: Path, hook: HttpReceiver, backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_database_url") if backend == "postgresql" else None
    settings = settings_for(tmp_path, alert_webhook_url=hook.url, **({"database_url": url} if url else {}))
    one, two, clock = Database(settings.database_url), Database(settings.database_url), FakeClock()
    await one.connect()
    await two.connect()
    try:
        await create_client(one, "Busy", {"tiktok": ["busy"]}, now=clock.now())
        await one.write(lambda s: s.execute(update(FeedCache).values(error_count=7)))
        await Alerts(one, settings, clock).check()
        await one.write(lambda s: s.execute(update(FeedCache).values(error_count=0)))
        notices = await asyncio.gather(*(Alerts(db, settings, clock).check() for db in (one, two)))
    finally:
        await one.close()
        await two.close()
    assert [n.event for n in notices[0] + notices[1]] == ["resolved"]
    assert [json.loads(r.body)["alert"]["event"] for r in hook.received] == ["opened", "resolved"]


async def test_without_channels_alerts_are_still_recorded(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    db, clock = Database(settings.database_url), FakeClock()
    await db.connect()
    try:
        await create_client(db, "Quiet", {"tiktok": ["quiet"]}, now=clock.now())
        await db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.source_id) == 1).values(error_count=9)))
        (notice,) = await Alerts(db, settings, clock).check()
    finally:
        await db.close()
    assert notice.alert.opened_sent_at is None and notice.alert.send_error is None


async def test_the_app_checks_alerts_and_admin_lists_them(tmp_path: Path, hook: HttpReceiver) -> None:
    source = ScriptedSource()
    source.failing = "the actor crashed"
    app = scripted_app(tmp_path, source, admin_password="alert-admin", alert_webhook_url=hook.url, alert_failures=1)
    async with running(app) as http:
        await http.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
        await until(lambda: _failed(app))
        (notice, *_) = await app.state.alerts.check()
        csrf = re.search(r'name="csrf" value="([^"]+)"', (await http.get("/admin/login")).text)
        assert csrf is not None
        await http.post("/admin/login", data={"csrf": csrf.group(1), "password": "alert-admin"})
        page = (await http.get("/admin/alerts")).text
        metrics = (await http.get("/metrics")).text
    assert f'data-alert="{notice.alert.id}"' in page and "the actor crashed" in page
    assert 'flowkick_alerts_total{event="opened",kind="failing_source"}' in metrics
    assert json.loads(hook.received[0].body)["alert"]["kind"] == "failing_source"


async def _failed(app: Any) -> bool:
    rows = await app.state.db.read(lambda s: s.execute(select(FeedCache.error_count)))
    return any(count >= 1 for count in rows.scalars())
