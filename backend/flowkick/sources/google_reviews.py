"""Google Maps reviews from `compass/google-maps-reviews-scraper`.

The handle is a Google place id (case-sensitive). The actor answers one row per review
with the place's fields repeated on each, so the profile (name, average rating, review
count) comes from the same rows. Rating-only reviews have no text: `text` stays null.

`reviewsOrigin: "google"`: the actor's docs say "all" mixes in third-party sites' reviews
(and returns fewer Google ones). Google can change a place's id, so a row is matched by
`placeId`, then by the place id in its `url`, then by `cid` / `fid` (a client may track a
place by those); rows no handle claims go to the one place of the run left without
reviews when that is unambiguous. An incremental run passes `reviewsStartDate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import ActorSpec, account, media_entry, new_item, profile_fields, require_batch
from flowkick.sources.readers import as_id, as_list, as_rating, as_text, first, parse_time, safe_url, since_text

_PLACE_MARKER = "place_id:"


class GoogleReviewsActor(ActorSpec):
    platform = "google_reviews"
    default_actor_id = "compass/google-maps-reviews-scraper"
    price_per_result_usd = 0.0005

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        run_input: dict[str, Any] = {
            "placeIds": list(handles),
            "maxReviews": limit,
            "reviewsSort": "newest",
            "language": "en",
            "reviewsOrigin": "google",
            "personalData": True,
        }
        if since is not None:
            run_input["reviewsStartDate"] = since_text(since)
        return run_input

    def profile_url(self, handle: str) -> str:
        return f"https://www.google.com/maps/place/?q=place_id:{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (raw.get("placeId"), _url_place_id(raw.get("url")), raw.get("cid"), raw.get("fid"))

    def adopt(self, unmatched: list[dict[str, Any]], starving: list[str]) -> dict[int, str]:
        """Rows of one unknown place go to the one place of the run that got no reviews
        (its id changed); with several of either, nothing can be told apart."""
        places = {_place_key(raw) for raw in unmatched}
        if len(starving) != 1 or len(places) != 1 or None in places:
            return {}
        return dict.fromkeys(range(len(unmatched)), starving[0])

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        """A review, or None for a row without id or one from another site than Google."""
        native_id = as_id(raw.get("reviewId"))
        if native_id is None or as_text(raw.get("reviewOrigin")) not in (None, "Google"):
            return None
        return new_item(
            self.platform,
            native_id,
            "review",
            url=raw.get("reviewUrl"),
            text=raw.get("text"),
            media=[media_entry("image", url) for url in as_list(raw.get("reviewImageUrls"))],
            published_at=raw.get("publishedAtDate"),
            author=account(name=raw.get("name"), avatar_url=raw.get("reviewerPhotoUrl"), url=raw.get("reviewerUrl")),
            likes=raw.get("likesCount"),
            rating=first(as_rating(raw.get("stars")), as_rating(raw.get("rating"))),
            reply=_owner_reply(raw),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        return profile_fields(
            name=raw.get("title"),
            url=raw.get("url"),
            avatar_url=raw.get("imageUrl"),
            rating=raw.get("totalScore"),
            review_count=raw.get("reviewsCount"),
        )


def _url_place_id(value: object) -> str | None:
    """The place id in a '...maps/place/?q=place_id:ChIJ...' URL."""
    url = safe_url(value)
    if url is None or _PLACE_MARKER not in url:
        return None
    return unquote(url.split(_PLACE_MARKER, 1)[1]).split("&", 1)[0] or None


def _place_key(raw: dict[str, Any]) -> str | None:
    return first(as_id(raw.get("placeId")), as_id(raw.get("cid")), as_id(raw.get("fid")))


def _owner_reply(raw: dict[str, Any]) -> dict[str, Any] | None:
    text = as_text(raw.get("responseFromOwnerText"))
    if text is None:
        return None
    return {"text": text, "published_at": parse_time(raw.get("responseFromOwnerDate"))}
