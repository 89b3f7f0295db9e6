"""Facebook: `apify/facebook-posts-scraper` input and output, driven by the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.facebook import FacebookActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "facebook.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
HANDLES = ["lunacafe.berlin", "panaderia.sol"]
SPEC = FacebookActor()
SINCE = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or HANDLES)


def row(post_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(raw for raw in ROWS if raw.get("postId") == post_id))


def post(out: ParsedOutput, handle: str, post_id: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"] == f"facebook:{post_id}")


def test_one_run_asks_for_every_page() -> None:
    assert SPEC.build_input(HANDLES, 10) == {
        "startUrls": [
            {"url": "https://www.facebook.com/lunacafe.berlin"},
            {"url": "https://www.facebook.com/panaderia.sol"},
        ],
        "resultsLimit": 20,
        "captionText": False,
    }


def test_results_limit_allows_every_page_its_share_whether_it_counts_per_page_or_per_run() -> None:
    assert (SPEC.build_input(HANDLES, 10)["resultsLimit"], SPEC.max_items(HANDLES, 10)) == (20, 20)


def test_a_fill_runs_one_page_at_a_time_so_no_page_starves() -> None:
    assert SPEC.fill_batch_size == 1


def test_incremental_run_asks_only_for_posts_newer_than_since() -> None:
    assert SPEC.build_input(HANDLES, 10, SINCE)["onlyPostsNewerThan"] == "2026-11-20T08:30:00Z"


def test_error_row_with_only_url_is_the_pages_error() -> None:
    error = {"url": "https://www.facebook.com/panaderia.sol", "error": "not_found", "errorDescription": "Page gone"}
    out = parse([error])
    assert (out.handles["panaderia.sol"].error, out.handles["panaderia.sol"].rows) == ("not_found: Page gone", 1)


def test_id_page_is_fetched_at_its_p_url_and_its_handle_is_not_p() -> None:
    handle = "Luna-Cafe-100063123456789"
    raw = row("1400000000000003")
    raw.update(inputUrl=f"https://www.facebook.com/p/{handle}/", facebookUrl=f"https://www.facebook.com/p/{handle}/",
               pageName="p")
    out = parse([raw], [handle])
    assert SPEC.profile_url(handle) == f"https://www.facebook.com/p/{handle}/"
    assert out.handles[handle].items[0]["author"]["handle"] == handle


def test_picture_in_image_instead_of_photo_image_is_a_photo() -> None:
    raw = row("1400000000000004")
    (entry,) = raw["media"]
    entry["image"] = entry.pop("photo_image")
    media = parse([raw]).handles["lunacafe.berlin"].items[0]["media"]
    assert [(m["url"], m["width"]) for m in media] == [(entry["image"]["uri"], entry["image"]["width"])]


def test_untyped_entries_do_not_make_a_one_photo_post_a_carousel() -> None:
    raw = row("1400000000000004")
    photo = raw["media"][0]
    raw["media"] += [{"url": "https://www.facebook.com/some/link"}, {**photo, "__typename": None}]
    item = parse([raw]).handles["lunacafe.berlin"].items[0]
    assert (item["type"], len(item["media"])) == ("image", 1)


def test_posts_are_attributed_by_input_url() -> None:
    out = parse()
    assert ([len(out.handles[h].items) for h in HANDLES], out.skipped) == ([4, 3], 0)


def test_row_without_input_url_falls_back_to_facebook_url() -> None:
    raw = row("1400000000000005")
    del raw["inputUrl"]
    assert parse([raw]).handles["panaderia.sol"].items[0]["id"] == "facebook:1400000000000005"


def test_two_photo_post_is_a_carousel_with_sizes_and_alt() -> None:
    item = post(parse(), "lunacafe.berlin", "1400000000000001")
    assert (item["type"], [(m["type"], m["width"], m["height"], m["alt"]) for m in item["media"]]) == (
        "carousel",
        [("image", 960, 720, "May be an image of coffee"), ("image", 960, 720, "May be an image of pastry")],
    )


def test_reel_without_media_is_a_video_without_image() -> None:
    item = post(parse(), "lunacafe.berlin", "1400000000000002")
    assert (item["type"], item["media"], item["image"], item["views"]) == ("video", [], None, 12044)


def test_video_post_shows_its_thumbnail() -> None:
    item = post(parse(), "panaderia.sol", "1400000000000007")
    assert (item["type"], item["media"], item["image"].startswith("https://scontent-fra5-1.xx.fbcdn.net/")) == (
        "video",
        [],
        True,
    )


def test_post_without_text_has_null_text() -> None:
    item = post(parse(), "lunacafe.berlin", "1400000000000004")
    assert (item["type"], item["text"]) == ("image", None)


def test_absent_comments_key_is_unknown_not_zero() -> None:
    item = post(parse(), "lunacafe.berlin", "1400000000000003")
    assert (item["comments"], item["shares"], item["type"]) == (None, 0, "text")


def test_post_reads_counts_time_and_page_as_author() -> None:
    item = post(parse(), "panaderia.sol", "1400000000000005")
    assert (item["likes"], item["comments"], item["shares"], item["published_at"], item["author"]["name"]) == (
        410,
        38,
        21,
        "2026-09-13T18:20:00Z",
        "Panadería Sol",
    )


def test_unix_timestamp_is_used_when_time_is_missing() -> None:
    raw = row("1400000000000006")
    del raw["time"]
    assert post(parse([raw]), "panaderia.sol", "1400000000000006")["published_at"] == "2026-09-11T12:00:00Z"


def test_profile_reads_page_name_and_picture() -> None:
    profile = parse().handles["lunacafe.berlin"].profile
    assert (
        profile["name"],
        profile["url"],
        profile["avatar_url"].startswith("https://scontent-fra5-1.xx.fbcdn.net/"),
    ) == (
        "Luna Café Berlin",
        "https://www.facebook.com/lunacafe.berlin",
        True,
    )


def test_script_in_post_stays_plain_text() -> None:
    assert post(parse(), "lunacafe.berlin", "1400000000000003")["text"] == (
        "Achtung <script>alert(1)</script> – heute ab 15 Uhr geschlossen (Privatveranstaltung)."
    )


def test_javascript_photo_url_is_dropped() -> None:
    raw = row("1400000000000004")
    raw["media"][0]["photo_image"]["uri"] = "javascript:alert(1)"
    raw["media"][0]["thumbnail"] = "data:text/html,<script>alert(1)</script>"
    item = post(parse([raw]), "lunacafe.berlin", "1400000000000004")
    assert (item["media"], item["image"]) == ([], None)


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("1400000000000005")
    raw.update(likes="410", media={"not": "a list"}, user="Panadería Sol", text=12)
    item = post(parse([raw]), "panaderia.sol", "1400000000000005")
    assert (item["likes"], item["media"], item["author"]["name"], item["text"]) == (410, [], None, None)


def test_posts_are_newest_first() -> None:
    dates = [entry["published_at"] for entry in parse().handles["lunacafe.berlin"].items]
    assert dates == sorted(dates, reverse=True)
