"""Google Maps reviews from `compass/google-maps-reviews-scraper`.

The handle is a Google place id (case-sensitive). The actor answers one row per review
with the place's fields repeated on each, so the profile (name, average rating, review
count) comes from the same rows. Rating-only reviews have no text: `text` stays null.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import (
    ActorSpec,
    account,
    as_id,
    as_list,
    as_rating,
    as_text,
    first,
    media_entry,
    new_item,
    parse_time,
    profile_fields,
    require_batch,
)


class GoogleReviewsActor(ActorSpec):
    platform = "google_reviews"
    default_actor_id = "compass/google-maps-reviews-scraper"

    def build_input(self, handles: list[str], limit: int) -> dict[str, Any]:
        require_batch(handles, limit)
        return {
            "placeIds": list(handles),
            "maxReviews": limit,
            "reviewsSort": "newest",
            "language": "en",
            "reviewsOrigin": "all",
            "personalData": True,
        }

    def profile_url(self, handle: str) -> str:
        return f"https://www.google.com/maps/place/?q=place_id:{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (raw.get("placeId"),)

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("reviewId"))
        if native_id is None:
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


def _owner_reply(raw: dict[str, Any]) -> dict[str, Any] | None:
    text = as_text(raw.get("responseFromOwnerText"))
    if text is None:
        return None
    return {"text": text, "published_at": parse_time(raw.get("responseFromOwnerDate"))}
