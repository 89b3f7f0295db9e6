"""TikTok videos and photo slideshows from `clockworks/tiktok-scraper`.

Rows are attributed by `input`, the actor's echo of the profile we asked for ('@name',
'name' or a profile URL), falling back to `authorMeta.name`. Without paid downloads
there is no playable video file: a video item carries its cover as `image` and an empty
`media` list, and renderers link to the permalink.

Pinned videos come first whatever their age: like Instagram, a fill asks for `limit` + 3
per profile and the date order keeps an old pinned video out of the newest `limit`. An
incremental run passes `oldestPostDateUnified`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flowkick.sources import Item, Profile
from flowkick.sources.actor_output import (
    PINNED_MAX,
    ActorSpec,
    account,
    media_entry,
    new_item,
    profile_fields,
    require_batch,
)
from flowkick.sources.readers import as_dict, as_id, as_list, first_time, first_url, get, path_handle, since_text


class TikTokActor(ActorSpec):
    platform = "tiktok"
    default_actor_id = "clockworks/tiktok-scraper"
    price_per_result_usd = 0.003

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        run_input: dict[str, Any] = {
            "profiles": list(handles),
            "resultsPerPage": self.per_handle(limit, since),
            "profileScrapeSections": ["videos"],
            "profileSorting": "latest",
            "excludePinnedPosts": False,
            "shouldDownloadVideos": False,
            "shouldDownloadCovers": False,
            "shouldDownloadSubtitles": False,
            "shouldDownloadSlideshowImages": False,
        }
        if since is not None:
            run_input["oldestPostDateUnified"] = since_text(since)
        return run_input

    def per_handle(self, limit: int, since: datetime | None = None) -> int:
        return limit + PINNED_MAX

    def profile_url(self, handle: str) -> str:
        return f"https://www.tiktok.com/@{handle}"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        given = raw.get("input")
        return (path_handle(given), given, get(raw, "authorMeta", "name"))

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("id"))
        if native_id is None:
            return None
        slideshow = raw.get("isSlideshow") is True
        video = as_dict(raw.get("videoMeta"))
        return new_item(
            self.platform,
            native_id,
            "carousel" if slideshow else "video",
            url=raw.get("webVideoUrl"),
            text=raw.get("text"),
            image=first_url(video.get("coverUrl"), video.get("originalCoverUrl")),
            media=_slides(raw) if slideshow else _playable(raw, video),
            published_at=first_time(raw.get("createTimeISO"), raw.get("createTime")),
            author=self._author(as_dict(raw.get("authorMeta"))),
            likes=raw.get("diggCount"),
            comments=raw.get("commentCount"),
            views=raw.get("playCount"),
            shares=raw.get("shareCount"),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        meta = as_dict(raw.get("authorMeta"))
        if self.canonical(meta.get("name")) != self.canonical(handle):
            return {}
        return profile_fields(
            name=meta.get("nickName"),
            url=meta.get("profileUrl"),
            avatar_url=first_url(meta.get("avatar"), meta.get("originalAvatarUrl")),
            followers=meta.get("fans"),
        )

    def _author(self, meta: dict[str, Any]) -> dict[str, Any]:
        name = meta.get("name")
        return account(
            name=meta.get("nickName"),
            handle=name,
            avatar_url=first_url(meta.get("avatar"), meta.get("originalAvatarUrl")),
            url=first_url(meta.get("profileUrl")) or self.account_url(name),
        )


def _slides(raw: dict[str, Any]) -> list[dict[str, Any] | None]:
    links = (as_dict(link) for link in as_list(raw.get("slideshowImageLinks")))
    return [media_entry("image", first_url(link.get("tiktokLink"), link.get("downloadLink"))) for link in links]


def _playable(raw: dict[str, Any], video: dict[str, Any]) -> list[dict[str, Any] | None]:
    """The video file, present only when the run paid for downloads."""
    url = first_url(*as_list(raw.get("mediaUrls")), video.get("downloadAddr"))
    return [media_entry("video", url, video.get("width"), video.get("height"))]
