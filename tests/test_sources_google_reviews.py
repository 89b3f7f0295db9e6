"""Google reviews: `compass/google-maps-reviews-scraper` input and output, from the shared sample."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from flowkick.sources.actor_output import ParsedOutput
from flowkick.sources.google_reviews import GoogleReviewsActor
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "google_reviews.json"
ROWS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
LUNA, SOL = "ChIJFAKElunaCafe000001", "ChIJFAKEpanaderiaSol002"
SPEC = GoogleReviewsActor()
SINCE = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def parse(rows: list[Any] | None = None, handles: list[str] | None = None) -> ParsedOutput:
    return SPEC.parse(ROWS if rows is None else rows, handles or [LUNA, SOL])


def row(suffix: str) -> dict[str, Any]:
    """A private copy of the sample review whose id ends with `suffix`."""
    return copy.deepcopy(next(raw for raw in ROWS if raw["reviewId"].endswith(suffix)))


def review(out: ParsedOutput, handle: str, suffix: str) -> dict[str, Any]:
    return next(entry for entry in out.handles[handle].items if entry["id"].endswith(suffix))


def test_one_run_asks_for_the_newest_reviews_of_every_place() -> None:
    assert SPEC.build_input([LUNA, SOL], 20) == {
        "placeIds": [LUNA, SOL],
        "maxReviews": 20,
        "reviewsSort": "newest",
        "language": "en",
        "reviewsOrigin": "google",
        "personalData": True,
    }


def test_incremental_run_asks_only_for_reviews_since() -> None:
    assert SPEC.build_input([LUNA], 20, SINCE)["reviewsStartDate"] == "2026-11-20T08:30:00Z"


def moved(raw: dict[str, Any], new_id: str) -> dict[str, Any]:
    """A row of a place whose Google place id changed since we tracked it."""
    return {**raw, "placeId": new_id, "url": f"https://www.google.com/maps/place/?q=place_id:{new_id}"}


def test_row_is_matched_by_cid_when_the_handle_is_a_cid() -> None:
    raw = next(r for r in ROWS if r.get("placeId") == SOL)
    out = SPEC.parse([moved(raw, "ChIJNewId")], [raw["cid"]])
    assert len(out.handles[raw["cid"]].items) == 1


def test_rows_of_a_changed_place_id_go_to_the_one_place_left_without_reviews() -> None:
    rows = [moved(r, "ChIJNewSolId") if r.get("placeId") == SOL else r for r in ROWS]
    out = SPEC.parse(rows, [LUNA, SOL])
    assert (len(out.handles[LUNA].items), len(out.handles[SOL].items), out.skipped) == (4, 3, 0)


def test_rows_of_unknown_places_are_not_guessed_when_two_places_starve() -> None:
    rows = [moved(r, "ChIJNewSolId") for r in ROWS if r.get("placeId") == SOL]
    out = SPEC.parse(rows, [LUNA, SOL])
    assert (out.handles[LUNA].items, out.handles[SOL].items, out.skipped) == ([], [], len(rows))


def test_cost_cap_is_limit_per_place() -> None:
    assert SPEC.max_items([LUNA, SOL], 20) == 40


def test_reviews_are_attributed_by_place_id() -> None:
    out = parse()
    assert (len(out.handles[LUNA].items), len(out.handles[SOL].items)) == (4, 3)


def test_place_id_attribution_is_case_sensitive() -> None:
    out = parse(handles=[LUNA.lower()])
    assert (out.handles[LUNA.lower()].error, out.skipped) == ("no items returned", len(ROWS))


def test_profile_is_the_place_with_its_average_and_count() -> None:
    assert parse().handles[SOL].profile == {
        "name": "Panadería Sol",
        "handle": SOL,
        "url": f"https://www.google.com/maps/place/?q=place_id:{SOL}",
        "avatar_url": "https://lh3.googleusercontent.com/p/AF1QipFAKEsol0002=w408-h306-k-no",
        "followers": None,
        "rating": 4.8,
        "review_count": 1203,
    }


def test_review_reads_stars_text_time_reviewer_and_owner_reply() -> None:
    item = review(parse(), LUNA, "1EAE")
    assert {key: item[key] for key in ("type", "rating", "text", "published_at", "likes", "reply", "author")} == {
        "type": "review",
        "rating": 5,
        "text": "Bester Flat White in Kreuzberg! ☕ Freundliches Team, schnelles WLAN.",
        "published_at": "2026-09-12T09:14:22Z",
        "likes": 2,
        "reply": {"text": "Danke Jonas, bis bald! 💛", "published_at": "2026-09-12T15:02:00Z"},
        "author": {
            "name": "Jonas Beispiel",
            "handle": None,
            "avatar_url": "https://lh3.googleusercontent.com/a-/ALV-UjFAKEreviewer1xxxxxxxx=s120-c-rp-mo-br100",
            "url": "https://www.google.com/maps/contrib/100000000000000000001?hl=en",
        },
    }


def test_rating_only_review_has_null_text_and_no_reply() -> None:
    item = review(parse(), LUNA, "2EAE")
    assert (item["text"], item["rating"], item["reply"]) == (None, 2, None)


def test_review_photos_become_media_and_image() -> None:
    item = review(parse(), LUNA, "3EAE")
    assert (len(item["media"]), item["image"]) == (
        2,
        "https://lh3.googleusercontent.com/geougc-cs/AMBA38FAKEimage0003a",
    )


def test_script_in_review_and_reviewer_name_stays_plain_text() -> None:
    item = review(parse(), LUNA, "3EAE")
    assert (item["text"], item["author"]["name"]) == (
        "Great cake <script>alert(1)</script> but slow service",
        "Sam <script>alert(1)</script>",
    )


def test_javascript_reviewer_url_is_dropped() -> None:
    raw = row("1EAE")
    raw["reviewerUrl"] = "javascript:alert(document.cookie)"
    assert review(parse([raw]), LUNA, "1EAE")["author"]["url"] is None


def test_out_of_range_stars_are_unknown() -> None:
    raw = row("1EAE")
    raw["stars"] = 11
    assert review(parse([raw]), LUNA, "1EAE")["rating"] is None


def test_missing_optional_fields_are_unknown() -> None:
    raw = {"reviewId": "bare", "placeId": LUNA}
    item = parse([raw]).handles[LUNA].items[0]
    assert (item["text"], item["rating"], item["published_at"], item["reply"], item["likes"]) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_wrong_types_are_read_or_ignored() -> None:
    raw = row("4EAE")
    raw.update(stars="4", reviewImageUrls="https://x.example/a.jpg", responseFromOwnerText=["hi"], totalScore="4.6")
    out = parse([raw])
    item = review(out, LUNA, "4EAE")
    assert (item["rating"], item["media"], item["reply"], out.handles[LUNA].profile["rating"]) == (4, [], None, 4.6)


def test_reviews_are_newest_first() -> None:
    dates = [entry["published_at"] for entry in parse().handles[SOL].items]
    assert dates == ["2026-09-13T08:05:12Z", "2026-09-11T14:22:09Z", "2026-08-31T09:00:00Z"]
