"""The six scraper actors Flowkick runs, faked: run input in, dataset items out.

Each fake actor reads exactly the input fields the real actor reads (see
shared/apify/actors.md), asks the `World` which accounts exist, and builds items from the
real-shaped samples in `tests/samples/`: the sample items are templates whose identity fields
(ids, permalinks, timestamps, owner, input echo) are rewritten per handle, so any handle
gets deterministic items while the samples' hostile captions (`<script>`, quotes and
ampersands, emoji) reach the refresher too.

Error rows for missing accounts follow the real Instagram (`error`) and X (`noResults`)
shapes; Facebook's carry `url`, not `inputUrl`; the other actors' error rows are not
documented and use the same `{<input echo>, "error", "errorDescription"}` shape (invented).

Like the real actors (shared/apify/actors.md, corrections of 2026-11-30): date filters
really filter (Instagram and Facebook `onlyPostsNewerThan`, TikTok
`oldestPostDateUnified`, Google `reviewsStartDate`, X `start` for search terms, by day);
pinned posts come first whatever their age; the tweet scraper answers runs below 50
tweets per query with `{"noResults": true}` rows only, and an empty query with one;
Google's `reviewsOrigin: "all"` mixes third-party reviews in and a place can change its
id; YouTube channel URLs read only their tab (`/videos`, `/shorts`), each capped by
`maxResults`, and can date videos relatively; Facebook media entries drift
(`image` beside `photo_image`, untyped duplicates), `/p/<Name>-<id>/` pages carry
`pageName: "p"`, and `resultsLimit` counts for the whole run (the pessimistic reading).
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from itertools import zip_longest
from typing import Any
from urllib.parse import urlsplit

from tests.support.samples import SAMPLES

from .cdn_urls import point_pictures_at_cdn
from .world import World, handle_key, seed

X_MIN_PER_QUERY = 50
_THIRD_PARTY_EVERY = 3  # with reviewsOrigin "all", every third review comes from another site

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
    pinned: bool = False
    relative: bool = False

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


def _ago(when: datetime) -> str:
    """How a YouTube channel list dates a video: '3 days ago' (hours for today's)."""
    age = datetime.now(UTC) - when
    return f"{age.days} days ago" if age.days else f"{max(1, age.seconds // 3600)} hours ago"


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
    item.update(url=f"https://www.instagram.com/p/{item['shortCode']}/", inputUrl=post.echo, isPinned=post.pinned)
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
    item.update(isPinned=post.pinned)
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
    item.update(reviewId=review_id, publishedAtDate=_iso(post.when), placeId=post.echo, reviewOrigin="Google")
    item.update(reviewUrl=f"https://www.google.com/maps/reviews/data=!4m8!14m7!1m6!2m5!1s{review_id}?hl=en")
    item.update(
        title=f"Place {post.key}",
        cid=_digits(20, "cid", post.key),
        fid=f"0x{_digits(15, 'fid', post.key)}:0x{_digits(15, 'fid2', post.key)}",
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
    if post.relative:
        item["date"] = _ago(post.when)
    item.update(channelName=_title(post.key), channelUrl=channel, channelUsername=post.key)
    item.update(channelId="UC" + _alnum(22, "yt", post.key))
    return item


def _stamp_facebook(item: dict[str, Any], post: Post) -> dict[str, Any]:
    post_id = "14" + post.digits(14)
    page_id = "1000" + _digits(11, "fb", post.key)
    item.update(postId=post_id, time=_iso(post.when), timestamp=int(post.when.timestamp()))
    item.update(url=_facebook_permalink(item["url"], post.key, post_id), feedbackId=f"ZmVlZGJhY2s6{post_id}")
    item.update(topLevelUrl=f"https://www.facebook.com/{page_id}/posts/{post_id}", facebookId=page_id)
    item.update(inputUrl=post.echo, facebookUrl=post.echo, pageName="p" if "/p/" in post.echo else post.key)
    item["user"].update(id=page_id, name=_title(post.key), profileUrl=f"https://www.facebook.com/{page_id}")
    if post.index % 2:
        _drift_media(item)
    return item


def _drift_media(item: dict[str, Any]) -> None:
    """Media entries as some runs push them: `image` for `photo_image`, an untyped copy of a photo."""
    photos = [entry for entry in item.get("media") or [] if "photo_image" in entry]
    for entry in photos:
        entry["image"] = entry.pop("photo_image")
    if photos:
        item["media"].append({key: value for key, value in photos[0].items() if key != "__typename"})


def _facebook_permalink(template_url: str, key: str, post_id: str) -> str:
    """Keep the template's kind of permalink (post, reel or video) with the new ids."""
    if "/reel/" in template_url:
        return f"https://www.facebook.com/reel/{post_id}/"
    if "/videos/" in template_url:
        return f"https://www.facebook.com/{key}/videos/{post_id}/"
    return f"https://www.facebook.com/{key}/posts/pfbid0FAKE{post_id}"


# --- accounts ---------------------------------------------------------------------------

_ECHO_FIELD = {
    "instagram": "inputUrl", "tiktok": "input", "google_reviews": "placeId", "youtube": "input", "facebook": "url",
}


def error_row(platform: str, echo: str) -> dict[str, Any]:
    """The row an actor pushes for an account that does not exist (any more)."""
    if platform == "twitter":
        return {"noResults": True}
    description = "The account does not exist or is not available"
    return {_ECHO_FIELD[platform]: echo, "error": "not_found", "errorDescription": description}


def generate(
    world: World, platform: str, handle: str, echo: str, stamp: Stamp, pool: list[dict[str, Any]], limit: int | None,
    since: datetime | None = None, keep: Callable[[int], bool] = lambda index: True,
) -> list[dict[str, Any]]:
    """The newest `limit` posts of an account published after `since` (those numbers `keep`
    accepts), built from the template pool; its pinned posts first, whatever their age, as
    on the profile's grid."""
    pinned = world.pinned(platform, handle)
    newest_first = [i for i in range(world.post_count(platform, handle) - 1, -1, -1) if keep(i)]
    order = [i for i in newest_first if i in pinned] + [i for i in newest_first if i not in pinned]
    relative = world.dated_relatively(platform, handle)
    posts = [Post(platform, handle, echo, i, world.posted_at(platform, handle, i), i in pinned, relative) for i in order]
    chosen = [post for post in posts if since is None or post.when > since]
    return [point_pictures_at_cdn(world, platform, handle, stamp(copy.deepcopy(pool[post.index % len(pool)]), post))
            for post in chosen[:limit]]


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


def _since(run_input: dict[str, Any], field: str, *, date_only: bool = False) -> datetime | None:
    """A date filter: ISO 8601 (a day, or with a time unless `date_only`) or 'N days'."""
    value = run_input.get(field)
    if value is None:
        return None
    text = str(value).strip()
    days = text.removesuffix("days").removesuffix("day").strip()
    if days.isdigit():
        return datetime.now(UTC) - timedelta(days=int(days))
    if date_only and len(text) != 10:
        raise InputError(f"Input is not valid: Field input.{field} must be a date (YYYY-MM-DD)")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InputError(f"Input is not valid: Field input.{field} must be a date or 'N days'") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _path_handle(entry: str) -> str:
    """The account name in an input entry: a bare handle (`@h`, `h`) or a profile URL
    (`https://www.instagram.com/<h>/`, `https://www.youtube.com/@<h>/videos`)."""
    parts = [part for part in urlsplit(entry).path.split("/") if part] if "://" in entry else [entry.strip()]
    if parts[:1] == ["p"]:  # facebook.com/p/<Name>-<id>/
        parts = parts[1:]
    return parts[0].lstrip("@") if parts else entry


# --- the six actors ---------------------------------------------------------------------


def _per_account(
    world: World, run_input: dict[str, Any], platform: str, field: str, limit: int | None, stamp: Stamp,
    since: datetime | None = None,
) -> Iterator[list[Any]]:
    """One list of items per account listed in `field`, each at most `limit` long."""
    pool = templates(platform)
    for echo in _entries(run_input, field):
        handle = _path_handle(echo)
        build = partial(generate, world, platform, handle, echo, stamp, pool, limit, since)
        yield account(world, platform, handle, echo, limit, build)


def _instagram(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit, since = _limit(run_input, "resultsLimit"), _since(run_input, "onlyPostsNewerThan")
    return _flatten(_per_account(world, run_input, "instagram", "directUrls", limit, _stamp_instagram, since))


def _tiktok(world: World, run_input: dict[str, Any]) -> list[Any]:
    limit, since = _limit(run_input, "resultsPerPage"), _since(run_input, "oldestPostDateUnified")
    return _flatten(_per_account(world, run_input, "tiktok", "profiles", limit, _stamp_tiktok, since))


def _google_reviews(world: World, run_input: dict[str, Any]) -> list[Any]:
    """One row per review; "all" origins (the actor's default) mixes in other sites' reviews."""
    limit, since = _limit(run_input, "maxReviews"), _since(run_input, "reviewsStartDate")
    everywhere = run_input.get("reviewsOrigin", "all") == "all"
    items: list[Any] = []
    for echo in _entries(run_input, "placeIds"):
        build = partial(_place_reviews, world, echo, since, everywhere)
        items += account(world, "google_reviews", echo, echo, limit, build)
    return items


def _place_reviews(world: World, place_id: str, since: datetime | None, everywhere: bool) -> list[Any]:
    reviews = generate(world, "google_reviews", place_id, place_id, _stamp_google_reviews,
                       templates("google_reviews"), None, since)
    current = world.place_id(place_id)
    for review in reviews:
        review.update(placeId=current, url=f"https://www.google.com/maps/place/?q=place_id:{current}")
    if everywhere:
        for number, review in enumerate(reviews):
            if number % _THIRD_PARTY_EVERY == 1:
                review.update(reviewOrigin="Tripadvisor", reviewId=f"{review['reviewId']}TA", stars=None, rating=4)
    return reviews


def _facebook(world: World, run_input: dict[str, Any]) -> list[Any]:
    """`resultsLimit` caps the whole run here, pages in input order (the pessimistic reading)."""
    limit, since = _limit(run_input, "resultsLimit"), _since(run_input, "onlyPostsNewerThan")
    items = _flatten(_per_account(world, run_input, "facebook", "startUrls", None, _stamp_facebook, since))
    if limit is None:
        return items
    posts = [item for item in items if "error" not in item][:limit]
    return [item for item in items if "error" in item or item in posts]


def _twitter(world: World, run_input: dict[str, Any]) -> list[Any]:
    """Searches `from:<handle>` (or `twitterHandles`) side by side, so tweets interleave;
    `maxItems` caps the whole run and may not be below 50 per query."""
    cap = _limit(run_input, "maxItems")
    searches = "searchTerms" in run_input
    field = "searchTerms" if searches else "twitterHandles"
    queries = [term.removeprefix("from:").split()[0] if searches else term for term in _entries(run_input, field)]
    if cap is not None and cap < X_MIN_PER_QUERY * len(queries):
        return [{"noResults": True} for _ in queries]
    since = _since(run_input, "start", date_only=True) if searches else None
    per_query = [_tweets(world, query, since, searches) for query in queries]
    merged = [item for row in zip_longest(*per_query) for item in row if item is not None]
    return merged if cap is None else merged[:cap]


def _tweets(world: World, handle: str, since: datetime | None, tag: bool) -> list[Any]:
    build = partial(generate, world, "twitter", handle, handle, _stamp_twitter, templates("twitter"), None, since)
    tweets = account(world, "twitter", handle, handle, None, build) or [{"noResults": True}]
    if tag:
        for tweet in tweets:
            if "id" in tweet:
                tweet["searchTerm"] = f"from:{handle}"
    return tweets


def _youtube(world: World, run_input: dict[str, Any]) -> list[Any]:
    """A channel URL's tab decides what is read, capped by `maxResults`; a bare channel
    URL reads both tabs (`maxResultsShorts` is for search terms only)."""
    limit = _limit(run_input, "maxResults")
    items: list[Any] = []
    for echo in _entries(run_input, "startUrls"):
        handle, tabs = _path_handle(echo), _tabs(echo)
        items += account(world, "youtube", handle, echo, None, partial(_channel, world, handle, echo, limit, tabs))
    return items


def _tabs(url: str) -> tuple[str, ...]:
    parts = [part for part in urlsplit(url).path.split("/") if part]
    tab = parts[1] if len(parts) > 1 else None
    return (tab,) if tab in ("videos", "shorts") else ("video", "shorts") if tab is None else ()


def _channel(world: World, handle: str, echo: str, limit: int | None, tabs: tuple[str, ...]) -> list[Any]:
    """Every third post of a channel is a short, listed only on the shorts tab."""
    kinds = [("video" if tab in ("videos", "video") else "shorts") for tab in tabs]
    return [item for kind in kinds
            for item in generate(world, "youtube", handle, echo, _stamp_youtube, templates("youtube", kind), limit,
                                 keep=partial(_is_kind, kind))]


def _is_kind(kind: str, index: int) -> bool:
    return (index % 3 == 2) == (kind == "shorts")


def _flatten(groups: Iterator[list[Any]]) -> list[Any]:
    return [item for group in groups for item in group]


@dataclass(frozen=True)
class ActorSpec:
    """One fake actor: its names, price and how it turns input into dataset items.

    Priced per result (`PRICE_PER_DATASET_ITEM`) unless `start_event_usd` is set: then it
    is priced per event (`PAY_PER_EVENT`: one start, one `result` event per item).
    """

    name: str
    act_id: str
    platform: str
    price_per_item_usd: float
    collect: Callable[[World, dict[str, Any]], list[Any]]
    start_event_usd: float | None = None

    @property
    def path_id(self) -> str:
        return self.name.replace("/", "~")

    @property
    def per_event(self) -> bool:
        return self.start_event_usd is not None

    def affordable(self, max_charge_usd: float | None) -> int | None:
        """How many items a run may push before its charge would pass `maxTotalChargeUsd`."""
        if max_charge_usd is None:
            return None
        return max(0, int((max_charge_usd - (self.start_event_usd or 0.0)) / self.price_per_item_usd + 1e-9))

    def charge(self, items: int) -> float:
        return (self.start_event_usd or 0.0) + self.price_per_item_usd * items


ACTORS: tuple[ActorSpec, ...] = (
    ActorSpec("apify/instagram-scraper", "shu8hvrXbJbY3Eb9W", "instagram", 0.0027, _instagram),
    ActorSpec("clockworks/tiktok-scraper", "GdWCkxBtKWOsKjdch", "tiktok", 0.003, _tiktok),
    ActorSpec("compass/google-maps-reviews-scraper", "Xb8osYTtOjlsgI6k9", "google_reviews", 0.0005, _google_reviews),
    ActorSpec("apidojo/tweet-scraper", "61RPP7dywgiy0JPD0", "twitter", 0.0004, _twitter),
    ActorSpec("streamers/youtube-scraper", "h7sDV53CddomktSi5", "youtube", 0.005, _youtube, start_event_usd=0.001),
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
        terms = [f"from:{h}" for h in handles]
        cap = max(limit, X_MIN_PER_QUERY) * len(handles)
        return {"searchTerms": terms, "maxItems": cap, "sort": "Latest", "includeSearchTerms": True}
    if platform == "youtube":
        urls = [{"url": f"https://www.youtube.com/@{h}/{tab}"} for h in handles for tab in ("videos", "shorts")]
        return {"startUrls": urls, "maxResults": limit}
    urls = [{"url": f"https://www.facebook.com/{h}"} for h in handles]
    return {"startUrls": urls, "resultsLimit": limit * len(handles)}
