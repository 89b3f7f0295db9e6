"""The six scraper actors Flowkick runs, faked: run input in, dataset items out.

Each fake actor reads exactly the input fields the real actor reads (see
shared/apify/actors.md), asks the `World` which accounts exist, and builds items from the
real-shaped samples in `tests/samples/`: the sample items are templates whose identity fields
(ids, permalinks, timestamps, owner, input echo) are rewritten per handle, so any handle
gets deterministic items while the samples' hostile captions (`<script>`, quotes and
ampersands, emoji) reach the refresher too.

Error rows for missing accounts follow the real Instagram (`error`) and X (`noResults`)
shapes; the other four actors' error rows are not documented and use the same
`{<input echo>, "error", "errorDescription"}` shape (invented).
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from itertools import zip_longest
from typing import Any
from urllib.parse import urlsplit

from tests.support.samples import SAMPLES

from .world import World, handle_key, seed

_ID_FIELD = {
    "instagram": "id", "tiktok": "id", "google_reviews": "reviewId", "twitter": "id", "youtube": "id", "facebook": "postId",
}
_ALNUM = string.ascii_letters + string.digits


class InputError(ValueError):
    """The run input would be rejected by the actor's input schema (HTTP 400 `invalid-input`)."""


@dataclass(frozen=True)
class Post:
    """Where one generated item comes from: whose post, which one, when, and the input echo."""

    platform: str
    handle: str
    echo: str
    index: int
    when: datetime

    @property
    def key(self) -> str:
        return handle_key(self.platform, self.handle)

    def digits(self, count: int, salt: str = "") -> str:
        return _digits(count, self.platform, self.key, self.index, salt)

    def alnum(self, count: int, salt: str = "") -> str:
        return _alnum(count, self.platform, self.key, self.index, salt)


Stamp = Callable[[dict[str, Any], Post], dict[str, Any]]


def _digits(count: int, *parts: object) -> str:
    return "".join(str(seed(*parts, i) % 10) for i in range(count))


def _alnum(count: int, *parts: object) -> str:
    return "".join(_ALNUM[seed(*parts, i) % len(_ALNUM)] for i in range(count))


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _title(key: str) -> str:
    return key.replace(".", " ").replace("_", " ").title()


@cache
def _samples(platform: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((SAMPLES / f"{platform}.json").read_text(encoding="utf-8")))


def templates(platform: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The sample items usable as post templates (error and placeholder rows left out)."""
    return [
        item
        for item in _samples(platform)
        if item.get(_ID_FIELD[platform]) and (kind is None or item.get("type") == kind)
    ]


# --- identity rewriting, one function per platform -------------------------------------


def _stamp_instagram(item: dict[str, Any], post: Post) -> dict[str, Any]:
    item.update(id="39" + post.digits(17), shortCode="D" + post.alnum(10), timestamp=_iso(post.when))
    item.update(url=f"https://www.instagram.com/p/{item['shortCode']}/", inputUrl=post.echo)
    for number, child in enumerate(item.get("childPosts") or []):
        child.update(id=f"{item['id']}{number}", shortCode=f"{item['shortCode']}{number}", timestamp=item["timestamp"])
    owner = {"username": post.key, "full_name": _title(post.key), "id": "6" + _digits(10, "ig", post.key)}
    if "coauthorProducers" in item:  # a collab post: owned by someone else, found via this profile
        for producer in item["coauthorProducers"]:
            producer.update(username=owner["username"], id=owner["id"])
        return item
    item.update(ownerUsername=owner["username"], ownerFullName=owner["full_name"], ownerId=owner["id"])
    return item


def _stamp_tiktok(item: dict[str, Any], post: Post) -> dict[str, Any]:
    item.update(id="74" + post.digits(17), createTime=int(post.when.timestamp()), createTimeISO=_iso(post.when))
    item.update(webVideoUrl=f"https://www.tiktok.com/@{post.key}/video/{item['id']}", input=post.echo)
    item["authorMeta"].update(
        id="74" + _digits(17, "tt", post.key),
        name=post.key,
        nickName=_title(post.key),
        profileUrl=f"https://www.tiktok.com/@{post.key}",
    )
    return item


def _stamp_google_reviews(item: dict[str, Any], post: Post) -> dict[str, Any]:
    review_id = "Ci9" + post.alnum(40)
    place_seed = seed("place", post.key)
    item.update(reviewId=review_id, publishedAtDate=_iso(post.when), placeId=post.echo)
    item.update(reviewUrl=f"https://www.google.com/maps/reviews/data=!4m8!14m7!1m6!2m5!1s{review_id}?hl=en")
    item.update(
        title=f"Place {post.key}",
        cid=_digits(20, "cid", post.key),
        url=f"https://www.google.com/maps/place/?q=place_id:{post.echo}",
        totalScore=round(3.5 + place_seed % 15 / 10, 1),
        reviewsCount=40 + place_seed % 900 + post.index,
    )
    return item


def _stamp_twitter(item: dict[str, Any], post: Post) -> dict[str, Any]:
    tweet_id = "19" + post.digits(17)
    item.update(id=tweet_id, createdAt=post.when.strftime("%a %b %d %H:%M:%S +0000 %Y"))
    item.update(url=f"https://x.com/{post.handle}/status/{tweet_id}")
    item.update(twitterUrl=f"https://twitter.com/{post.handle}/status/{tweet_id}")
    if not item.get("isReply"):
        item["conversationId"] = tweet_id
    item["author"].update(
        userName=post.handle,
        name=_title(post.key),
        id="16" + _digits(17, "x", post.key),
        url=f"https://x.com/{post.handle}",
        twitterUrl=f"https://twitter.com/{post.handle}",
    )
    return item


def _stamp_youtube(item: dict[str, Any], post: Post) -> dict[str, Any]:
    video_id = post.alnum(11, item["type"])
    channel = f"https://www.youtube.com/@{post.key}"
    tab = "shorts" if item["type"] == "shorts" else "videos"
    watch = f"shorts/{video_id}" if tab == "shorts" else f"watch?v={video_id}"
    item.update(id=video_id, url=f"https://www.youtube.com/{watch}")
    item.update(thumbnailUrl=f"https://i.ytimg.com/vi/{video_id}/maxresdefault.jpg")
    item.update(date=_iso(post.when), input=channel, fromYTUrl=f"{channel}/{tab}")
    item.update(channelName=_title(post.key), channelUrl=channel, channelUsername=post.key)
    item.update(channelId="UC" + _alnum(22, "yt", post.key))
    return item


def _stamp_facebook(item: dict[str, Any], post: Post) -> dict[str, Any]:
    post_id = "14" + post.digits(14)
    page_id = "1000" + _digits(11, "fb", post.key)
    item.update(postId=post_id, time=_iso(post.when), timestamp=int(post.when.timestamp()))
    item.update(url=_facebook_permalink(item["url"], post.key, post_id), feedbackId=f"ZmVlZGJhY2s6{post_id}")
    item.update(topLevelUrl=f"https://www.facebook.com/{page_id}/posts/{post_id}", facebookId=page_id)
    item.update(inputUrl=post.echo, facebookUrl=post.echo, pageName=post.key)
    item["user"].update(id=page_id, name=_title(post.key), profileUrl=f"https://www.facebook.com/{page_id}")
    return item


def _facebook_permalink(template_url: str, key: str, post_id: str) -> str:
    """Keep the template's kind of permalink (post, reel or video) with the new ids."""
    if "/reel/" in template_url:
        return f"https://www.facebook.com/reel/{post_id}/"
    if "/videos/" in template_url:
        return f"https://www.facebook.com/{key}/videos/{post_id}/"
    return f"https://www.facebook.com/{key}/posts/pfbid0FAKE{post_id}"


# --- accounts ---------------------------------------------------------------------------

_ECHO_FIELD = {
    "instagram": "inputUrl", "tiktok": "input", "google_reviews": "placeId", "youtube": "input", "facebook": "inputUrl",
}


def error_row(platform: str, echo: str) -> dict[str, Any]:
    """The row an actor pushes for an account that does not exist (any more)."""
    if platform == "twitter":
        return {"noResults": True}
    description = "The account does not exist or is not available"
    return {_ECHO_FIELD[platform]: echo, "error": "not_found", "errorDescription": description}


def generate(
    world: World, platform: str, handle: str, echo: str, stamp: Stamp, pool: list[dict[str, Any]], limit: int | None
) -> list[dict[str, Any]]:
    """The newest `limit` posts of an account, built from the template pool."""
    indices = range(world.post_count(platform, handle) - 1, -1, -1)
    chosen = indices if limit is None else indices[:limit]
    return [
        stamp(copy.deepcopy(pool[i % len(pool)]), Post(platform, handle, echo, i, world.posted_at(platform, handle, i)))
        for i in chosen
    ]


def account(
    world: World, platform: str, handle: str, echo: str, limit: int | None, build: Callable[[], list[Any]]
) -> list[Any]:
    """What an actor pushes for one account: its error row, a test's substitute items, or `build()`."""
    if not world.exists(platform, handle):
        return [error_row(platform, echo)]
    items = world.override(platform, handle)
    if items is None:
        items = build()
    return items if limit is None else items[:limit]


# --- input parsing ----------------------------------------------------------------------


def _entries(run_input: dict[str, Any], field: str) -> list[str]:
    """The accounts listed in `field`: plain strings or `{"url": ...}` objects."""
    value = run_input.get(field)
    if not isinstance(value, list) or not value:
        raise InputError(f"Input is not valid: Field input.{field} is required and must be a non-empty array")
    entries = [entry.get("url") if isinstance(entry, dict) else entry for entry in value]
    if not all(isinstance(entry, str) and entry.strip() for entry in entries):
        raise InputError(f"Input is not valid: Field input.{field} must contain strings or {{\"url\": string}} objects")
    return entries


def _limit(run_input: dict[str, Any], field: str) -> int | None:
    value = run_input.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"Input is not valid: Field input.{field} must be a non-negative integer")
    return value


def _path_handle(entry: str) -> str:
    """The account name in an input entry: a bare handle (`@h`, `h`) or a profile URL
    (`https://www.instagram.com/<h>/`, `https://www.youtube.com/@<h>/videos`)."""
    parts = [part for part in urlsplit(entry).path.split("/") if part] if "://" in entry else [entry.strip()]
    return parts[0].lstrip("@") if parts else entry


# --- the six actors ---------------------------------------------------------------------


def _per_account(
    world: World, run_input: dict[str, Any], platform: str, field: str, limit: int | None, stamp: Stamp
) -> Iterator[list[Any]]:
    """One list of items per account listed in `field`, each at most `limit` long."""
    pool = templates(platform)
    for echo in _entries(run_input, field):
        handle = _path_handle(echo)
        build = partial(generate, world, platform, handle, echo, stamp, pool, limit)
        yield account(world, platform, handle, echo, limit, build)


def _instagram(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit = _limit(run_input, "resultsLimit")
    return _flatten(_per_account(world, run_input, "instagram", "directUrls", limit, _stamp_instagram))


def _tiktok(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit = _limit(run_input, "resultsPerPage")
    return _flatten(_per_account(world, run_input, "tiktok", "profiles", limit, _stamp_tiktok))


def _google_reviews(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit = _limit(run_input, "maxReviews")
    return _flatten(_per_account(world, run_input, "google_reviews", "placeIds", limit, _stamp_google_reviews))


def _facebook(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit = _limit(run_input, "resultsLimit")
    return _flatten(_per_account(world, run_input, "facebook", "startUrls", limit, _stamp_facebook))


def _twitter(world: World, run_input: dict[str, Any]) -> list[Any]:
    """`maxItems` caps the whole run; handles are scraped side by side, so tweets interleave."""
    cap = _limit(run_input, "maxItems")
    per_handle = _per_account(world, run_input, "twitter", "twitterHandles", None, _stamp_twitter)
    merged = [item for row in zip_longest(*per_handle) for item in row if item is not None]
    return merged if cap is None else merged[:cap]


def _youtube(world: World, run_input: dict[str, Any]) -> list[Any]:
    """Videos and shorts tabs, each with its own per-channel limit."""
    videos, shorts = _limit(run_input, "maxResults"), _limit(run_input, "maxResultsShorts")
    items: list[Any] = []
    total = None if videos is None or shorts is None else videos + shorts
    for echo in _entries(run_input, "startUrls"):
        handle = _path_handle(echo)
        items += account(world, "youtube", handle, echo, total, partial(_channel, world, handle, echo, videos, shorts))
    return items


def _channel(world: World, handle: str, echo: str, videos: int | None, shorts: int | None) -> list[Any]:
    return [
        *generate(world, "youtube", handle, echo, _stamp_youtube, templates("youtube", "video"), videos),
        *generate(world, "youtube", handle, echo, _stamp_youtube, templates("youtube", "shorts"), shorts),
    ]


def _flatten(groups: Iterator[list[Any]]) -> list[Any]:
    return [item for group in groups for item in group]


@dataclass(frozen=True)
class ActorSpec:
    """One fake actor: its names, price and how it turns input into dataset items."""

    name: str
    act_id: str
    platform: str
    price_per_item_usd: float
    collect: Callable[[World, dict[str, Any]], list[Any]]

    @property
    def path_id(self) -> str:
        return self.name.replace("/", "~")


ACTORS: tuple[ActorSpec, ...] = (
    ActorSpec("apify/instagram-scraper", "shu8hvrXbJbY3Eb9W", "instagram", 0.0027, _instagram),
    ActorSpec("clockworks/tiktok-scraper", "GdWCkxBtKWOsKjdch", "tiktok", 0.003, _tiktok),
    ActorSpec("compass/google-maps-reviews-scraper", "Xb8osYTtOjlsgI6k9", "google_reviews", 0.0005, _google_reviews),
    ActorSpec("apidojo/tweet-scraper", "61RPP7dywgiy0JPD0", "twitter", 0.0004, _twitter),
    ActorSpec("streamers/youtube-scraper", "h7sDV53CddomktSi5", "youtube", 0.005, _youtube),
    ActorSpec("apify/facebook-posts-scraper", "KoJrdxJCTtpon81KY", "facebook", 0.005, _facebook),
)


def find_actor(path_id: str) -> ActorSpec | None:
    """The actor named in a URL path segment (`owner~name`, or its act id)."""
    return next((a for a in ACTORS if path_id in (a.path_id, a.act_id, a.name)), None)


def actor_for(platform: str) -> ActorSpec:
    return next(a for a in ACTORS if a.platform == platform)


def example_input(platform: str, handles: list[str], limit: int) -> dict[str, Any]:
    """The run input Flowkick's refresher sends for the latest `limit` items of `handles`."""
    if platform == "instagram":
        urls = [f"https://www.instagram.com/{h}/" for h in handles]
        return {"directUrls": urls, "resultsType": "posts", "resultsLimit": limit, "addParentData": False}
    if platform == "tiktok":
        return {"profiles": handles, "resultsPerPage": limit}
    if platform == "google_reviews":
        return {"placeIds": handles, "maxReviews": limit, "reviewsSort": "newest"}
    if platform == "twitter":
        return {"twitterHandles": handles, "maxItems": limit * len(handles), "sort": "Latest"}
    if platform == "youtube":
        urls = [{"url": f"https://www.youtube.com/@{h}/videos"} for h in handles]
        return {"startUrls": urls, "maxResults": limit, "maxResultsShorts": limit}
    return {"startUrls": [{"url": f"https://www.facebook.com/{h}"} for h in handles], "resultsLimit": limit}
