"""Instagram posts from `apify/instagram-scraper` (posts mode, one run for all handles).

Rows are attributed by `inputUrl`, the profile URL we asked for: a collab post shows up
in a handle's feed with another account as owner, and it belongs to the feed it was
fetched for. Post rows carry no owner avatar, so items and profiles leave it unknown.

Up to three pinned posts (`isPinned`) come first whatever their age, so a fill asks for
`limit` + 3 posts per profile: the newest `limit` are then always among them, and the
parser's date order puts an old pinned post after them. An incremental run passes
`onlyPostsNewerThan`, which the actor applies to pinned posts too.
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
from flowkick.sources.readers import as_dict, as_id, as_int, as_list, as_text, first, path_handle, since_text

_KINDS = {"Sidecar": "carousel", "Video": "video", "Image": "image"}


class InstagramActor(ActorSpec):
    platform = "instagram"
    default_actor_id = "apify/instagram-scraper"
    price_per_result_usd = 0.0027

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        require_batch(handles, limit)
        run_input: dict[str, Any] = {
            "directUrls": [self.profile_url(handle) for handle in handles],
            "resultsType": "posts",
            "resultsLimit": self.per_handle(limit, since),
            "addParentData": False,
        }
        if since is not None:
            run_input["onlyPostsNewerThan"] = since_text(since)
        return run_input

    def per_handle(self, limit: int, since: datetime | None = None) -> int:
        return limit + PINNED_MAX

    def profile_url(self, handle: str) -> str:
        return f"https://www.instagram.com/{handle}/"

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (path_handle(raw.get("inputUrl")), raw.get("ownerUsername"))

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        native_id = as_id(raw.get("id"))
        if native_id is None:
            return None
        kind = _kind(raw)
        owner = raw.get("ownerUsername")
        return new_item(
            self.platform,
            native_id,
            kind,
            url=raw.get("url"),
            text=raw.get("caption"),
            image=raw.get("displayUrl"),
            media=_media(raw, kind),
            published_at=raw.get("timestamp"),
            author=account(name=raw.get("ownerFullName"), handle=owner, url=self.account_url(owner)),
            likes=raw.get("likesCount"),
            comments=raw.get("commentsCount"),
            views=first(as_int(raw.get("videoPlayCount")), as_int(raw.get("videoViewCount"))),
        )

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        """Only the handle's own posts describe it; a collab post's owner is someone else."""
        if self.canonical(raw.get("ownerUsername")) != self.canonical(handle):
            return {}
        return profile_fields(name=raw.get("ownerFullName"))


def _kind(raw: dict[str, Any]) -> str:
    kind = _KINDS.get(as_text(raw.get("type")) or "")
    if kind is not None:
        return kind
    return "video" if raw.get("videoUrl") or raw.get("productType") == "clips" else "image"


def _media(raw: dict[str, Any], kind: str) -> list[dict[str, Any] | None]:
    if kind == "carousel":
        children = [_child(as_dict(child)) for child in as_list(raw.get("childPosts"))]
        return [child for child in children if child] or [
            media_entry("image", url) for url in as_list(raw.get("images"))
        ]
    return [_child(raw)]


def _child(post: dict[str, Any]) -> dict[str, Any] | None:
    """A post or carousel child as one media entry: its video when it has one, else its still."""
    size = (post.get("dimensionsWidth"), post.get("dimensionsHeight"), post.get("alt"))
    video = media_entry("video", post.get("videoUrl"), *size)
    return video or media_entry("image", post.get("displayUrl"), *size)
