"""The refresher: what is due, batching, concurrency, backoff, and never losing good items."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flowkick import refresher as refresher_module
from flowkick.clients import create_client
from flowkick.feeds import load_snapshot
from flowkick.platforms import PLATFORMS
from flowkick.refresher import Refresher
from flowkick.tables import FeedCache, RefreshRun
from tests.support.apps import ScriptedSource, running, scripted_app, until
from tests.support.refresher_rig import Rig, make_rig

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    """The refresher on each database Flowkick supports."""
    url = {} if request.param == "sqlite" else {"database_url": request.getfixturevalue("postgres_database_url")}
    made = await make_rig(tmp_path, **url)
    yield made
    await made.db.close()


async def test_never_fetched_sources_are_due(rig: Rig) -> None:
    await rig.track("a.cafe")
    summary = await rig.refresher.run_once()
    assert (summary.runs, summary.errors) == (1, 0)
    assert rig.source.calls == [("instagram", ["a.cafe"])]


async def test_fetched_items_are_stored_with_their_expiry(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    row = await rig.row(source_id)
    assert row.status == "ok" and row.item_count == rig.settings.items_per_source
    assert row.expires_at == rig.clock.now() + rig.settings.ttl_instagram
    assert row.content_hash and row.version == 1


async def test_fresh_sources_are_not_fetched_again(rig: Rig) -> None:
    await rig.track("a.cafe")
    await rig.refresher.run_once()
    assert (await rig.refresher.run_once()).runs == 0


async def test_recently_requested_source_is_refreshed_before_it_expires(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    await _requested_at(rig, source_id, rig.clock.now())
    rig.clock.advance(rig.settings.ttl_instagram - rig.settings.refresh_ahead_seconds + 1)
    assert (await rig.refresher.run_once()).runs == 1


async def test_source_not_requested_for_a_day_waits_for_its_next_request(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    await _requested_at(rig, source_id, rig.clock.now())
    rig.clock.advance(25 * 3600)
    assert (await rig.refresher.run_once()).runs == 0
    rig.refresher.request(source_id)
    assert (await rig.refresher.run_once()).runs == 1


async def _requested_at(rig: Rig, source_id: int, at: float) -> None:
    async def work(session: Any) -> None:
        row = await session.get(FeedCache, source_id)
        row.last_requested_at = at

    await rig.db.write(work)


@pytest.mark.parametrize(("handles", "batch"), [(1, 25), (25, 25), (26, 25), (60, 25), (7, 3)])
async def test_due_handles_of_a_platform_run_in_batches(tmp_path: Path, handles: int, batch: int) -> None:
    rig = await make_rig(tmp_path, batch_size=batch)
    try:
        await rig.track(*(f"cafe{i}" for i in range(handles)))
        summary = await rig.refresher.run_once()
        assert summary.runs == len(rig.source.calls) == math.ceil(handles / batch)
        assert sorted(h for _, hs in rig.source.calls for h in hs) == sorted(f"cafe{i}" for i in range(handles))
    finally:
        await rig.db.close()


async def test_platforms_never_share_a_batch(rig: Rig) -> None:
    await rig.track("a.cafe", platform="instagram")
    await rig.track("a.cafe", platform="tiktok")
    await rig.refresher.run_once()
    assert sorted(rig.source.calls) == [("instagram", ["a.cafe"]), ("tiktok", ["a.cafe"])]


async def test_at_most_the_configured_number_of_batches_run_at_once(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, batch_size=1, max_concurrent_runs=2)
    try:
        await rig.track(*(f"cafe{i}" for i in range(5)))
        rig.source.gate = asyncio.Event()
        running_pass = asyncio.create_task(rig.refresher.run_once())
        await until(lambda: rig.source.in_flight == 2)
        rig.source.gate.set()
        assert (await running_pass).runs == 5
        assert rig.source.most_in_flight == 2
    finally:
        await rig.db.close()


async def test_a_forced_refresh_that_finds_no_free_slot_runs_once_one_frees(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, batch_size=1, max_concurrent_runs=1)
    try:
        (forced,) = await rig.track("a.cafe")
        await rig.refresher.run_once()
        await rig.track("b.cafe", "c.cafe")  # never fetched: due before any other, and taking the one slot
        rig.refresher.refresh_now(forced)
        rig.refresher.start()
        await until(lambda: rig.source.calls.count(("instagram", ["a.cafe"])) == 2)
    finally:
        await rig.refresher.stop()
        await rig.db.close()


async def test_every_run_is_recorded(rig: Rig) -> None:
    await rig.track("a.cafe", "b.cafe")
    await rig.refresher.run_once()
    (run,) = await rig.runs()
    assert (run.platform, run.handles, run.status, run.source_name) == ("instagram", ["a.cafe", "b.cafe"],
                                                                        "SUCCEEDED", "scripted")
    assert run.item_count == 2 * rig.settings.items_per_source and run.finished_at == rig.clock.now()


async def test_failed_run_keeps_last_good_items(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    before = await rig.row(source_id)
    rig.source.failing = "actor crashed"
    rig.clock.advance(rig.settings.ttl_instagram)
    rig.refresher.request(source_id)
    summary = await rig.refresher.run_once()
    after = await rig.row(source_id)
    assert summary.errors == 1
    assert after.items == before.items and after.fetched_at == before.fetched_at
    assert (after.status, after.last_error, after.error_count) == ("ok", "actor crashed", 1)
    assert (await rig.runs())[-1].error == "actor crashed"


async def test_empty_result_does_not_replace_good_items(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    rig.source.empty_handles.add("a.cafe")
    rig.clock.advance(rig.settings.ttl_instagram)
    rig.refresher.request(source_id)
    await rig.refresher.run_once()
    row = await rig.row(source_id)
    assert row.item_count == rig.settings.items_per_source
    assert row.last_error == "empty result: kept the previous items"


async def test_empty_first_result_is_an_empty_feed(rig: Rig) -> None:
    (source_id,) = await rig.track("quiet.cafe")
    rig.source.empty_handles.add("quiet.cafe")
    await rig.refresher.run_once()
    row = await rig.row(source_id)
    assert (row.status, row.item_count, row.last_error) == ("ok", 0, None)


async def test_a_failing_handle_does_not_hold_back_its_batch(rig: Rig) -> None:
    good, bad = await rig.track("good.cafe", "gone.cafe")
    rig.source.failing_handles["gone.cafe"] = "not_found: no such account"
    await rig.refresher.run_once()
    assert (await rig.row(good)).status == "ok"
    bad_row = await rig.row(bad)
    assert (bad_row.status, bad_row.last_error) == ("error", "not_found: no such account")
    assert bad_row.next_attempt_at is not None and bad_row.next_attempt_at > rig.clock.now()


async def test_backoff_doubles_with_jitter_up_to_the_cap(rig: Rig) -> None:
    (source_id,) = await rig.track("gone.cafe")
    rig.source.failing_handles["gone.cafe"] = "not_found"
    delays = []
    for _ in range(12):
        await rig.refresher.run_once()
        row = await rig.row(source_id)
        assert row.next_attempt_at is not None
        delays.append(row.next_attempt_at - rig.clock.now())
        rig.clock.advance(delays[-1])
    base, cap = rig.settings.backoff_base_seconds, rig.settings.backoff_max_seconds
    for failures, delay in enumerate(delays, start=1):
        full = min(cap, base * 2 ** (failures - 1))
        assert full / 2 <= delay <= full
    assert delays[5] > delays[0] * 8 and max(delays) <= cap


async def test_backing_off_source_is_not_retried_early(rig: Rig) -> None:
    (source_id,) = await rig.track("gone.cafe")
    rig.source.failing_handles["gone.cafe"] = "not_found"
    await rig.refresher.run_once()
    rig.clock.advance(rig.settings.backoff_base_seconds / 2 - 1)
    rig.refresher.request(source_id)
    assert (await rig.refresher.run_once()).runs == 0


async def test_a_success_resets_the_backoff(rig: Rig) -> None:
    (source_id,) = await rig.track("flaky.cafe")
    rig.source.failing_handles["flaky.cafe"] = "rate limited"
    await rig.refresher.run_once()
    del rig.source.failing_handles["flaky.cafe"]
    rig.clock.advance(rig.settings.backoff_base_seconds)
    await rig.refresher.run_once()
    row = await rig.row(source_id)
    assert (row.status, row.error_count, row.next_attempt_at, row.last_error) == ("ok", 0, None, None)


async def test_a_source_leased_by_another_process_is_left_to_it(rig: Rig) -> None:
    await rig.track("a.cafe")
    other = Refresher(rig.db, rig.refresher.sources, rig.settings, rig.clock)
    rig.source.gate = asyncio.Event()
    first = asyncio.create_task(other.run_once())
    await until(lambda: rig.source.in_flight == 1)
    assert (await rig.refresher.run_once()).runs == 0
    rig.source.gate.set()
    assert (await first).runs == 1
    assert len(rig.source.calls) == 1


async def test_runs_of_a_killed_process_are_closed_and_its_leases_freed(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")

    dead_owner = f"{socket.gethostname()}:999999999:abc"  # no process has that pid

    async def abandoned_run(session: Any) -> None:
        session.add(RefreshRun(platform="instagram", source_name="scripted", handles=["a.cafe"], started_at=0,
                               owner=dead_owner))
        row = await session.get(FeedCache, source_id)
        row.lease_owner, row.lease_until = dead_owner, rig.clock.now() + 900

    await rig.db.write(abandoned_run)
    await rig.refresher.recover()
    (run,) = await rig.runs()
    assert run.status == "INTERRUPTED"
    assert (await rig.refresher.run_once()).runs == 1


async def test_fifty_concurrent_first_requests_start_one_fetch(tmp_path: Path) -> None:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source)
    async with running(app) as client:
        await until(lambda: len(source.calls) == len(PLATFORMS))  # the demo client's first fetches
        new = await create_client(app.state.db, "Busy", {"instagram": ["busy.cafe"]}, now=source.clock.now())
        source.gate = asyncio.Event()
        answers = await asyncio.gather(*(client.get("/api/v1/social/instagram", params={"api_key": new.publishable_key})
                                         for _ in range(50)))
        assert {a.status_code for a in answers} == {202}
        await until(lambda: ("instagram", ["busy.cafe"]) in source.calls)
        source.gate.set()
        await until(lambda: _ok(client, new.publishable_key))
    assert source.calls.count(("instagram", ["busy.cafe"])) == 1


async def _ok(client: Any, key: str) -> bool:
    return (await client.get("/api/v1/social/instagram", params={"api_key": key})).status_code == 200


async def test_stale_items_are_served_while_refreshes_fail(tmp_path: Path) -> None:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source)
    async with running(app) as client:
        await until(lambda: _ok(client, "pk_demo"))
        fresh = (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()
        source.failing = "Apify is down"
        source.clock.advance(app.state.settings.ttl_instagram + 1)
        app.state.reader.forget_feeds(range(1, 100))
        calls = len(source.calls)
        stale = (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).json()
        await until(lambda: len(source.calls) > calls)
        again = await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
    assert stale["stale"] is True and stale["status"] == "ok"
    assert stale["items"] == fresh["items"]
    assert again.status_code == 200 and again.json()["items"] == fresh["items"]
    assert again.headers["cache-control"].startswith("max-age=0")


async def test_snapshot_version_changes_with_every_write(rig: Rig) -> None:
    (source_id,) = await rig.track("a.cafe")
    await rig.refresher.run_once()
    first = await load_snapshot(rig.db, source_id, str)
    rig.clock.advance(rig.settings.ttl_instagram)
    rig.refresher.request(source_id)
    await rig.refresher.run_once()
    second = await load_snapshot(rig.db, source_id, str)
    assert first is not None and second is not None and second.version == first.version + 1


async def test_a_request_made_while_the_refresher_looks_for_work_is_not_lost(rig: Rig) -> None:
    first, second = await rig.track("a.cafe", "b.cafe")
    await rig.refresher.run_once()
    rig.clock.advance(25 * 3600)  # both expired and not requested lately: only a request makes them due
    rig.refresher.request(first)
    looking = asyncio.create_task(rig.refresher.run_once())
    await asyncio.sleep(0)  # the pass is now waiting for its database query
    rig.refresher.request(second)
    assert (await looking).runs == 1
    assert (await rig.refresher.run_once()).runs == 1
    assert [handles for _, handles in rig.source.calls[-2:]] == [["a.cafe"], ["b.cafe"]]


async def test_a_tick_reads_more_rows_when_those_it_read_are_all_held_by_their_plans(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresher_module, "DUE_ROWS_PER_SLOT", 1)  # a tick for one batch reads one row first
    rig = await make_rig(tmp_path, batch_size=1, plans=json.dumps({"free": {"min_refresh_seconds": 7200}}))
    now = rig.clock.now()
    await create_client(rig.db, "Slow plan", {"instagram": ["a.cafe"]}, now=now, plan="free")
    await create_client(rig.db, "Fast plan", {"instagram": ["b.cafe"]}, now=now, plan="enterprise")
    await rig.refresher.run_once()
    rig.clock.advance(3600)  # both expired (TTL 1800 s); a.cafe's plan holds it until 7200 s
    a_cafe, b_cafe = await rig.source_ids()
    for source_id in (a_cafe, b_cafe):
        rig.refresher.request(source_id)
    claimed = [d.source_id for batch in await rig.refresher._claimed_batches(None, limit=1) for d in batch]
    await rig.db.close()
    assert claimed == [b_cafe]


async def test_requests_beyond_the_rows_a_tick_reads_wait_for_the_next_ticks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresher_module, "DUE_ROWS_PER_SLOT", 1)  # a tick for one batch reads one row
    rig = await make_rig(tmp_path, batch_size=1)
    sources = await rig.track("a.cafe", "b.cafe", "c.cafe")
    await rig.refresher.run_once()
    rig.clock.advance(25 * 3600)  # expired and not asked for lately: only a request makes them due
    for source_id in sources:
        rig.refresher.request(source_id)
    claimed = [d.source_id for _ in sources for batch in await rig.refresher._claimed_batches(None, limit=1)
               for d in batch]
    await rig.db.close()
    assert sorted(claimed) == sorted(sources)
