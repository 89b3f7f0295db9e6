"""Quotas: the per-key burst limit, the monthly count, freeze and block, and their headers;
the monthly count across processes sharing one database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select
from starlette.applications import Starlette

from flowkick.clients import NewClient, create_client
from flowkick.quotas import TokenBucket, month_reset
from flowkick.tables import FeedCache, Usage
from tests.support.apps import FakeClock, ScriptedSource, running, scripted_app, until
from tests.support.sqlite import sqlite_write_lock

pytestmark = pytest.mark.anyio

OCTOBER_FIRST = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


@dataclass
class Rig:
    app: Starlette
    http: httpx.AsyncClient
    source: ScriptedSource
    client: NewClient

    async def get(self, path: str = "/api/v1/social/instagram", key: str | None = None) -> httpx.Response:
        return await self.http.get(path, headers={"Authorization": f"Bearer {key or self.client.publishable_key}"})


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"burst_per_second": 0}


@pytest.fixture
async def rig(tmp_path: Path, settings: dict[str, Any]) -> AsyncIterator[Rig]:
    """A free-plan client tracking one fetched Instagram account, with the test's settings."""
    source = ScriptedSource()
    app = scripted_app(tmp_path, source, **settings)
    async with running(app) as http:
        client = await create_client(app.state.db, "Café", {"instagram": ["cafe"]}, now=source.clock.now())
        await app.state.refresher.run_once()
        yield Rig(app, http, source, client)


def plans(**free: Any) -> dict[str, Any]:
    return {"burst_per_second": 0, "plans": json.dumps({"free": free})}


# -- burst ---------------------------------------------------------------------------------------------

def test_bucket_refuses_when_empty_and_refills_with_time() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, capacity=2, clock=clock)
    assert [bucket.take("k"), bucket.take("k")] == [0, 0]
    assert bucket.take("k") == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.take("k") == 0


def test_buckets_are_per_key() -> None:
    bucket = TokenBucket(rate=1, capacity=1, clock=FakeClock())
    assert bucket.take("a") == 0 and bucket.take("b") == 0


def test_a_zero_rate_turns_the_burst_limit_off() -> None:
    bucket = TokenBucket(rate=0, capacity=1, clock=FakeClock())
    assert all(bucket.take("k") == 0 for _ in range(100))


@pytest.mark.parametrize("settings", [{"burst_per_second": 1, "burst_capacity": 3}])
async def test_burst_over_the_bucket_answers_429_with_retry_after(rig: Rig) -> None:
    answers = [await rig.get() for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited" and answers[-1].headers["retry-after"] == "1"


@pytest.mark.parametrize("settings", [{"burst_per_second": 1, "burst_capacity": 1}])
async def test_burst_limit_lets_requests_through_again_after_a_pause(rig: Rig) -> None:
    await rig.get()
    assert (await rig.get()).status_code == 429
    rig.source.clock.advance(1)
    assert (await rig.get()).status_code == 200


@pytest.mark.parametrize("settings", [{"burst_per_second": 1, "burst_capacity": 1}])
async def test_burst_limit_is_per_key(rig: Rig) -> None:
    await rig.get()
    assert (await rig.get(key=rig.client.secret_key)).status_code == 200


@pytest.mark.parametrize("settings", [{"burst_per_second": 1, "burst_capacity": 1}])
async def test_burst_limit_applies_to_embed_fragments_too(rig: Rig) -> None:
    await rig.get()
    reply = await rig.get("/embed/instagram")
    assert reply.status_code == 429 and 'data-error-code="rate_limited"' in reply.text


@pytest.mark.parametrize("settings", [{"burst_per_second": 1, "burst_capacity": 1}])
async def test_the_demo_client_has_no_burst_limit(rig: Rig) -> None:
    answers = [await rig.get("/api/v1/social/tiktok", key="pk_demo") for _ in range(5)]
    assert 429 not in {a.status_code for a in answers}


# -- monthly quota -----------------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [plans(monthly_requests=5)])
async def test_feed_answers_carry_rate_limit_headers(rig: Rig) -> None:
    first, second = await rig.get(), await rig.get()
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("5", "4")
    assert second.headers["x-ratelimit-remaining"] == "3"
    assert int(first.headers["x-ratelimit-reset"]) == OCTOBER_FIRST


@pytest.mark.parametrize("settings", [plans(monthly_requests=5)])
async def test_an_error_after_counting_still_carries_rate_limit_headers(rig: Rig) -> None:
    reply = await rig.http.get("/api/v1/social/instagram", params={"api_key": rig.client.publishable_key,
                                                                    "limit": "500"})
    assert reply.status_code == 400 and reply.headers["x-ratelimit-remaining"] == "4"


async def test_unlimited_plans_send_no_rate_limit_headers(rig: Rig) -> None:
    reply = await rig.get(key="pk_demo")
    assert "x-ratelimit-limit" not in reply.headers


@pytest.mark.parametrize("settings", [plans(monthly_requests=2)])
async def test_over_the_limit_a_freeze_plan_keeps_serving_its_last_items(rig: Rig) -> None:
    answers = [await rig.get() for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].json()["items"] and answers[-1].headers["x-ratelimit-remaining"] == "0"


@pytest.mark.parametrize("settings", [plans(monthly_requests=2)])
async def test_a_frozen_clients_expired_feed_is_not_refreshed(rig: Rig) -> None:
    for _ in range(2):
        await rig.get()
    calls = len(rig.source.calls)
    rig.source.clock.advance(7200)
    stale = (await rig.get()).json()
    summary = await rig.app.state.refresher.run_once()
    assert stale["stale"] is True and summary.runs == 0 and len(rig.source.calls) == calls


@pytest.mark.parametrize("settings", [plans(monthly_requests=2)])
async def test_a_source_shared_with_a_client_within_quota_keeps_refreshing(rig: Rig) -> None:
    other = await create_client(rig.app.state.db, "Other", {"instagram": ["cafe"]}, now=0, plan="pro")
    for _ in range(2):
        await rig.get()
    calls = len(rig.source.calls)
    rig.source.clock.advance(7200)
    await rig.get(key=other.publishable_key)
    await until(lambda: len(rig.source.calls) > calls)


@pytest.mark.parametrize("settings", [plans(monthly_requests=2, over_limit="block")])
async def test_over_the_limit_a_block_plan_answers_429_until_next_month(rig: Rig) -> None:
    ok = [await rig.get() for _ in range(2)]
    blocked = await rig.get()
    assert [a.status_code for a in ok] == [200, 200]
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "quota_exceeded"
    assert int(blocked.headers["retry-after"]) == OCTOBER_FIRST - int(rig.source.clock.now())
    assert blocked.headers["x-ratelimit-remaining"] == "0"


@pytest.mark.parametrize("settings", [plans(monthly_requests=2, over_limit="block")])
async def test_a_new_month_starts_a_new_count(rig: Rig) -> None:
    for _ in range(3):
        await rig.get()
    rig.source.clock.value = OCTOBER_FIRST + 60
    reply = await rig.get()
    assert reply.status_code == 200 and reply.headers["x-ratelimit-remaining"] == "1"


@pytest.mark.parametrize("settings", [plans(monthly_requests=100)])
async def test_month_to_date_starts_from_the_counts_already_in_the_database(rig: Rig) -> None:
    september = datetime.fromtimestamp(rig.source.clock.now(), UTC).strftime("%Y-%m")
    rows = [Usage(client_id=rig.client.id, day=f"{september}-02", requests=40),
            Usage(client_id=rig.client.id, day="2026-08-31", requests=1000)]
    await rig.app.state.db.write(lambda s: _add(s, rows))
    assert (await rig.get()).headers["x-ratelimit-remaining"] == "59"


async def _add(session: Any, rows: list[Usage]) -> None:
    session.add_all(rows)


@pytest.mark.parametrize("settings", [plans(monthly_requests=3)])
async def test_quota_of_one_client_does_not_touch_another(rig: Rig) -> None:
    other = await create_client(rig.app.state.db, "Other", {"instagram": ["cafe"]}, now=0)
    for _ in range(3):
        await rig.get()
    assert (await rig.get(key=other.publishable_key)).headers["x-ratelimit-remaining"] == "2"


def test_month_reset_rolls_over_december() -> None:
    december = datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp()
    assert month_reset(december) == int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())


# -- several processes on one database ---------------------------------------------------------------

@dataclass
class Process:
    """One server process: its own app (memory, counters, flusher) on the shared database."""

    app: Starlette
    http: httpx.AsyncClient
    key: str

    async def get(self) -> httpx.Response:
        return await self.http.get("/api/v1/social/instagram", headers={"Authorization": f"Bearer {self.key}"})

    async def flush(self) -> None:
        """What the background flusher does every `usage_flush_seconds`."""
        await self.app.state.usage.flush()


@pytest.fixture
async def two(tmp_path: Path, settings: dict[str, Any]) -> AsyncIterator[tuple[Process, Process]]:
    """Two processes on one SQLite database and one clock, flushing only when a test says so."""
    source = ScriptedSource()
    apps = [scripted_app(tmp_path, source, usage_flush_seconds=3600, **settings) for _ in range(2)]
    async with running(apps[0]) as first, running(apps[1]) as second:
        client = await create_client(apps[0].state.db, "Café", {"instagram": ["cafe"]}, now=source.clock.now())
        await until(lambda: _fetched(apps[0]))  # by either process's refresher
        yield Process(apps[0], first, client.publishable_key), Process(apps[1], second, client.publishable_key)


async def _fetched(app: Starlette) -> bool:
    waiting = await app.state.db.read(lambda s: s.execute(select(func.count()).where(FeedCache.status != "ok")))
    return bool(waiting.scalar_one() == 0)


async def flushed_requests(process: Process) -> int:
    total = await process.app.state.db.read(lambda s: s.execute(select(func.sum(Usage.requests))))
    return int(total.scalar_one() or 0)


@pytest.mark.parametrize("settings", [plans(monthly_requests=10)])
async def test_after_both_flush_a_process_counts_the_requests_the_other_answered(two: tuple[Process, Process]) -> None:
    one, other = two
    for _ in range(3):
        await one.get()
    for _ in range(2):
        await other.get()
    await other.flush()
    await one.flush()
    assert (await one.get()).headers["x-ratelimit-remaining"] == "4"


@pytest.mark.parametrize("settings", [plans(monthly_requests=10)])
async def test_a_process_catches_up_with_a_quiet_client_at_the_flush_after_it_asks_again(
        two: tuple[Process, Process]) -> None:
    one, other = two
    await one.get()
    for _ in range(2):
        await one.flush()  # the two reads after a client's request
    for _ in range(3):
        await other.get()
    await other.flush()
    await one.flush()  # the client asked nothing of this process lately: nothing is read
    assert (await one.get()).headers["x-ratelimit-remaining"] == "8"  # what this process knew
    await one.flush()
    assert (await one.get()).headers["x-ratelimit-remaining"] == "4"


@pytest.mark.parametrize("settings", [plans(monthly_requests=4, over_limit="block")])
async def test_a_block_plan_is_refused_by_every_process_once_the_flushed_total_reaches_its_limit(
        two: tuple[Process, Process]) -> None:
    one, other = two
    assert (await one.get()).status_code == 200
    assert [(await other.get()).status_code for _ in range(3)] == [200, 200, 200]
    await other.flush()
    await one.flush()
    await other.flush()
    assert [(await p.get()).status_code for p in (one, other)] == [429, 429]


@pytest.mark.parametrize("settings", [plans(monthly_requests=10)])
async def test_requests_answered_while_a_flush_is_writing_are_counted_once(
        two: tuple[Process, Process], tmp_path: Path) -> None:
    one, _ = two
    for _ in range(3):
        await one.get()
    async with sqlite_write_lock(tmp_path / "flowkick.db"):  # the flush waits for the database
        flushing = asyncio.create_task(one.flush())
        await until(lambda: one.app.state.usage.pending(1)["requests"] == 0)  # the flush took the counts
        for _ in range(2):
            await one.get()
        assert not flushing.done()
    await flushing
    await one.flush()
    assert await flushed_requests(one) == 5
    assert (await one.get()).headers["x-ratelimit-remaining"] == "4"


@pytest.mark.parametrize("settings", [plans(monthly_requests=10)])
async def test_a_failed_flush_loses_nothing_and_counts_nothing_twice(two: tuple[Process, Process]) -> None:
    one, _ = two
    db = one.app.state.db
    await db.write(lambda s: s.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON usage "
                                            "BEGIN SELECT RAISE(ABORT, 'disk full'); END")))
    for _ in range(3):
        await one.get()
    with pytest.raises(Exception, match="disk full"):
        await one.flush()
    await db.write(lambda s: s.execute(text("DROP TRIGGER refuse")))
    await one.flush()
    assert await flushed_requests(one) == 3
    assert (await one.get()).headers["x-ratelimit-remaining"] == "6"
