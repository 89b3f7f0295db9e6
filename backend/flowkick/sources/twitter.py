"""X (Twitter) posts from `apidojo/tweet-scraper`.

Each handle is one search query, `from:<handle>`, because the actor's date filter
(`start`, a day) applies to search terms only. The actor refuses monitoring-sized runs:
below 50 tweets per query it answers only `{"noResults": true}` rows (and calls it a
terms violation), so `maxItems` (for the whole run) is at least 50 per handle; what a
run costs is still only the tweets it returns. With `includeSearchTerms` each tweet names
its query; rows are attributed by that, then by `author.userName` (case-insensitively).
`{"noResults": true}` rows are skipped. Media follow Twitter's legacy `extendedEntities`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import ActorSpec, account, media_entry, new_item, profile_fields, require_batch
from flowkick.sources.readers import as_dict, as_id, as_int, as_list, as_text, first, first_url, get, since_text

_VIDEO_TYPES = ("video", "animated_gif")
MIN_PER_QUERY = 50
_FROM = "from:"


class TwitterActor(ActorSpec):
    platform = "twitter"
    default_actor_id = "apidojo/tweet-scraper"
    price_per_result_usd = 0.0004

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        run_input: dict[str, Any] = {
            "searchTerms": [f"{_FROM}{handle}" for handle in handles],
            "sort": "Latest",
            "maxItems": self.max_items(handles, limit, since),
            "includeSearchTerms": True,
        }
        if since is not None:
            run_input["start"] = since_text(since, date_only=True)
        return run_input

    def per_handle(self, limit: int, since: datetime | None = None) -> int:
        return max(limit, MIN_PER_QUERY)

    def profile_url(self, handle: str) -> str:
        return f"https://x.com/{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        term = as_text(raw.get("searchTerm")) or ""
        queried = term.split()[0].removeprefix(_FROM) if term.startswith(_FROM) else None
        return (queried, get(raw, "author", "userName"))

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
