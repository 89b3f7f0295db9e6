"""Collection at a fraction of the naive cost: after a source's first fill the real refresher
asks the (fake) actors only for what is new, merges it in, renews counts on a slower
cadence, and the actors' own quirks (pinned posts, shorts, changed place ids, Facebook's
run-wide limit) cost no item. Apify is the fake server behind the official client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flowkick.clock import iso
from flowkick.collection import Due, Stored, merged, next_check, plan
from flowkick.settings import Settings
from tests.support.apify_rig import ApifyRig, apify_rig
from tests.support.fake_apify import FakeApify

pytestmark = pytest.mark.anyio

POSTS = 20  # what every account of the fake has posted
LUNA, SOL = "lunacafe.berlin", "panaderia.sol"
HOUR = 3600.0


@pytest.fixture
async def rig(tmp_path: Path, fake_apify: FakeApify) -> AsyncIterator[ApifyRig]:
    async with apify_rig(tmp_path, fake_apify) as made:
        yield made


async def refreshed(rig: ApifyRig, platform: str, *handles: str) -> Any:
    """Let the handles expire, have a visitor ask for them, and run one pass."""
    await rig.make_due(platform, *handles)
    return await rig.refresher.run_once()


# --- incremental refresh -----------------------------------------------------------------


async def test_after_the_first_fill_a_refresh_asks_only_for_posts_newer_than_the_stored_ones(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    await rig.refresher.run_once()
    first = await rig.feed("instagram", LUNA)
    await refreshed(rig, "instagram", LUNA)
    fill, incremental = rig.fake.runs
    assert "onlyPostsNewerThan" not in fill.input and "onlyPostsNewerThan" in incremental.input
    assert (fill.item_count, incremental.item_count, incremental.charged_usd) == (first.item_count, 0, 0)


async def test_the_date_filter_starts_at_the_last_fetch_less_an_overlap(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    await rig.refresher.run_once()
    fetched = (await rig.feed("instagram", LUNA)).fetched_at
    await refreshed(rig, "instagram", LUNA)
    assert rig.fake.runs[1].input["onlyPostsNewerThan"] == _iso(fetched - 600)


async def test_new_posts_are_merged_newest_first_capped_and_charged_alone(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, items_per_source=5) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        before = await rig.feed("instagram", LUNA)
        rig.fake.world.publish("instagram", LUNA, 2)
        await refreshed(rig, "instagram", LUNA)
        after = await rig.feed("instagram", LUNA)
        (run,) = (await rig.runs())[1:]
    assert [item["id"] for item in after.items[2:]] == [item["id"] for item in before.items[:3]]
    assert after.item_count == 5 and after.items[0]["published_at"] > before.items[0]["published_at"]
    assert (run.charged, run.cost_usd) == (2, pytest.approx(2 * 0.0027))


async def test_nothing_new_is_no_error_and_keeps_the_items(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    await rig.refresher.run_once()
    before = await rig.feed("instagram", LUNA)
    summary = await refreshed(rig, "instagram", LUNA)
    after = await rig.feed("instagram", LUNA)
    assert (summary.errors, after.last_error, after.status, after.items) == (0, None, "ok", before.items)
    assert after.fetched_at == rig.clock.now() and after.expires_at is not None and after.expires_at > rig.clock.now()


async def test_counts_are_renewed_on_their_cadence_reaching_back_their_window(rig: ApifyRig) -> None:
    await rig.track("instagram", LUNA)
    await rig.refresher.run_once()
    rig.clock.advance(rig.settings.counts_refresh_hours * HOUR - 3600)
    await refreshed(rig, "instagram", LUNA)  # incremental, 23 hours after the fill
    await refreshed(rig, "instagram", LUNA)  # the renewal, a day after the fill
    row = await rig.feed("instagram", LUNA)
    renewal = rig.fake.runs[2].input["onlyPostsNewerThan"]
    assert renewal[:16] == _iso(rig.clock.now() - rig.settings.counts_window_hours * HOUR)[:16]
    assert row.counts_renewed_at == rig.clock.now()


async def test_a_zero_window_makes_the_renewal_a_full_fetch(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, counts_window_hours=0.0) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        rig.clock.advance(rig.settings.counts_refresh_hours * HOUR)
        await refreshed(rig, "instagram", LUNA)
    assert "onlyPostsNewerThan" not in rig.fake.runs[1].input and rig.fake.runs[1].item_count == POSTS


async def test_a_vanished_post_leaves_the_feed_at_a_full_fetch(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, counts_window_hours=0.0) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        rig.fake.world.set_post_count("instagram", LUNA, POSTS - 1)  # the newest post was deleted
        rig.clock.advance(rig.settings.counts_refresh_hours * HOUR)
        await refreshed(rig, "instagram", LUNA)
        assert (await rig.feed("instagram", LUNA)).item_count == POSTS - 1


# --- the actors' quirks -------------------------------------------------------------------


async def test_an_old_pinned_post_never_pushes_a_newer_one_out(tmp_path: Path, fake_apify: FakeApify) -> None:
    fake_apify.world.pin("instagram", LUNA, 0)  # the oldest post, pinned: the actor lists it first
    async with apify_rig(tmp_path, fake_apify, items_per_source=5) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        row = await rig.feed("instagram", LUNA)
    newest = [fake_apify.world.posted_at("instagram", LUNA, i) for i in range(POSTS - 1, POSTS - 6, -1)]
    assert [item["published_at"] for item in row.items] == [f"{when:%Y-%m-%dT%H:%M:%SZ}" for when in newest]


async def test_x_asks_at_least_50_per_search_and_then_only_since_the_day_of_the_last_fetch(rig: ApifyRig) -> None:
    await rig.track("twitter", "lunacafeberlin", "panaderiasol")
    await rig.refresher.run_once()
    rig.fake.world.publish("twitter", "lunacafeberlin")
    await refreshed(rig, "twitter", "lunacafeberlin", "panaderiasol")
    fill, incremental = rig.fake.runs
    luna = await rig.feed("twitter", "lunacafeberlin")
    assert fill.max_items == fill.input["maxItems"] == 100 and "start" not in fill.input
    assert incremental.input["start"] == _iso(rig.clock.now() - 1801 - 600)[:10]
    assert (luna.item_count, luna.last_error) == (POSTS + 1, None)


async def test_youtube_reads_videos_and_shorts_tabs_and_two_of_each_when_incremental(rig: ApifyRig) -> None:
    await rig.track("youtube", "lunacafeberlin")
    await rig.refresher.run_once()
    await refreshed(rig, "youtube", "lunacafeberlin")
    fill, incremental = rig.fake.runs
    assert [entry["url"].rsplit("/", 1)[-1] for entry in fill.input["startUrls"]] == ["videos", "shorts"]
    assert (fill.item_count, incremental.input["maxResults"], incremental.item_count) == (POSTS, 2, 4)


async def test_youtube_fetches_the_full_lists_after_an_incremental_run_full_of_new_videos(rig: ApifyRig) -> None:
    await rig.track("youtube", "lunacafeberlin")
    await rig.refresher.run_once()
    rig.fake.world.publish("youtube", "lunacafeberlin", 6)  # more than two new videos and shorts each
    await refreshed(rig, "youtube", "lunacafeberlin")
    await refreshed(rig, "youtube", "lunacafeberlin")
    assert [run.input["maxResults"] for run in rig.fake.runs] == [24, 2, 24]
    assert (await rig.feed("youtube", "lunacafeberlin")).item_count == 24  # the newest 24 of 26


async def test_relative_youtube_dates_are_dated_and_sorted(rig: ApifyRig) -> None:
    rig.fake.world.date_relatively("youtube", "lunacafeberlin")
    await rig.track("youtube", "lunacafeberlin")
    await rig.refresher.run_once()
    dates = [item["published_at"] for item in (await rig.feed("youtube", "lunacafeberlin")).items]
    assert None not in dates and dates == sorted(dates, reverse=True)


async def test_reviews_of_a_place_whose_id_changed_still_reach_it(rig: ApifyRig) -> None:
    await rig.track("google_reviews", "ChIJLunaCafeBerlin01")
    await rig.refresher.run_once()
    rig.fake.world.change_place_id("ChIJLunaCafeBerlin01", "ChIJLunaCafeBerlin99")
    rig.fake.world.publish("google_reviews", "ChIJLunaCafeBerlin01")
    await refreshed(rig, "google_reviews", "ChIJLunaCafeBerlin01")
    row = await rig.feed("google_reviews", "ChIJLunaCafeBerlin01")
    assert (row.item_count, row.last_error, rig.fake.runs[0].input["reviewsOrigin"]) == (POSTS + 1, None, "google")


async def test_no_facebook_page_of_a_batch_starves(rig: ApifyRig) -> None:
    await rig.track("facebook", LUNA, SOL)
    await rig.refresher.run_once()
    for handle in (LUNA, SOL):
        rig.fake.world.publish("facebook", handle, 2)
    await refreshed(rig, "facebook", LUNA, SOL)
    rows = [await rig.feed("facebook", handle) for handle in (LUNA, SOL)]
    assert [row.item_count for row in rows] == [POSTS + 2, POSTS + 2]
    assert [len(run.input["startUrls"]) for run in rig.fake.runs] == [1, 1, 2]


# --- planning, merging and pacing ----------------------------------------------------------


def item(number: int, published: str | None, likes: int = 0) -> dict[str, Any]:
    return {"id": f"x:{number}", "published_at": published, "likes": likes}


def test_merge_keeps_the_fetched_copy_newest_first_and_caps() -> None:
    stored = [item(2, "2026-11-02T00:00:00Z", likes=1), item(1, "2026-11-01T00:00:00Z")]
    fetched = [item(3, "2026-11-03T00:00:00Z"), item(2, "2026-11-02T00:00:00Z", likes=9)]
    assert merged(stored, fetched, 2) == [item(3, "2026-11-03T00:00:00Z"), item(2, "2026-11-02T00:00:00Z", likes=9)]


def test_a_source_without_dated_items_or_renewal_is_filled() -> None:
    due = plan(Due(1, "instagram", "a", 0), Stored(fetched_at=10.0, newest_at=None, counts_renewed_at=5.0),
               Settings(), now=20.0)
    assert (due.since, due.renew) == (None, True)


def test_incremental_since_is_the_later_of_the_newest_item_and_the_last_fetch_less_overlap() -> None:
    now = 1_800_000_000.0
    stored = Stored(fetched_at=now - HOUR, newest_at=now - 2 * HOUR, counts_renewed_at=now - HOUR)
    assert plan(Due(1, "instagram", "a", 0), stored, Settings(), now).since == now - HOUR - 600


def test_a_renewal_after_days_unvisited_still_reaches_back_to_the_last_fetch() -> None:
    now = 1_800_000_000.0
    stored = Stored(fetched_at=now - 72 * HOUR, newest_at=now - 80 * HOUR, counts_renewed_at=now - 72 * HOUR)
    due = plan(Due(1, "instagram", "a", 0), stored, Settings(), now)
    assert (due.since, due.renew) == (now - 72 * HOUR - 600, True)


def test_quiet_source_is_checked_less_often_but_never_past_the_bound() -> None:
    settings, now = Settings(), 1_800_000_000.0
    every_two_days = [item(i, _iso(now - i * 48 * HOUR)) for i in range(6)]
    yearly = [item(i, _iso(now - i * 365 * 24 * HOUR)) for i in range(3)]
    hourly = [item(i, _iso(now - i * HOUR)) for i in range(6)]
    assert next_check(every_two_days, 1800, settings, now) == pytest.approx(48 * HOUR / 20)
    assert next_check(yearly, 1800, settings, now) == settings.quiet_max_hours * HOUR
    assert next_check(hourly, 1800, settings, now) == 1800


def _iso(timestamp: float) -> str:
    return iso(timestamp) or ""


async def test_facebook_media_drift_reaches_the_feed_as_clean_items(rig: ApifyRig) -> None:
    await rig.track("facebook", LUNA)
    await rig.refresher.run_once()
    items = (await rig.feed("facebook", LUNA)).items
    media = {item["type"]: [[entry["url"] for entry in i["media"]] for i in items if i["type"] == item["type"]]
             for item in items}
    assert all(len(urls) == len(set(urls)) >= 2 for urls in media.get("carousel", []))
    assert all(len(urls) == 1 for urls in media["image"]) and len(items) == POSTS
