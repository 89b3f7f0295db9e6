"""What the six Apify actor parsers share: the spec interface, the batch parser, and the
builders of items and profiles (the readers of raw values are in `readers`).

One run fetches several handles, so `ActorSpec.parse` sorts the rows back to the handle
that asked for them and answers for every requested handle, found or not.

A run asks either for the newest `limit` items of each handle (a first fill, a renewal of
counts) or, with `since`, only for items published after that moment (the actor's own
date filter), which is what keeps an Apify bill per result small: see docs/apify.md.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowkick.platforms import normalize_handle
from flowkick.sources import HandleResult, Item, Profile
from flowkick.sources.readers import as_int, as_rating, as_size, as_text, parse_time, safe_url

log = logging.getLogger(__name__)

NO_ITEMS = "no items returned"
# Instagram and TikTok let an account pin up to three posts; they come first in the
# actor's output however old they are, so a fill asks for this many more than it keeps.
PINNED_MAX = 3
# Pay-per-result actors refuse a run whose charge cap is below their floor (Instagram's
# `minimalMaxTotalChargeUsd` is 0.5).
MIN_CHARGE_CAP_USD = 0.5
PROFILE_KEYS = ("name", "handle", "url", "avatar_url", "followers", "rating", "review_count")

_MAX_ERROR_LEN = 300



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
