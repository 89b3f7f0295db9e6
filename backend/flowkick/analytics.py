"""Analytics without cookies: which feeds visitors saw and which posts they opened.

widget/analytics.js sends one `navigator.sendBeacon` per event to `POST /api/v1/events`
with the publishable key in the URL and `{"type": "view"}` or `{"type": "click", "item":
"<item id>"}` as the body; a browser sending Global Privacy Control sends nothing at all.
What is kept: views and clicks per client and day (the usage row) and clicks per post and
day (item_clicks), counted in memory and flushed with the usage counters (usage.py). What
is not: no cookie is read or set, no visitor identifier exists, and no IP address is
written anywhere: the per-sender limit keys its buckets by a keyed hash of the address,
with a key made at start and never stored, kept in memory for minutes.

Limits against inflation, each answering 429 with Retry-After (a beacon ignores it):

    per sender   FLOWKICK_ANALYTICS_PER_MINUTE events a minute (a token bucket)
    per client   FLOWKICK_ANALYTICS_DAILY_EVENTS views and clicks a day
    per post     FLOWKICK_ANALYTICS_ITEM_CLICKS clicks a day

The daily limits are counted in this process's memory, so after a restart (or across
several processes) a client can reach them again; the counts themselves survive restarts.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections import Counter
from dataclasses import dataclass

import orjson

from flowkick.clock import Clock, day
from flowkick.errors import BadParameter, TooManyRequests
from flowkick.quotas import TokenBucket
from flowkick.readpath import ClientView
from flowkick.settings import Settings
from flowkick.usage import UsageCounter

MAX_BODY = 1024
_ITEM_ID = re.compile(r"[a-z_]{1,20}:[A-Za-z0-9_.:@-]{1,160}")


@dataclass(frozen=True)
class Event:
    kind: str  # "view" or "click"
    item_id: str | None = None


def parse(body: bytes, client: ClientView) -> Event:
    """One event from a beacon's body; a click names a post of a platform the client shows."""
    try:
        data = orjson.loads(body) if len(body) <= MAX_BODY else None
    except orjson.JSONDecodeError:
        data = None
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "view":
        return Event("view")
    item = data.get("item") if isinstance(data, dict) else None
    if kind != "click" or not isinstance(item, str) or not _ITEM_ID.fullmatch(item):
        raise BadParameter('send {"type": "view"} or {"type": "click", "item": "<item id>"}', code="bad_event")
    if item.split(":", 1)[0] not in client.sources:
        raise BadParameter("that post is on a platform this key does not show", code="bad_event")
    return Event("click", item)


class Analytics:
    """Admits events against the limits and hands them to the usage counter."""

    def __init__(self, usage: UsageCounter, clock: Clock, settings: Settings) -> None:
        self.usage = usage
        self.clock = clock
        self.daily_events = settings.analytics_daily_events
        self.item_clicks = settings.analytics_item_clicks
        self.senders = TokenBucket(settings.analytics_per_minute / 60, settings.analytics_per_minute, clock)
        self._salt = secrets.token_bytes(16)
        self._day = ""
        self._per_client: Counter[int] = Counter()
        self._per_item: Counter[tuple[int, str]] = Counter()

    def record(self, client: ClientView, event: Event, address: str) -> None:
        """Count the event, or raise RateLimited when a limit is reached."""
        wait = self.senders.take(self._sender(address))
        if wait:
            raise _limited("too many events from one sender", wait, "events_rate_limited")
        self._roll_day()
        if self._per_client[client.id] >= self.daily_events:
            raise _limited("this client's events for today are counted", self._day_left(), "events_daily_limit")
        if event.item_id and self._per_item[(client.id, event.item_id)] >= self.item_clicks:
            raise _limited("this post's clicks for today are counted", self._day_left(), "events_item_limit")
        self._per_client[client.id] += 1
        if event.item_id:
            self._per_item[(client.id, event.item_id)] += 1
        self.usage.event(client.id, event.kind, event.item_id)

    def _sender(self, address: str) -> str:
        """A keyed hash of the address: enough to tell senders apart for a while, never stored."""
        return hashlib.blake2b(address.encode(), key=self._salt, digest_size=12).hexdigest()

    def _roll_day(self) -> None:
        today = day(self.clock.now())
        if today != self._day:
            self._day = today
            self._per_client.clear()
            self._per_item.clear()

    def _day_left(self) -> float:
        now = self.clock.now()
        return 86400 - now % 86400


def _limited(message: str, wait: float, code: str) -> TooManyRequests:
    return TooManyRequests(message, code=code, headers={"Retry-After": str(max(1, math.ceil(wait)))})
