"""Refreshing through Apify when things go wrong: rate limits and server errors, runs that
fail or time out, junk and hostile datasets, accounts that vanish, and a server that dies
in the middle of a run. Good items are never lost, and no run is paid for twice.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import orjson
import pytest

from flowkick.app import create_app
from tests.support.apify_rig import ApifyRig, apify_rig
from tests.support.apps import running, until
from tests.support.fake_apify import MALFORMED_ITEMS, FakeApify

pytestmark = pytest.mark.anyio

POSTS = 20  # what every account of the fake has posted
LUNA, SOL = "lunacafe.berlin", "panaderia.sol"
CLIENT_ATTEMPTS = 5  # apify-client's first try and its 4 retries


@pytest.fixture
async def rig(tmp_path: Path, fake_apify: FakeApify) -> AsyncIterator[ApifyRig]:
    async with apify_rig(tmp_path, fake_apify) as made:
        yield made


async def fetched_once(rig: ApifyRig, *handles: str) -> None:
    """Track `handles` on Instagram and fetch them, so they have good items to lose."""
    await rig.track("instagram", *handles)
    await rig.refresher.run_once()


async def run_id_recorded(rig: ApifyRig) -> bool:
    return any(run.run_id for run in await rig.runs())


async def fed(rig: ApifyRig, handle: str) -> bool:
    return (await rig.feed("instagram", handle)).item_count > 0


# --- rate limits and server errors -----------------------------------------------------


@pytest.mark.parametrize("kind", ["start", "get", "items"])
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_short_burst_of_errors_is_retried_by_the_client(rig: ApifyRig, kind: str, status: int) -> None:
    await rig.track("instagram", LUNA)
    rig.fake.fail_requests(CLIENT_ATTEMPTS - 1, status=status, kind=kind)
    summary = await rig.refresher.run_once()
    assert (summary.errors, rig.fake.run_count()) == (0, 1)
    assert (await rig.feed("instagram", LUNA)).item_count == POSTS


async def test_a_storm_outlasting_the_client_retries_fails_the_batch_and_backs_off(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    rig.fake.fail_requests(CLIENT_ATTEMPTS, status=429, kind="start")
    summary = await rig.refresher.run_once()
    (run,), row = await rig.runs(), await rig.feed("instagram", LUNA)
    assert summary.errors == 1 and rig.fake.run_count() == 0
    assert run.status == "FAILED" and run.error is not None and "rate limit" in run.error
    assert row.last_error == run.error and row.next_attempt_at is not None and row.next_attempt_at > rig.clock.now()


async def test_after_a_storm_the_batch_is_fetched_once_its_backoff_has_passed(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    rig.fake.fail_requests(CLIENT_ATTEMPTS, status=503, kind="start")
    await rig.refresher.run_once()
    assert (await rig.refresher.run_once()).runs == 0
    rig.clock.advance(rig.settings.backoff_base_seconds)
    assert (await rig.refresher.run_once()).errors == 0
    assert (await rig.feed("instagram", LUNA)).item_count == POSTS


async def test_a_server_error_while_waiting_keeps_the_run_id_on_record(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    rig.fake.fail_requests(CLIENT_ATTEMPTS, status=500, kind="get")
    await rig.refresher.run_once()
    (run,) = await rig.runs()
    assert run.status == "FAILED" and run.run_id == rig.fake.runs[0].id


# --- runs that do not succeed ----------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "TIMED-OUT", "ABORTED"])
async def test_a_run_that_does_not_succeed_keeps_the_old_items_and_records_why(rig: ApifyRig, status: str) -> None:
    await fetched_once(rig, LUNA)
    before = await rig.feed("instagram", LUNA)
    await rig.make_due("instagram", LUNA)
    rig.fake.plan_runs(status=status)
    await rig.refresher.run_once()
    after, last = await rig.feed("instagram", LUNA), (await rig.runs())[-1]
    assert (after.items, after.fetched_at, after.status) == (before.items, before.fetched_at, "ok")
    assert last.status == status and last.error is not None and last.error.startswith(f"run {status}")
    assert after.last_error == last.error and after.error_count == 1


async def test_a_run_longer_than_its_timeout_ends_timed_out(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, apify_run_timeout_seconds=1) as rig:
        await rig.track("instagram", LUNA)
        rig.fake.plan_runs(duration=30)
        await rig.refresher.run_once()
        (run,) = await rig.runs()
    assert run.status == "TIMED-OUT" and fake_apify.runs[0].status == "TIMED-OUT"


# --- what a dataset may hold -----------------------------------------------------------


async def test_malformed_rows_are_skipped_and_counted(rig: ApifyRig) -> None:
    rig.fake.plan_runs(items=[*MALFORMED_ITEMS, *rig.fake.make_items("instagram", LUNA, 3)])
    await fetched_once(rig, LUNA)
    (run,) = await rig.runs()
    assert (await rig.feed("instagram", LUNA)).item_count == 3
    assert run.skipped == len(MALFORMED_ITEMS) and run.status == "SUCCEEDED"


async def test_a_dataset_of_nothing_but_junk_fails_the_handle_without_a_crash(rig: ApifyRig) -> None:
    rig.fake.plan_runs(items=MALFORMED_ITEMS)
    await fetched_once(rig, LUNA)
    row = await rig.feed("instagram", LUNA)
    assert (row.status, row.item_count, row.last_error) == ("error", 0, "no items returned")


async def test_hostile_text_is_stored_verbatim_as_plain_text(rig: ApifyRig) -> None:
    captions = ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "Ä" * 5000]
    items = rig.fake.make_items("instagram", LUNA, 3)
    for item, caption in zip(items, captions, strict=True):
        item["caption"] = caption
    rig.fake.world.set_items("instagram", LUNA, items)
    await fetched_once(rig, LUNA)
    row = await rig.feed("instagram", LUNA)
    assert sorted(item["text"] for item in row.items) == sorted(captions)


async def test_javascript_urls_never_reach_the_store(rig: ApifyRig) -> None:
    items = rig.fake.make_items("instagram", LUNA, 2)
    for item in items:
        item.update(url="javascript:alert(1)", displayUrl="JavaScript:alert(document.cookie)")
    rig.fake.world.set_items("instagram", LUNA, items)
    await fetched_once(rig, LUNA)
    row = await rig.feed("instagram", LUNA)
    assert row.item_count == 2 and b"javascript:" not in orjson.dumps(row.items).lower()


# --- an account that vanishes ----------------------------------------------------------


async def test_a_vanished_account_keeps_its_items_and_backs_off_while_its_batch_refreshes(rig: ApifyRig) -> None:
    await fetched_once(rig, LUNA, SOL)
    before = await rig.feed("instagram", SOL)
    rig.fake.world.remove("instagram", SOL)
    rig.fake.world.publish("instagram", LUNA)
    await rig.make_due("instagram", LUNA, SOL)
    await rig.refresher.run_once()
    gone, luna, now = await rig.feed("instagram", SOL), await rig.feed("instagram", LUNA), rig.clock.now()
    assert rig.fake.run_count() == 2
    assert gone.items == before.items and gone.last_error is not None and gone.last_error.startswith("not_found")
    assert gone.next_attempt_at is not None and now < gone.next_attempt_at <= now + rig.settings.backoff_base_seconds
    assert (luna.fetched_at, luna.last_error, luna.next_attempt_at, luna.item_count) == (now, None, None, POSTS + 1)


# --- a server that stops in the middle of a run ----------------------------------------


async def interrupted(rig: ApifyRig) -> None:
    """Start fetching LUNA and SOL, and stop the server once Apify runs the batch."""
    await rig.track("instagram", LUNA, SOL)
    rig.fake.plan_runs(duration=1.0)
    first = asyncio.create_task(rig.refresher.run_once())
    await until(lambda: run_id_recorded(rig))
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_stopping_server_leaves_its_run_interrupted_with_its_run_id(rig: ApifyRig) -> None:
    await interrupted(rig)
    (run,) = await rig.runs()
    assert run.status == "INTERRUPTED" and run.run_id == rig.fake.runs[0].id


async def test_the_next_server_collects_an_interrupted_run_instead_of_starting_one(rig: ApifyRig) -> None:
    await interrupted(rig)
    summary = await rig.new_refresher().run_once()
    (run,) = await rig.runs()
    assert rig.fake.run_count() == 1 and summary.items == 2 * POSTS
    assert (run.status, run.item_count) == ("SUCCEEDED", 2 * POSTS)
    for handle in (LUNA, SOL):
        row = await rig.feed("instagram", handle)
        assert (row.item_count, row.run_id, row.last_error) == (POSTS, run.run_id, None)


async def test_a_restarted_server_collects_an_interrupted_run_in_the_background(rig: ApifyRig) -> None:
    await interrupted(rig)
    async with running(create_app(rig.settings, clock=rig.clock)):
        await until(lambda: fed(rig, SOL))
    assert rig.fake.run_count() == 1 and (await rig.feed("instagram", LUNA)).item_count == POSTS


async def test_a_collected_run_is_not_collected_again(rig: ApifyRig) -> None:
    await interrupted(rig)
    await rig.new_refresher().run_once()
    versions = [(await rig.feed("instagram", h)).version for h in (LUNA, SOL)]
    assert (await rig.new_refresher().run_once()).runs == 0
    assert [(await rig.feed("instagram", h)).version for h in (LUNA, SOL)] == versions


async def test_an_interrupted_run_apify_forgot_is_fetched_again_after_the_backoff(rig: ApifyRig) -> None:
    await interrupted(rig)
    rig.fake.reset()  # Apify no longer knows the run
    await rig.new_refresher().run_once()
    (lost,) = await rig.runs()
    assert lost.status == "LOST" and rig.fake.run_count() == 0
    rig.clock.advance(2 * rig.settings.backoff_base_seconds)  # the longest backoff after two failures
    await rig.new_refresher().run_once()
    assert rig.fake.run_count() == 1 and (await rig.feed("instagram", LUNA)).item_count == POSTS


async def test_a_run_of_a_killed_server_is_collected_by_the_next_one(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA, SOL)
    rig.fake.plan_runs(duration=3.0)
    async with await anyio.open_process([sys.executable, "-m", "flowkick", "refresh"], env=rig.cli_env()) as process:
        await until(lambda: run_id_recorded(rig))
        process.kill()
        await process.wait()
    (orphan,) = await rig.runs()
    assert orphan.status == "RUNNING"
    refresher = rig.new_refresher()
    await refresher.recover()
    await refresher.run_once()
    (run,) = await rig.runs()
    assert rig.fake.run_count() == 1 and (run.status, run.item_count) == ("SUCCEEDED", 2 * POSTS)
    assert (await rig.feed("instagram", SOL)).item_count == POSTS
