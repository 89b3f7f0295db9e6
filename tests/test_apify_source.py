"""The Apify source behind the real refresher: one actor run per batch, what each run asks
for, and what each run leaves on record. Apify is the fake server, driven by the official
client; the database is a real SQLite file.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from flowkick.app import default_sources
from flowkick.platforms import PLATFORMS
from flowkick.settings import Settings
from flowkick.sources.actors import ACTORS
from flowkick.sources.apify import WEBHOOK_EVENTS, ApifySource, webhook_secret
from flowkick.sources.demo import DemoSource
from tests.support.apify_rig import ApifyRig, apify_rig
from tests.support.apps import FakeClock
from tests.support.fake_apify import FakeApify

pytestmark = pytest.mark.anyio

POSTS = 20  # what every account of the fake has posted (fewer than the 24 items a feed keeps)

TWO_HANDLES = {
    "instagram": ["lunacafe.berlin", "panaderia.sol"],
    "tiktok": ["lunacafe.berlin", "panaderia.sol"],
    "google_reviews": ["ChIJLunaCafeBerlin01", "ChIJPanaderiaSol002"],
    "twitter": ["lunacafeberlin", "panaderiasol"],
    "youtube": ["lunacafeberlin", "panaderiasol"],
    "facebook": ["lunacafe.berlin", "panaderia.sol"],
}


@pytest.fixture
async def rig(tmp_path: Path, fake_apify: FakeApify) -> AsyncIterator[ApifyRig]:
    async with apify_rig(tmp_path, fake_apify) as made:
        yield made


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_every_platform_fetches_a_batch_in_one_run_of_its_actor(rig: ApifyRig, platform: str) -> None:
    handles = TWO_HANDLES[platform]
    await rig.track(platform, *handles)
    summary = await rig.refresher.run_once()
    runs = rig.fake.runs
    assert {run.actor for run in runs} == {ACTORS[platform].default_actor_id} and summary.errors == 0
    assert len(runs) == (2 if platform == "facebook" else 1)  # a Facebook fill runs one page at a time
    for handle in handles:
        row = await rig.feed(platform, handle)
        assert row.status == "ok" and row.item_count > 0 and row.run_id in {run.id for run in runs}


@pytest.mark.parametrize("count", [1, 25, 26, 60])
async def test_handles_are_batched_by_batch_size(rig: ApifyRig, count: int) -> None:
    handles = [f"cafe{i}" for i in range(count)]
    await rig.track("instagram", *handles)
    await rig.refresher.run_once()
    assert rig.fake.run_count() == math.ceil(count / 25)
    asked = [url for run in rig.fake.runs for url in run.input["directUrls"]]
    assert sorted(asked) == sorted(f"https://www.instagram.com/{h}/" for h in handles)


async def test_each_run_caps_its_items_its_charge_and_its_duration(rig: ApifyRig) -> None:
    await rig.track("instagram", "lunacafe.berlin", "panaderia.sol")
    await rig.refresher.run_once()
    (run,) = rig.fake.runs
    assert run.max_items == 2 * (rig.settings.items_per_source + 3)  # three pinned posts may come first
    assert run.max_total_charge_usd == 0.5  # Apify's floor for pay-per-result runs
    assert run.timeout_secs == rig.settings.apify_run_timeout_seconds


async def test_each_run_is_recorded_with_ids_items_status_and_cost(rig: ApifyRig) -> None:
    await rig.track("instagram", "lunacafe.berlin", "panaderia.sol")
    summary = await rig.refresher.run_once()
    (fake_run,), (row,) = rig.fake.runs, await rig.runs()
    assert (row.run_id, row.dataset_id, row.status) == (fake_run.id, fake_run.dataset_id, "SUCCEEDED")
    assert row.item_count == fake_run.item_count == 2 * POSTS and row.skipped == 0
    assert row.charged == 2 * POSTS
    assert row.cost_usd == pytest.approx(0.0027 * 2 * POSTS) == summary.cost_usd == fake_run.charged_usd


async def test_the_actor_of_a_platform_comes_from_settings(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, actor_instagram="shu8hvrXbJbY3Eb9W") as rig:
        await rig.track("instagram", "lunacafe.berlin")
        await rig.refresher.run_once()
    starts = [r.path for r in fake_apify.requests if r.kind == "start"]
    assert starts == ["/v2/actors/shu8hvrXbJbY3Eb9W/runs"]


async def test_runs_ask_apify_to_call_back_when_a_public_url_is_set(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, public_url="http://127.0.0.1:9/", secret_key="s3cret") as rig:
        await rig.track("instagram", "lunacafe.berlin")
        await rig.refresher.run_once()
        secret = webhook_secret(rig.settings)
    (hook,) = fake_apify.runs[0].webhooks
    assert hook["requestUrl"] == f"http://127.0.0.1:9/webhooks/apify/{secret}"
    assert sorted(hook["eventTypes"]) == sorted(WEBHOOK_EVENTS)


async def test_runs_ask_for_no_callback_without_a_public_url(rig: ApifyRig) -> None:
    await rig.track("instagram", "lunacafe.berlin")
    await rig.refresher.run_once()
    assert rig.fake.runs[0].webhooks == []


def test_the_webhook_secret_is_derived_from_the_secret_key_not_equal_to_it() -> None:
    one, other = Settings(secret_key="key-one"), Settings(secret_key="key-two")
    assert webhook_secret(one) == webhook_secret(Settings(secret_key="key-one"))
    assert webhook_secret(one) != webhook_secret(other) and "key-one" not in webhook_secret(one)


async def test_collected_items_are_cut_to_the_limit_per_handle(rig: ApifyRig) -> None:
    started = await rig.source.start_run("instagram", ["lunacafe.berlin"], 10)
    result = await rig.source.collect_run("instagram", ["lunacafe.berlin"], 3, started.run_id)
    assert len(result.handles["lunacafe.berlin"].items) == 3


async def test_a_run_apify_does_not_know_is_lost(rig: ApifyRig) -> None:
    result = await rig.source.collect_run("instagram", ["lunacafe.berlin"], 3, "NoSuchRun00000000")
    assert (result.status, result.ok, result.handles) == ("LOST", False, {})


def test_a_token_selects_apify_for_every_platform() -> None:
    sources = default_sources(Settings(apify_token="t"), FakeClock())
    assert set(sources) == set(PLATFORMS) and all(isinstance(s, ApifySource) for s in sources.values())


def test_without_a_token_the_demo_source_stays() -> None:
    sources = default_sources(Settings(), FakeClock())
    assert all(isinstance(s, DemoSource) for s in sources.values())


async def test_refresh_command_fetches_through_apify_and_reports_runs_items_and_cost(rig: ApifyRig) -> None:
    await rig.track("instagram", "lunacafe.berlin", "panaderia.sol")
    await rig.track("google_reviews", "ChIJLunaCafeBerlin01")
    done = await anyio.run_process([sys.executable, "-m", "flowkick", "refresh"], env=rig.cli_env())
    cost = 0.0027 * 2 * POSTS + 0.0005 * POSTS
    assert re.search(rf"runs: 2 +items: {3 * POSTS} +errors: 0 +skipped: 0 +cost: \${cost:.4f}", done.stdout.decode())
    assert "Instagram" in done.stderr.decode() and "2/2 handles" in done.stderr.decode()
    assert (await rig.feed("google_reviews", "ChIJLunaCafeBerlin01")).item_count == POSTS


async def test_the_whole_dataset_is_read_so_a_handle_whose_rows_come_last_loses_nothing(
        tmp_path: Path, fake_apify: FakeApify) -> None:
    luna, sol = fake_apify.make_items("instagram", "lunacafe.berlin", 12), fake_apify.make_items("instagram", "panaderia.sol", 3)
    fake_apify.plan_runs(items=luna + sol)  # more rows than the run's maxItems of 2 × (2 + 3)
    async with apify_rig(tmp_path, fake_apify, items_per_source=2) as rig:
        await rig.track("instagram", "lunacafe.berlin", "panaderia.sol")
        await rig.refresher.run_once()
        sol_row, (run,) = await rig.feed("instagram", "panaderia.sol"), await rig.runs()
    assert (sol_row.item_count, run.charged) == (2, 10)  # charged no more than maxItems
