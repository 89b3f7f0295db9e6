"""TikTok: `clockworks/tiktok-scraper` input and output, driven by the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.tiktok import TikTokActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "tiktok.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
HANDLES = ["lunacafe.berlin", "panaderia.sol"]
SPEC = TikTokActor()
SINCE = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or HANDLES)


def row(item_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(raw for raw in ROWS if raw.get("id") == item_id))


def item(out: ParsedOutput, handle: str, item_id: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"] == f"tiktok:{item_id}")


def test_one_run_asks_for_the_latest_videos_of_every_profile() -> None:
    assert SPEC.build_input(HANDLES, 10) == {
        "profiles": ["lunacafe.berlin", "panaderia.sol"],
        "resultsPerPage": 13,
        "profileScrapeSections": ["videos"],
        "profileSorting": "latest",
        "excludePinnedPosts": False,
        "shouldDownloadVideos": False,
        "shouldDownloadCovers": False,
        "shouldDownloadSubtitles": False,
        "shouldDownloadSlideshowImages": False,
    }


def test_a_fill_asks_for_three_more_than_it_keeps_so_pinned_videos_take_no_slot() -> None:
    assert SPEC.max_items(HANDLES, 10) == 26


def test_incremental_run_asks_only_for_videos_since() -> None:
    assert SPEC.build_input(HANDLES, 10, SINCE)["oldestPostDateUnified"] == "2026-11-20T08:30:00Z"


@pytest.mark.parametrize("given", ["@LunaCafe.Berlin", "lunacafe.berlin", "https://www.tiktok.com/@lunacafe.berlin"])
def test_rows_are_attributed_by_the_echoed_input(given: str) -> None:
    raw = row("7450000000000000004")
    raw["input"] = given
    assert [entry["id"] for entry in parse([raw]).handles["lunacafe.berlin"].items] == ["tiktok:7450000000000000004"]


def test_row_without_input_falls_back_to_author_name() -> None:
    raw = row("7450000000000000004")
    del raw["input"]
    assert parse([raw]).handles["panaderia.sol"].items[0]["id"] == "tiktok:7450000000000000004"


def test_video_reads_counts_time_cover_and_author() -> None:
    video = item(parse(), "panaderia.sol", "7450000000000000004")
    assert {key: video[key] for key in ("type", "url", "published_at", "likes", "comments", "views", "shares")} == {
        "type": "video",
        "url": "https://www.tiktok.com/@panaderia.sol/video/7450000000000000004",
        "published_at": "2026-09-13T18:20:00Z",
        "likes": 5120,
        "comments": 87,
        "views": 88120,
        "shares": 210,
    }
    assert (video["image"].startswith("https://p16-sign-va.tiktokcdn.com/"), video["author"]["name"]) == (
        True,
        "Panadería Sol",
    )


def test_video_without_downloads_has_no_media_file() -> None:
    assert item(parse(), "lunacafe.berlin", "7450000000000000001")["media"] == []


def test_slideshow_is_a_carousel_of_its_images() -> None:
    slides = item(parse(), "lunacafe.berlin", "7450000000000000003")
    assert (slides["type"], [(m["type"], m["width"]) for m in slides["media"]]) == (
        "carousel",
        [("image", None), ("image", None)],
    )


def test_empty_caption_is_unknown() -> None:
    assert item(parse(), "lunacafe.berlin", "7450000000000000003")["text"] is None


def test_profile_reads_nickname_avatar_and_fans() -> None:
    profile = parse().handles["panaderia.sol"].profile
    assert (profile["name"], profile["followers"], profile["url"]) == (
        "Panadería Sol",
        15800,
        "https://www.tiktok.com/@panaderia.sol",
    )
    assert profile["avatar_url"].startswith("https://p16-common-sign-va.tiktokcdn-us.com/")


def test_unix_time_is_used_when_iso_time_is_missing() -> None:
    raw = row("7450000000000000005")
    del raw["createTimeISO"]
    assert item(parse([raw]), "panaderia.sol", "7450000000000000005")["published_at"] == "2026-09-11T12:00:00Z"


def test_script_in_caption_stays_plain_text() -> None:
    assert (
        item(parse(), "lunacafe.berlin", "7450000000000000002")["text"] == "Latte-Art Fail 😂 <script>alert(1)</script>"
    )


def test_javascript_urls_are_dropped() -> None:
    raw = row("7450000000000000005")
    raw["webVideoUrl"] = "javascript:alert(1)"
    raw["authorMeta"]["avatar"] = "data:image/svg+xml,<svg onload=alert(1)>"
    raw["authorMeta"]["originalAvatarUrl"] = None
    video = item(parse([raw]), "panaderia.sol", "7450000000000000005")
    assert (video["url"], video["author"]["avatar_url"]) == (None, None)


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("7450000000000000005")
    raw.update(diggCount="980", authorMeta=["not", "a", "dict"], videoMeta="x", slideshowImageLinks={"a": 1})
    video = item(parse([raw]), "panaderia.sol", "7450000000000000005")
    assert (video["likes"], video["image"], video["author"]["handle"]) == (980, None, None)


def test_items_are_newest_first_even_with_a_pinned_video() -> None:
    dates = [entry["published_at"] for entry in parse().handles["lunacafe.berlin"].items]
    assert dates == sorted(dates, reverse=True)


def test_handle_with_no_videos_is_an_error() -> None:
    assert parse(handles=["lunacafe.berlin", "nobody.here"]).handles["nobody.here"].error == "no items returned"
