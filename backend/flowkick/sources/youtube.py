"""YouTube videos and shorts from `streamers/youtube-scraper`.

One start URL per channel (`https://www.youtube.com/@<handle>/videos`); the actor also
reads the shorts tab, so a run may return up to `limit` videos plus `limit` shorts per
channel and the caller keeps the newest. Rows are attributed by the `@handle` in
`input`, `fromYTUrl` or `channelUrl`, then `channelUsername`.

Older outputs date videos relatively ("10 months ago"). Those items are kept with
`published_at` null: they sort after the dated ones, in the actor's (newest-first) order.
There is no video file URL: items carry the thumbnail as `image` and no `media`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import (
    ActorSpec,
    account,
    as_id,
    new_item,
    path_handle,
    profile_fields,
    require_batch,
)

# The videos and the shorts tab each yield up to `limit` rows per channel.
_TABS = 2


class YouTubeActor(ActorSpec):
    platform = "youtube"
    default_actor_id = "streamers/youtube-scraper"

    def build_input(self, handles: list[str], limit: int) -> dict[str, Any]:
        require_batch(handles, limit)
        return {
            "startUrls": [{"url": f"{self.profile_url(handle)}/videos"} for handle in handles],
            "maxResults": limit,
            "maxResultsShorts": limit,
            "maxResultStreams": 0,
            "sortVideosBy": "NEWEST",
            "downloadSubtitles": False,
        }

    def max_items(self, handles: list[str], limit: int) -> int:
        return _TABS * super().max_items(handles, limit)

    def profile_url(self, handle: str) -> str:
        return f"https://www.youtube.com/@{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        urls = (raw.get("input"), raw.get("fromYTUrl"), raw.get("channelUrl"))
        return (*(path_handle(url, "@") for url in urls), raw.get("channelUsername"))

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("id"))
        if native_id is None:
            return None
        return new_item(
            self.platform,
            native_id,
            "video",
            url=raw.get("url"),
            title=raw.get("title"),
            text=raw.get("text"),
            image=raw.get("thumbnailUrl"),
            published_at=raw.get("date"),
            author=account(name=raw.get("channelName"), handle=raw.get("channelUsername"), url=raw.get("channelUrl")),
            likes=raw.get("likes"),
            comments=raw.get("commentsCount"),
            views=raw.get("viewCount"),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        return profile_fields(
            name=raw.get("channelName"), url=raw.get("channelUrl"), followers=raw.get("numberOfSubscribers")
        )
