"""YouTube: `streamers/youtube-scraper` input and output, driven by the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.youtube import YouTubeActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "youtube.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
HANDLES = ["lunacafeberlin", "panaderiasol"]
SPEC = YouTubeActor()


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or HANDLES)


def row(item_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(raw for raw in ROWS if raw.get("id") == item_id))


def video(out: ParsedOutput, handle: str, item_id: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"] == f"youtube:{item_id}")


def test_one_run_asks_for_the_newest_videos_and_shorts_of_every_channel() -> None:
    assert SPEC.build_input(HANDLES, 10) == {
        "startUrls": [
            {"url": "https://www.youtube.com/@lunacafeberlin/videos"},
            {"url": "https://www.youtube.com/@lunacafeberlin/shorts"},
            {"url": "https://www.youtube.com/@panaderiasol/videos"},
            {"url": "https://www.youtube.com/@panaderiasol/shorts"},
        ],
        "maxResults": 10,
        "maxResultStreams": 0,
        "sortVideosBy": "NEWEST",
        "downloadSubtitles": False,
    }


def test_cost_cap_covers_videos_and_shorts_of_every_channel() -> None:
    assert SPEC.max_items(HANDLES, 10) == 40


def test_incremental_run_without_a_date_filter_reads_two_rows_per_tab() -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    assert (SPEC.build_input(HANDLES, 10, since)["maxResults"], SPEC.max_items(HANDLES, 10, since)) == (2, 8)


@pytest.mark.parametrize("key", ["input", "fromYTUrl", "channelUrl", "channelUsername"])
def test_rows_are_attributed_by_any_field_naming_the_channel(key: str) -> None:
    raw = {"id": "FaKeLuNa001", key: "https://www.youtube.com/@LunaCafeBerlin/videos"}
    if key == "channelUsername":
        raw[key] = "LunaCafeBerlin"
    assert [entry["id"] for entry in parse([raw]).handles["lunacafeberlin"].items] == ["youtube:FaKeLuNa001"]


def test_channel_id_url_does_not_pass_for_a_handle() -> None:
    out = parse([{"id": "x", "input": "https://www.youtube.com/channel/lunacafeberlin"}])
    assert out.skipped == 1


def test_video_reads_title_description_counts_and_thumbnail() -> None:
    item = video(parse(), "lunacafeberlin", "FaKeLuNa001")
    assert {key: item[key] for key in ("type", "title", "url", "image", "media", "likes", "comments", "views")} == {
        "type": "video",
        "title": "Kürbis-Latte Rezept 🎃☕ | Luna Café Berlin",
        "url": "https://www.youtube.com/watch?v=FaKeLuNa001",
        "image": "https://i.ytimg.com/vi/FaKeLuNa001/maxresdefault.jpg",
        "media": [],
        "likes": 230,
        "comments": 18,
        "views": 4120,
    }


def test_short_is_a_video() -> None:
    assert video(parse(), "lunacafeberlin", "FaKeLuNa002")["type"] == "video"


def test_hidden_likes_and_disabled_comments_are_unknown() -> None:
    item = video(parse(), "panaderiasol", "FaKeSoL0005")
    assert (item["likes"], item["comments"]) == (None, None)


def test_null_description_is_unknown() -> None:
    assert video(parse(), "lunacafeberlin", "FaKeLuNa003")["text"] is None


def test_script_in_title_stays_plain_text() -> None:
    assert video(parse(), "lunacafeberlin", "FaKeLuNa003")["title"] == "Test <script>alert(1)</script> Upload"


def test_profile_reads_channel_and_subscribers() -> None:
    assert parse().handles["panaderiasol"].profile == {
        "name": "Panadería Sol",
        "handle": "panaderiasol",
        "url": "https://www.youtube.com/@panaderiasol",
        "avatar_url": None,
        "followers": 23400,
        "rating": None,
        "review_count": None,
    }


@pytest.mark.parametrize(("text", "published"), [
    ("3 days ago", "2026-09-12T10:00:00Z"),
    ("Streamed 2 weeks ago", "2026-09-01T10:00:00Z"),
    ("a month ago", "2026-08-16T10:00:00Z"),
    ("10 months ago", "2025-11-19T10:00:00Z"),
])
def test_relative_date_is_dated_back_from_the_runs_end(text: str, published: str) -> None:
    old = row("FaKeSoL0006")
    old["date"] = text
    out = SPEC.parse([old], HANDLES, now=datetime(2026, 9, 15, 10, 0, tzinfo=UTC))
    assert out.handles["panaderiasol"].items[0]["published_at"] == published


def test_unreadable_date_is_kept_undated_and_sorted_last() -> None:
    old = row("FaKeSoL0006")
    old["date"] = "sometime"
    rows = [old, row("FaKeSoL0005"), row("FaKeSoL0004")]
    items = parse(rows).handles["panaderiasol"].items
    assert [(entry["id"], entry["published_at"]) for entry in items] == [
        ("youtube:FaKeSoL0004", "2026-09-13T18:20:00Z"),
        ("youtube:FaKeSoL0005", "2026-09-11T12:00:00Z"),
        ("youtube:FaKeSoL0006", None),
    ]


def test_javascript_thumbnail_is_dropped() -> None:
    raw = row("FaKeSoL0004")
    raw["thumbnailUrl"] = "javascript:alert(1)"
    assert video(parse([raw]), "panaderiasol", "FaKeSoL0004")["image"] is None


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("FaKeSoL0004")
    raw.update(viewCount="56,000", numberOfSubscribers="23.4K", title=["x"], date=1789323600)
    out = parse([raw])
    item = video(out, "panaderiasol", "FaKeSoL0004")
    assert (item["views"], item["title"], item["published_at"], out.handles["panaderiasol"].profile["followers"]) == (
        56000,
        None,
        "2026-09-13T18:20:00Z",
        23400,
    )


def test_videos_are_newest_first_old_upload_last() -> None:
    dates = [entry["published_at"] for entry in parse().handles["panaderiasol"].items]
    assert dates == ["2026-09-13T18:20:00Z", "2026-09-11T12:00:00Z", "2019-05-04T09:00:00Z"]
