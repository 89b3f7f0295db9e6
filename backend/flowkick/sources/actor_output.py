"""What the six Apify actor parsers share: the spec interface, the batch parser, and
defensive readers for actor output.

Every value in a dataset item is untrusted and may be missing, null or of the wrong
type: actor output shapes change without notice, and captions are raw user text. The
readers here never raise on a bad value, they answer None ("unknown"). Text is kept as
plain text exactly as given (renderers escape it); only lone surrogates and NUL
characters are repaired, because no JSON serializer or database would store them.

One run fetches several handles, so `ActorSpec.parse` sorts the rows back to the handle
that asked for them and answers for every requested handle, found or not.

A run asks either for the newest `limit` items of each handle (a first fill, a renewal of
counts) or, with `since`, only for items published after that moment (the actor's own
date filter), which is what keeps an Apify bill per result small: see docs/apify.md.
"""

from __future__ import annotations

import logging
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from flowkick.platforms import normalize_handle
from flowkick.sources import HandleResult, Item, Profile

log = logging.getLogger(__name__)

NO_ITEMS = "no items returned"
# Instagram and TikTok let an account pin up to three posts; they come first in the
# actor's output however old they are, so a fill asks for this many more than it keeps.
PINNED_MAX = 3
# Pay-per-result actors refuse a run whose charge cap is below their floor (Instagram's
# `minimalMaxTotalChargeUsd` is 0.5).
MIN_CHARGE_CAP_USD = 0.5
PROFILE_KEYS = ("name", "handle", "url", "avatar_url", "followers", "rating", "review_count")

# Counts above this cannot be represented exactly in JavaScript (the widget) nor by
# orjson (64-bit), and no real post has them.
_MAX_COUNT = 2**53
_MAX_URL_LEN = 4096
_MAX_ERROR_LEN = 300
_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f\ud800-\udfff]{1,200}")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_URL_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\\ud800-\udfff]")
_COUNT_RE = re.compile(r"\s*(\d[\d,]{0,30}(?:\.\d{1,12})?)\s*([kmb]?)\s*", re.IGNORECASE)
_COUNT_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_UNIX_RE = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_RELATIVE_RE = re.compile(r"(?:\D*?)(\d{1,4}|an?|one)\s+(second|minute|hour|day|week|month|year)s?\s+ago", re.IGNORECASE)
_RELATIVE_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400,
                  "year": 365 * 86400}
# Epoch values this large are milliseconds (as seconds they would be past year 5000).
_MILLIS_FROM = 1e11


# --- readers ---------------------------------------------------------------------------


def get(obj: object, *path: str) -> object:
    """`obj[a][b]...`, or None as soon as a step is missing or not a dict."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str | None:
    """Non-empty text, verbatim except for characters no store can hold."""
    if not isinstance(value, str) or not value:
        return None
    if _SURROGATE_RE.search(value):
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value.replace("\x00", "") or None


def as_id(value: object) -> str | None:
    """A platform id: a string or integer without whitespace or control characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _ID_RE.fullmatch(value) else None


def as_number(value: object) -> float | None:
    """A finite number from a number or numeric text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def as_int(value: object) -> int | None:
    """A count (likes, views, followers); None when unknown, negative or absurd.

    Accepts numeric text too ("1,204", "1.2K"), which some actors emit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _count_from_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float)) and 0 <= value <= _MAX_COUNT:
        return int(value)
    return None


def _count_from_text(text: str) -> int | None:
    match = _COUNT_RE.fullmatch(text)
    if match is None:
        return None
    digits, suffix = match.group(1).replace(",", ""), match.group(2).lower()
    number = int(digits) if "." not in digits else float(digits)
    return as_int(int(number * _COUNT_SCALE[suffix]))


def as_size(value: object) -> int | None:
    """A pixel dimension; 0 (TikTok slideshows) means unknown."""
    size = as_int(value)
    return size if size else None


def as_rating(value: object) -> int | float | None:
    """A 1-5 star rating, an int when whole."""
    number = as_number(value)
    if number is None or not 1 <= number <= 5:
        return None
    return int(number) if number.is_integer() else number


def first(*values: object) -> Any:
    """The first value that is not None."""
    return next((value for value in values if value is not None), None)


# --- URLs --------------------------------------------------------------------------------


def safe_url(value: object) -> str | None:
    """An absolute http(s) URL, or None.

    Anything else (`javascript:`, `data:`, relative, with spaces or quotes) would be a
    script or a broken attribute in every renderer, so it never enters the cache.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > _MAX_URL_LEN or _URL_FORBIDDEN_RE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def first_url(*values: object) -> str | None:
    return first(*(safe_url(value) for value in values))


def path_handle(value: object, marker: str = "") -> str | None:
    """The account in a profile URL's first path segment, without `marker`.

    'https://www.youtube.com/@luna/videos' with marker '@' -> 'luna'.
    """
    url = safe_url(value)
    if url is None:
        return None
    segment = unquote(next((part for part in urlsplit(url).path.split("/") if part), ""))
    if not segment.startswith(marker):
        return None
    return segment[len(marker) :] or None


# --- time --------------------------------------------------------------------------------


def parse_time(value: object) -> str | None:
    """UTC ISO 8601 ('2026-09-12T07:31:02Z') from ISO text, epoch seconds or milliseconds
    (number or text) or Twitter's 'Sat Sep 12 07:31:02 +0000 2026'; None otherwise.

    Relative text such as '10 months ago' is deliberately unknown: turning it into a
    date needs a clock and is off by weeks, and the caller sorts unknown dates last.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _format(_from_epoch(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _UNIX_RE.fullmatch(text):
        return _format(_from_epoch(float(text)))
    return _format(_from_iso(text) or _from_twitter(text))


def first_time(*values: object) -> str | None:
    return first(*(parse_time(value) for value in values))


def relative_time(value: object, now: datetime) -> str | None:
    """'3 days ago' (also 'Streamed 2 weeks ago', 'a month ago') as a moment before `now`.

    Only for actors that date items this way (YouTube channel lists): the answer is as
    coarse as the text, but it sorts items and bounds the next incremental fetch.
    """
    match = _RELATIVE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    amount = int(match.group(1)) if match.group(1).isdigit() else 1
    return _format(now - timedelta(seconds=amount * _RELATIVE_UNIT[match.group(2).lower()]))


def since_text(since: datetime, *, date_only: bool = False) -> str:
    """A date filter's value: ISO 8601 in UTC, or just the day for actors that take no time."""
    utc = since.astimezone(UTC)
    return utc.strftime("%Y-%m-%d") if date_only else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    if seconds >= _MILLIS_FROM:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_twitter(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _TWITTER_TIME)
    except ValueError:
        return None


def _format(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


# --- building items and profiles -----------------------------------------------------------


def media_entry(
    kind: str, url: object, width: object = None, height: object = None, alt: object = None
) -> dict[str, Any] | None:
    """One `media` entry, or None when its URL is not a safe http(s) URL."""
    safe = safe_url(url)
    if safe is None:
        return None
    return {"type": kind, "url": safe, "width": as_size(width), "height": as_size(height), "alt": as_text(alt)}


def account(
    name: object = None, handle: object = None, avatar_url: object = None, url: object = None
) -> dict[str, Any]:
    """An item's `author` block."""
    return {"name": as_text(name), "handle": as_text(handle), "avatar_url": safe_url(avatar_url), "url": safe_url(url)}


def new_item(
    platform: str,
    native_id: str,
    kind: str,
    *,
    url: object = None,
    title: object = None,
    text: object = None,
    image: object = None,
    media: Iterable[dict[str, Any] | None] = (),
    published_at: object = None,
    author: dict[str, Any] | None = None,
    likes: object = None,
    comments: object = None,
    views: object = None,
    shares: object = None,
    rating: object = None,
    reply: dict[str, Any] | None = None,
) -> Item:
    """An item in DESIGN.md's shape; raw values are coerced here, once for all platforms.

    `image` falls back to the first image in `media`.
    """
    entries = [entry for entry in media if entry is not None]
    stills = (entry["url"] for entry in entries if entry["type"] == "image")
    return {
        "id": f"{platform}:{native_id}",
        "platform": platform,
        "type": kind,
        "url": safe_url(url),
        "title": as_text(title),
        "text": as_text(text),
        "image": safe_url(image) or next(stills, None),
        "media": entries,
        "published_at": parse_time(published_at),
        "author": author if author is not None else account(),
        "likes": as_int(likes),
        "comments": as_int(comments),
        "views": as_int(views),
        "shares": as_int(shares),
        "rating": as_rating(rating),
        "reply": reply,
    }


def profile_fields(
    *,
    name: object = None,
    url: object = None,
    avatar_url: object = None,
    followers: object = None,
    rating: object = None,
    review_count: object = None,
) -> Profile:
    """The profile values one row reveals (unknown ones left out, so others can fill them)."""
    fields = {
        "name": as_text(name),
        "url": safe_url(url),
        "avatar_url": safe_url(avatar_url),
        "followers": as_int(followers),
        "rating": as_rating(rating),
        "review_count": as_int(review_count),
    }
    return {key: value for key, value in fields.items() if value is not None}


def row_error(raw: dict[str, Any]) -> str | None:
    """The message of an error or placeholder row (`error`, `noResults`), else None."""
    code, no_results = raw.get("error"), raw.get("noResults")
    if not code and not no_results:
        return None
    label = as_text(code) or ("error" if code else "no_results")
    detail = as_text(raw.get("errorDescription"))
    message = f"{label}: {detail}" if detail else label
    return message[:_MAX_ERROR_LEN]


def require_batch(handles: list[str], limit: int) -> None:
    """Refuse a run that would cost money for nothing."""
    if not handles:
        raise ValueError("an actor run needs at least one handle")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


# --- the batch parser ------------------------------------------------------------------------


@dataclass
class ParsedOutput:
    """One run's dataset sorted back to the handles that asked for it."""

    handles: dict[str, HandleResult]
    skipped: int = 0


@dataclass
class _Bucket:
    """What the rows of one handle have revealed so far."""

    items: dict[str, Item] = field(default_factory=dict)
    profile: Profile = field(default_factory=dict)
    error: str | None = None
    rows: int = 0

    def add(self, item: Item, profile: Profile) -> None:
        self.items.setdefault(item["id"], item)
        for key, value in profile.items():
            self.profile.setdefault(key, value)

    def result(self, defaults: Profile) -> HandleResult:
        if not self.items:
            return HandleResult(error=self.error or NO_ITEMS, rows=self.rows)
        return HandleResult(items=newest_first(self.items.values()), profile={**defaults, **self.profile},
                            rows=self.rows)


def newest_first(items: Iterable[Item]) -> list[Item]:
    """Items by publication time, newest first; a stable sort keeps undated items in the
    actor's order after the dated ones, and puts an old pinned post where its date says."""
    return sorted(items, key=lambda item: item["published_at"] or "", reverse=True)


class ActorSpec(ABC):
    """How one platform's Apify actor is asked for, and how its output is read.

    Subclasses give the actor input and three readers of a raw row: which handle it
    belongs to, the item it holds, and what it reveals about the handle's profile.
    `price_per_result_usd` is the Store's published price, used only to cap what a run
    may charge (`max_charge_usd`); what a run did cost is read from the run itself.
    """

    platform: str
    default_actor_id: str
    price_per_result_usd: float
    date_filter = True
    """Whether the actor takes a date filter; without one an incremental run asks for few items."""
    fill_batch_size: int | None = None
    """Handles per run when a run asks for the newest items with no date filter (None: any)."""

    @abstractmethod
    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        """The input of ONE run fetching the latest `limit` items of each handle, or only
        those published after `since`."""

    def per_handle(self, limit: int, since: datetime | None = None) -> int:
        """Rows one handle may yield in a run."""
        return limit

    def max_items(self, handles: list[str], limit: int, since: datetime | None = None) -> int:
        """The run's `maxItems` cost cap: what we would keep, and not one row more."""
        return self.per_handle(limit, since) * len(handles)

    def max_charge_usd(self, handles: list[str], limit: int, since: datetime | None = None) -> float:
        """The run's `maxTotalChargeUsd`: `max_items` at the published price, and never below
        the floor Apify asks of pay-per-result runs (`minimalMaxTotalChargeUsd`)."""
        return max(MIN_CHARGE_CAP_USD, self.max_items(handles, limit, since) * self.price_per_result_usd)

    @abstractmethod
    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        """Values naming the row's handle, most trustworthy first."""

    @abstractmethod
    def normalize(self, raw: dict[str, Any]) -> Item | None:
        """The row as an item, or None when it has no usable id."""

    def profile(self, raw: dict[str, Any], handle: str) -> Profile:
        """What the row reveals about `handle`'s account (see `profile_fields`)."""
        return {}

    def relative_date(self, raw: dict[str, Any], now: datetime) -> str | None:
        """A date for a row the actor dated relatively ('3 days ago'); None by default."""
        return None

    def adopt(self, unmatched: list[dict[str, Any]], starving: list[str]) -> dict[int, str]:
        """Owners for rows no handle claimed (index in `unmatched` -> one of `starving`, the
        handles left without items or error); none by default."""
        return {}

    def profile_url(self, handle: str) -> str | None:
        """The account's page, built from its handle."""
        return None

    def account_url(self, name: object) -> str | None:
        """`profile_url` of a name found in a row, when it is a well-formed handle."""
        handle = self.canonical(name)
        return self.profile_url(handle) if handle else None

    def canonical(self, name: object) -> str | None:
        return normalize_handle(self.platform, name) if isinstance(name, str) else None

    def parse(self, raw_items: Iterable[object], handles: list[str], now: datetime | None = None) -> ParsedOutput:
        """Per-handle items (deduplicated, newest first) and the count of unusable rows.

        `now` (default: the present) dates rows the actor dated relatively.
        """
        lookup = {self.canonical(handle) or handle: handle for handle in handles}
        buckets = {handle: _Bucket() for handle in handles}
        moment = now or datetime.now(UTC)
        unmatched: list[dict[str, Any]] = []
        skipped = 0
        for raw in raw_items:
            outcome = self._collect(raw, lookup, buckets, moment)
            if outcome is None and isinstance(raw, dict):
                unmatched.append(raw)
            elif not outcome:
                skipped += 1
        if unmatched:
            skipped += len(unmatched) - self._file_adopted(unmatched, buckets, moment)
        return ParsedOutput(
            handles={handle: bucket.result(self._default_profile(handle)) for handle, bucket in buckets.items()},
            skipped=skipped,
        )

    def _file_adopted(self, unmatched: list[dict[str, Any]], buckets: dict[str, _Bucket], now: datetime) -> int:
        """File the rows `adopt` found owners for; returns how many became items."""
        starving = [handle for handle, bucket in buckets.items() if not bucket.items and bucket.error is None]
        filed = 0
        for index, handle in self.adopt(unmatched, starving).items():
            buckets[handle].rows += 1
            read = self._read_row(unmatched[index], handle, now)
            if read is not None:
                buckets[handle].add(*read)
                filed += 1
        return filed

    def _collect(self, raw: object, lookup: dict[str, str], buckets: dict[str, _Bucket], now: datetime) -> bool | None:
        """File one row under its handle; False when it is not a usable item, None when no
        requested handle claims it (it may still be adopted)."""
        if not isinstance(raw, dict):
            return False
        handle = self._attribute(raw, lookup)
        error = row_error(raw)
        if handle is not None:
            buckets[handle].rows += 1
        if error is not None and handle is not None:
            buckets[handle].error = buckets[handle].error or error
        if error is not None:
            return False
        if handle is None:
            return None
        read = self._read_row(raw, handle, now)
        if read is None:
            return False
        buckets[handle].add(*read)
        return True

    def _attribute(self, raw: dict[str, Any], lookup: dict[str, str]) -> str | None:
        for candidate in self.handle_candidates(raw):
            key = self.canonical(candidate)
            if key is not None and key in lookup:
                return lookup[key]
        return None

    def _read_row(self, raw: dict[str, Any], handle: str, now: datetime) -> tuple[Item, Profile] | None:
        """The row's item and profile values; a shape we did not foresee costs the row, not the run."""
        try:
            item = self.normalize(raw)
            if item is None:
                return None
            if item["published_at"] is None:
                item["published_at"] = self.relative_date(raw, now)
            return item, self.profile(raw, handle)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError):
            log.warning("%s: skipped a row the parser could not read", self.platform, exc_info=True)
            return None

    def _default_profile(self, handle: str) -> Profile:
        profile: Profile = dict.fromkeys(PROFILE_KEYS)
        profile.update(handle=handle, url=safe_url(self.profile_url(handle)))
        return profile
