"""X (Twitter) posts from `apidojo/tweet-scraper`.

The actor does not echo which handle a tweet was fetched for, so rows are attributed by
`author.userName` (case-insensitively); its `maxItems` is for the whole run, so the
input asks for `limit` tweets per handle in total. `{"noResults": true}` placeholder
rows are skipped. Media follow Twitter's legacy `extendedEntities` shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import (
    ActorSpec,
    account,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    first,
    first_url,
    get,
    media_entry,
    new_item,
    profile_fields,
    require_batch,
)

_VIDEO_TYPES = ("video", "animated_gif")


class TwitterActor(ActorSpec):
    platform = "twitter"
    default_actor_id = "apidojo/tweet-scraper"

    def build_input(self, handles: list[str], limit: int) -> dict[str, Any]:
        require_batch(handles, limit)
        return {"twitterHandles": list(handles), "maxItems": self.max_items(handles, limit), "sort": "Latest"}

    def profile_url(self, handle: str) -> str:
        return f"https://x.com/{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (get(raw, "author", "userName"),)

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("id"))
        if native_id is None:
            return None
        attachments = [as_dict(entry) for entry in _attachments(raw)]
        return new_item(
            self.platform,
            native_id,
            _kind(attachments),
            url=first_url(raw.get("url"), raw.get("twitterUrl")),
            text=first(as_text(raw.get("text")), as_text(raw.get("fullText"))),
            image=first_url(*(entry.get("media_url_https") for entry in attachments)),
            media=[_media(entry) for entry in attachments],
            published_at=raw.get("createdAt"),
            author=self._author(as_dict(raw.get("author"))),
            likes=raw.get("likeCount"),
            comments=raw.get("replyCount"),
            views=raw.get("viewCount"),
            shares=raw.get("retweetCount"),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        user = as_dict(raw.get("author"))
        return profile_fields(
            name=user.get("name"),
            url=user.get("url"),
            avatar_url=user.get("profilePicture"),
            followers=user.get("followers"),
        )

    def _author(self, user: dict[str, Any]) -> dict[str, Any]:
        name = user.get("userName")
        return account(
            name=user.get("name"),
            handle=name,
            avatar_url=user.get("profilePicture"),
            url=first_url(user.get("url")) or self.account_url(name),
        )


def _attachments(raw: dict[str, Any]) -> list[object]:
    return as_list(get(raw, "extendedEntities", "media")) or as_list(get(raw, "entities", "media"))


def _kind(attachments: list[dict[str, Any]]) -> str:
    if not attachments:
        return "text"
    if len(attachments) > 1:
        return "carousel"
    return "video" if attachments[0].get("type") in _VIDEO_TYPES else "image"


def _media(entry: dict[str, Any]) -> dict[str, Any] | None:
    size = get(entry, "original_info", "width"), get(entry, "original_info", "height")
    if entry.get("type") in _VIDEO_TYPES:
        return media_entry("video", _best_mp4(entry), *size)
    return media_entry("image", entry.get("media_url_https"), *size, entry.get("ext_alt_text"))


def _best_mp4(entry: dict[str, Any]) -> str | None:
    """The highest-bitrate MP4 variant (the others are HLS playlists or smaller files)."""
    variants = [as_dict(variant) for variant in as_list(get(entry, "video_info", "variants"))]
    mp4s = [variant for variant in variants if variant.get("content_type") == "video/mp4"]
    mp4s.sort(key=lambda variant: as_int(variant.get("bitrate")) or 0, reverse=True)
    return first_url(*(variant.get("url") for variant in mp4s))
