"""Facebook page posts from `apify/facebook-posts-scraper`.

Rows are attributed by `inputUrl` (the page URL we asked for), then `facebookUrl`, then
`url` (error rows carry only that). Pages without a vanity name live at
`/p/<Name>-<id>/`; their handle is that `<Name>-<id>` segment, and the actor's
`pageName` for them is a useless "p". Media-only posts have no `text`; reels may have no
`media` at all; a missing `comments` key means unknown, not zero. Video files are not in
the output: a video item carries its thumbnail as `image` and only its photos in `media`.

Media entries drift: the picture is in `photo_image` or `image` (`{uri, width, height}`),
and entries come without `__typename`; only an entry with a picture is a photo, and one
picture listed twice is one photo. Whether `resultsLimit` counts per page or per run is
not established, so a fill runs one page at a time and an incremental run (bounded by
`onlyPostsNewerThan`) allows `limit` per page for the whole run: no page can starve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import ActorSpec, account, media_entry, new_item, profile_fields, require_batch
from flowkick.sources.readers import as_dict, as_id, as_list, as_text, first_time, first_url, safe_url, since_text

_VIDEO_PATHS = ("/reel/", "/videos/")
_ID_PAGE = "p"  # facebook.com/p/<Name>-<id>/
_ID_PAGE_RE = re.compile(r".+-\d{6,}")


class FacebookActor(ActorSpec):
    platform = "facebook"
    default_actor_id = "apify/facebook-posts-scraper"
    price_per_result_usd = 0.005
    fill_batch_size = 1

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        run_input: dict[str, Any] = {
            "startUrls": [{"url": self.profile_url(handle)} for handle in handles],
            "resultsLimit": limit * len(handles),
            "captionText": False,
        }
        if since is not None:
            run_input["onlyPostsNewerThan"] = since_text(since)
        return run_input

    def profile_url(self, handle: str) -> str:
        if _ID_PAGE_RE.fullmatch(handle):
            return f"https://www.facebook.com/{_ID_PAGE}/{handle}/"
        return f"https://www.facebook.com/{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (page_handle(raw.get("inputUrl")), page_handle(raw.get("facebookUrl")), page_handle(raw.get("url")))

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("postId"))
        if native_id is None:
            return None
        attachments = [as_dict(entry) for entry in as_list(raw.get("media"))]
        photos = _photos(attachments)
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
                handle=_page_name(raw),
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


def page_handle(value: object) -> str | None:
    """The page in a Facebook URL: its first path segment, or the `<Name>-<id>` of a `/p/` page."""
    url = safe_url(value)
    if url is None:
        return None
    segments = [unquote(part) for part in urlsplit(url).path.split("/") if part]
    if segments[:1] == [_ID_PAGE]:
        segments = segments[1:]
    return segments[0] if segments else None


def _page_name(raw: dict[str, Any]) -> str | None:
    name = as_text(raw.get("pageName"))
    if name in (None, _ID_PAGE):
        return page_handle(raw.get("facebookUrl")) or page_handle(raw.get("inputUrl"))
    return name


def _photos(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each picture once: entries that are no video and carry a picture of their own."""
    photos: dict[str, dict[str, Any]] = {}
    for entry in attachments:
        photo = _photo(entry) if entry.get("__typename") in ("Photo", None) else None
        if photo is not None:
            photos.setdefault(photo["url"], photo)
    return list(photos.values())


def _photo(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A photo entry's picture: `photo_image` or `image`; a bare thumbnail only for a typed Photo."""
    image = as_dict(entry.get("photo_image")) or as_dict(entry.get("image"))
    fallback = entry.get("thumbnail") if entry.get("__typename") == "Photo" else None
    return media_entry(
        "image",
        first_url(image.get("uri"), fallback),
        image.get("width"),
        image.get("height"),
        entry.get("ocrText"),
    )
