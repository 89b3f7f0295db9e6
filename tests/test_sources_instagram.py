"""Instagram: `apify/instagram-scraper` input and output, driven by the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.instagram import InstagramActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "instagram.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
HANDLES = ["lunacafe.berlin", "panaderia.sol", "closed.kiosk.example"]
SPEC = InstagramActor()
SINCE = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or HANDLES)


def row(item_id: str) -> dict[str, Any]:
    """A private copy of one sample row, to vary."""
    return copy.deepcopy(next(raw for raw in ROWS if raw.get("id") == item_id))


def item(out: ParsedOutput, handle: str, item_id: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"] == f"instagram:{item_id}")


def test_one_run_asks_for_every_profile_url() -> None:
    assert SPEC.build_input(["lunacafe.berlin", "panaderia.sol"], 12) == {
        "directUrls": ["https://www.instagram.com/lunacafe.berlin/", "https://www.instagram.com/panaderia.sol/"],
        "resultsType": "posts",
        "resultsLimit": 15,
        "addParentData": False,
    }


def test_a_fill_asks_for_three_more_than_it_keeps_so_pinned_posts_take_no_slot() -> None:
    assert (SPEC.per_handle(12), SPEC.max_items(["lunacafe.berlin", "panaderia.sol"], 12)) == (15, 30)


def test_incremental_run_asks_only_for_posts_newer_than_since() -> None:
    assert SPEC.build_input(["lunacafe.berlin"], 12, SINCE)["onlyPostsNewerThan"] == "2026-11-20T08:30:00Z"


def test_run_charge_cap_is_its_item_cap_at_the_published_price_above_apifys_floor() -> None:
    assert SPEC.max_charge_usd(["a"] * 25, 24) == pytest.approx(25 * 27 * 0.0027)
    assert SPEC.max_charge_usd(["a"], 24) == 0.5


def test_old_pinned_post_sorts_after_newer_posts() -> None:
    pinned, newer = row("3931000000000000005"), row("3931000000000000006")
    pinned.update(isPinned=True, timestamp="2024-01-01T00:00:00.000Z")
    items = parse([pinned, newer]).handles["panaderia.sol"].items
    assert [entry["id"] for entry in items] == ["instagram:3931000000000000006", "instagram:3931000000000000005"]


def test_collab_post_is_attributed_to_input_url_not_owner() -> None:
    out = parse(handles=["lunacafe.berlin", "kreuzberg.brunchclub"])
    collab = item(out, "lunacafe.berlin", "3931000000000000004")
    assert (collab["author"]["handle"], out.handles["kreuzberg.brunchclub"].items) == ("kreuzberg.brunchclub", [])


def test_row_without_input_url_falls_back_to_owner() -> None:
    raw = row("3931000000000000005")
    del raw["inputUrl"]
    assert [entry["id"] for entry in parse([raw]).handles["panaderia.sol"].items] == ["instagram:3931000000000000005"]


def test_profile_comes_from_own_posts_not_collab_owner() -> None:
    profile = parse([row("3931000000000000004"), row("3931000000000000003")]).handles["lunacafe.berlin"].profile
    assert (profile["name"], profile["url"], profile["avatar_url"]) == (
        "Luna Café Berlin",
        "https://www.instagram.com/lunacafe.berlin/",
        None,
    )


def test_error_row_is_skipped_counted_and_recorded_as_the_handles_error() -> None:
    out = parse()
    assert (out.skipped, out.handles["closed.kiosk.example"].error) == (
        1,
        "no_items: Empty or private data for provided input",
    )


def test_sidecar_is_a_carousel_of_its_children() -> None:
    post = item(parse(), "lunacafe.berlin", "3931000000000000001")
    assert (post["type"], [(m["type"], m["width"], m["height"]) for m in post["media"]]) == (
        "carousel",
        [("image", 1080, 1350), ("video", 1080, 1920)],
    )


def test_video_has_its_file_in_media_and_its_poster_as_image() -> None:
    raw = row("3931000000000000002")
    post = item(parse([raw]), "lunacafe.berlin", "3931000000000000002")
    assert (post["type"], post["media"][0]["url"], post["image"]) == ("video", raw["videoUrl"], raw["displayUrl"])


def test_reel_views_are_plays() -> None:
    assert item(parse(), "lunacafe.berlin", "3931000000000000002")["views"] == 23874


def test_image_post_reads_caption_counts_time_and_author() -> None:
    post = item(parse(), "panaderia.sol", "3931000000000000005")
    assert {key: post[key] for key in ("type", "url", "text", "published_at", "likes", "comments", "author")} == {
        "type": "image",
        "url": "https://www.instagram.com/p/DaSolI05/",
        "text": 'Nuevo "pan de masa madre" & croissants de mantequilla 🥖🥐 — ¡pruébalos! Tom & Jerry\'s favorito <3',
        "published_at": "2026-09-13T18:20:00Z",
        "likes": 540,
        "comments": 22,
        "author": {
            "name": "Panadería Sol · Madrid",
            "handle": "panaderia.sol",
            "avatar_url": None,
            "url": "https://www.instagram.com/panaderia.sol/",
        },
    }


def test_script_in_caption_stays_plain_text() -> None:
    assert item(parse(), "lunacafe.berlin", "3931000000000000003")["text"] == (
        "Test-Post <script>alert(1)</script> – bitte ignorieren 🙈"
    )


def test_javascript_image_url_is_dropped() -> None:
    raw = row("3931000000000000003")
    raw["displayUrl"] = "javascript:alert(1)"
    post = item(parse([raw]), "lunacafe.berlin", "3931000000000000003")
    assert (post["image"], post["media"]) == (None, [])


def test_long_caption_is_kept_whole() -> None:
    raw = row("3931000000000000003")
    raw["caption"] = "☕" * 5000
    assert item(parse([raw]), "lunacafe.berlin", "3931000000000000003")["text"] == "☕" * 5000


def test_absent_caption_and_hidden_likes_are_unknown() -> None:
    post = item(parse(), "panaderia.sol", "3931000000000000006")
    assert (post["text"], post["likes"], post["views"], post["comments"]) == (None, None, None, 0)


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("3931000000000000001")
    raw.update(likesCount="312", childPosts={"not": "a list"}, images="nope", timestamp=1789198262, ownerFullName=7)
    post = item(parse([raw]), "lunacafe.berlin", "3931000000000000001")
    assert (post["likes"], post["media"], post["published_at"], post["author"]["name"]) == (
        312,
        [],
        "2026-09-12T07:31:02Z",
        None,
    )


def test_items_are_newest_first() -> None:
    dates = [entry["published_at"] for entry in parse().handles["lunacafe.berlin"].items]
    assert dates == sorted(dates, reverse=True)
