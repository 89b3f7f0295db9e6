"""YouTube videos and shorts from `streamers/youtube-scraper`.

Two start URLs per channel, `/@<handle>/videos` and `/@<handle>/shorts`: for a channel
URL the tab decides what is read, each capped by `maxResults` (`maxResultsShorts`
applies to search terms only). A run may return `limit` videos plus `limit` shorts per
channel and the caller keeps the newest. Rows are attributed by the `@handle` in
`input`, `fromYTUrl` or `channelUrl`, then `channelUsername`.

The actor has no date filter, so an incremental run asks for the newest
`INCREMENTAL_LIMIT` of each tab. Channel lists often date videos relatively ("3 days
ago"); those dates are resolved against the run's end, as coarse as the text.
There is no video file URL: items carry the thumbnail as `image` and no `media`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import ActorSpec, account, new_item, profile_fields, require_batch
from flowkick.sources.readers import as_id, path_handle, relative_time

_TABS = ("videos", "shorts")
# Newest rows per tab an incremental run reads: a café channel rarely posts twice within
# one check, and when every row read is new the next refresh reads the full list.
INCREMENTAL_LIMIT = 2


class YouTubeActor(ActorSpec):
    platform = "youtube"
    default_actor_id = "streamers/youtube-scraper"
    price_per_result_usd = 0.005
    date_filter = False

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        return {
            "startUrls": [{"url": f"{self.profile_url(handle)}/{tab}"} for handle in handles for tab in _TABS],
            "maxResults": self._per_tab(limit, since),
            "maxResultStreams": 0,
            "sortVideosBy": "NEWEST",
            "downloadSubtitles": False,
        }

    def per_handle(self, limit: int, since: datetime | None = None) -> int:
        return len(_TABS) * self._per_tab(limit, since)

    def _per_tab(self, limit: int, since: datetime | None) -> int:
        return limit if since is None else min(limit, INCREMENTAL_LIMIT)

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

    def relative_date(self, raw: dict[str, Any], now: datetime) -> str | None:
        return relative_time(raw.get("date"), now)
