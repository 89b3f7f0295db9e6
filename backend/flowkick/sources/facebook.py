"""Facebook page posts from `apify/facebook-posts-scraper`.

Rows are attributed by `inputUrl` (the page URL we asked for), then `facebookUrl`.
Media-only posts have no `text`; reels may have no `media` at all; a missing `comments`
key means unknown, not zero. Video files are not in the output: a video item carries
its thumbnail as `image` and only its photos (if any) in `media`.
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
    as_list,
    as_text,
    first_time,
    first_url,
    media_entry,
    new_item,
    path_handle,
    profile_fields,
    require_batch,
)

_VIDEO_PATHS = ("/reel/", "/videos/")


class FacebookActor(ActorSpec):
    platform = "facebook"
    default_actor_id = "apify/facebook-posts-scraper"

    def build_input(self, handles: list[str], limit: int) -> dict[str, Any]:
        require_batch(handles, limit)
        return {
            "startUrls": [{"url": self.profile_url(handle)} for handle in handles],
            "resultsLimit": limit,
            "captionText": False,
        }

    def profile_url(self, handle: str) -> str:
        return f"https://www.facebook.com/{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (path_handle(raw.get("inputUrl")), path_handle(raw.get("facebookUrl")))

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("postId"))
        if native_id is None:
            return None
        attachments = [as_dict(entry) for entry in as_list(raw.get("media"))]
        photos = [_photo(entry) for entry in attachments if entry.get("__typename") != "Video"]
        user = as_dict(raw.get("user"))
        return new_item(
            self.platform,
            native_id,
            _kind(raw, attachments, len(photos)),
            url=first_url(raw.get("url"), raw.get("topLevelUrl")),
            text=raw.get("text"),
            image=first_url(*(entry.get("thumbnail") for entry in attachments)),
            media=photos,
            published_at=first_time(raw.get("time"), raw.get("timestamp")),
            author=account(
                name=user.get("name"),
                handle=raw.get("pageName"),
                avatar_url=user.get("profilePic"),
                url=user.get("profileUrl"),
            ),
            likes=raw.get("likes"),
            comments=raw.get("comments"),
            views=raw.get("viewsCount"),
            shares=raw.get("shares"),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        user = as_dict(raw.get("user"))
        return profile_fields(name=user.get("name"), avatar_url=user.get("profilePic"))


def _kind(raw: dict[str, Any], attachments: list[dict[str, Any]], photos: int) -> str:
    url = as_text(raw.get("url")) or ""
    is_video = (
        raw.get("isVideo") is True
        or any(entry.get("__typename") == "Video" for entry in attachments)
        or any(path in url for path in _VIDEO_PATHS)
    )
    if is_video:
        return "video"
    return {0: "text", 1: "image"}.get(photos, "carousel")


def _photo(entry: dict[str, Any]) -> dict[str, Any] | None:
    image = as_dict(entry.get("photo_image"))
    return media_entry(
        "image",
        first_url(image.get("uri"), entry.get("thumbnail")),
        image.get("width"),
        image.get("height"),
        entry.get("ocrText"),
    )
