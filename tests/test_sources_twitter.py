"""X (Twitter): `apidojo/tweet-scraper` input and output, driven by the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.twitter import TwitterActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "twitter.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
HANDLES = ["lunacafeberlin", "panaderiasol"]
SPEC = TwitterActor()
SINCE = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or HANDLES)


def row(item_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(raw for raw in ROWS if raw.get("id") == item_id))


def tweet(out: ParsedOutput, handle: str, item_id: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"] == f"twitter:{item_id}")


def test_one_run_asks_one_search_per_handle_with_a_whole_run_cap() -> None:
    assert SPEC.build_input(HANDLES, 20) == {
        "searchTerms": [f"from:{handle}" for handle in HANDLES],
        "sort": "Latest",
        "maxItems": 100,
        "includeSearchTerms": True,
    }


def test_run_cap_is_never_below_the_actors_minimum_of_50_per_query() -> None:
    assert (SPEC.max_items(["a", "b", "c"], 15), SPEC.max_items(["a"], 60)) == (150, 60)


def test_incremental_run_starts_on_the_day_of_since() -> None:
    assert SPEC.build_input(HANDLES, 20, SINCE)["start"] == "2026-11-20"


def test_tweets_are_attributed_by_their_search_term_first() -> None:
    raw = copy.deepcopy(next(r for r in ROWS if r.get("id")))
    raw["searchTerm"] = "from:panaderiasol"
    assert len(parse([raw]).handles["panaderiasol"].items) == 1


def test_tweets_are_attributed_by_author_case_insensitively() -> None:
    out = parse()
    assert (
        [len(out.handles[h].items) for h in HANDLES],
        out.handles["lunacafeberlin"].items[0]["author"]["handle"],
    ) == (
        [3, 3],
        "LunaCafeBerlin",
    )


def test_no_results_placeholder_is_skipped_and_counted() -> None:
    assert parse().skipped == 1


def test_legacy_created_at_becomes_utc_iso() -> None:
    assert tweet(parse(), "panaderiasol", "1967000000000000004")["published_at"] == "2026-09-13T18:20:00Z"


def test_two_photo_tweet_is_a_carousel_with_sizes() -> None:
    item = tweet(parse(), "lunacafeberlin", "1967000000000000001")
    assert (item["type"], [(m["type"], m["width"], m["height"]) for m in item["media"]], item["image"]) == (
        "carousel",
        [("image", 1080, 1350), ("image", 1080, 1080)],
        "https://pbs.twimg.com/media/FaKeLuNaMeDiA01.jpg",
    )


def test_video_tweet_plays_the_best_mp4_over_its_poster() -> None:
    item = tweet(parse(), "lunacafeberlin", "1967000000000000002")
    assert (item["type"], item["media"][0]["url"], item["image"]) == (
        "video",
        "https://video.twimg.com/amplify_video/1967000000000000102/vid/avc1/720x1280/FaKe.mp4",
        "https://pbs.twimg.com/amplify_video_thumb/1967000000000000102/img/FaKeThumb02.jpg",
    )


def test_tweet_without_media_is_text() -> None:
    item = tweet(parse(), "panaderiasol", "1967000000000000004")
    assert (item["type"], item["media"], item["image"]) == ("text", [], None)


def test_counts_map_to_likes_replies_views_and_retweets() -> None:
    item = tweet(parse(), "panaderiasol", "1967000000000000004")
    assert (item["likes"], item["comments"], item["views"], item["shares"]) == (310, 6, 15200, 22)


def test_profile_reads_author_and_followers() -> None:
    profile = parse().handles["panaderiasol"].profile
    assert (profile["name"], profile["followers"], profile["url"]) == (
        "Panadería Sol 🥖",
        8900,
        "https://x.com/PanaderiaSol",
    )


def test_script_in_tweet_stays_plain_text() -> None:
    assert tweet(parse(), "lunacafeberlin", "1967000000000000003")["text"] == (
        "@kreuzberg_fan Danke! <script>alert(1)</script> 😅"
    )


def test_full_text_is_used_when_text_is_missing() -> None:
    raw = row("1967000000000000006")
    raw["fullText"] = raw.pop("text")
    assert tweet(parse([raw]), "panaderiasol", "1967000000000000006")["text"] == "¡Gracias! 🙏 Así empezamos cada día"


def test_javascript_media_url_is_dropped() -> None:
    raw = row("1967000000000000001")
    raw["extendedEntities"]["media"][0]["media_url_https"] = "javascript:alert(1)"
    item = tweet(parse([raw]), "lunacafeberlin", "1967000000000000001")
    assert [m["url"] for m in item["media"]] == ["https://pbs.twimg.com/media/FaKeLuNaMeDiA02.jpg"]


def test_missing_optional_fields_are_unknown() -> None:
    item = parse([{"id": "9", "author": {"userName": "PanaderiaSol"}}]).handles["panaderiasol"].items[0]
    assert (item["text"], item["url"], item["published_at"], item["likes"], item["views"]) == (None,) * 5


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("1967000000000000002")
    raw.update(likeCount="120", extendedEntities=["x"], createdAt={"date": "today"})
    item = tweet(parse([raw]), "lunacafeberlin", "1967000000000000002")
    assert (item["likes"], item["type"], item["published_at"]) == (120, "text", None)


def test_tweets_are_newest_first() -> None:
    ids = [entry["id"] for entry in parse().handles["panaderiasol"].items]
    assert ids == ["twitter:1967000000000000004", "twitter:1967000000000000005", "twitter:1967000000000000006"]
