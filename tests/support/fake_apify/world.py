"""What exists "out there" on the six platforms, as the fake actors see it.

The fake actors never invent state of their own: every handle exists and has
`default_post_count` posts unless a test says otherwise here. Tests reshape the world
while the server runs (remove an account, publish a new post, replace a handle's items
with hostile or malformed ones), so every method is safe to call from any thread.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

# Google place ids are case-sensitive; every other platform's handles are not.
_CASE_SENSITIVE = {"google_reviews"}

BASE_TIME = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)
POST_INTERVAL = timedelta(hours=20)


def seed(*parts: object) -> int:
    """A stable integer derived from `parts`, so generated data is the same on every run."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def handle_key(platform: str, handle: str) -> str:
    """One spelling per account: '@LunaCafe.Berlin' and 'lunacafe.berlin' are the same."""
    cleaned = handle.strip().lstrip("@")
    return cleaned if platform in _CASE_SENSITIVE else cleaned.lower()


class World:
    """Accounts, their post counts and any items a test substituted for them."""

    def __init__(self, *, base_time: datetime = BASE_TIME, default_post_count: int = 20,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.base_time = base_time
        self.default_post_count = default_post_count
        self.post_interval = POST_INTERVAL
        """Time between two of an account's posts before `base_time` (jittered)."""
        self.clock = clock or (lambda: datetime.now(UTC))
        """When `publish` happens: the wall clock, or a benchmark's simulated one."""
        self._initial = (default_post_count, self.clock)
        self._lock = threading.Lock()
        self._removed: set[tuple[str, str]] = set()
        self._counts: dict[tuple[str, str], int] = {}
        self._overrides: dict[tuple[str, str], list[Any]] = {}
        self._pinned: dict[tuple[str, str], set[int]] = {}
        self._relative: set[tuple[str, str]] = set()
        self._place_ids: dict[str, str] = {}
        self._published: dict[tuple[str, str, int], datetime] = {}

    def remove(self, platform: str, handle: str) -> None:
        """Make an account disappear: the actor answers with its error row from now on."""
        with self._lock:
            self._removed.add((platform, handle_key(platform, handle)))

    def restore(self, platform: str, handle: str) -> None:
        """Bring a removed account back with the posts it had."""
        with self._lock:
            self._removed.discard((platform, handle_key(platform, handle)))

    def exists(self, platform: str, handle: str) -> bool:
        with self._lock:
            return (platform, handle_key(platform, handle)) not in self._removed

    def set_items(self, platform: str, handle: str, items: list[Any]) -> None:
        """Serve `items` verbatim (up to the run's limits) for this handle instead of generated posts."""
        with self._lock:
            self._overrides[(platform, handle_key(platform, handle))] = copy.deepcopy(items)

    def clear_items(self, platform: str, handle: str) -> None:
        with self._lock:
            self._overrides.pop((platform, handle_key(platform, handle)), None)

    def override(self, platform: str, handle: str) -> list[Any] | None:
        """A copy of the items a test substituted for this handle, or None."""
        with self._lock:
            items = self._overrides.get((platform, handle_key(platform, handle)))
            return copy.deepcopy(items) if items is not None else None

    def publish(self, platform: str, handle: str, count: int = 1) -> None:
        """The account posts `count` new items now (by `clock`), a second apart."""
        now = self.clock().replace(microsecond=0)
        with self._lock:
            key = (platform, handle_key(platform, handle))
            first = self._counts.get(key, self.default_post_count)
            self._counts[key] = first + count
            for number in range(count):
                self._published[(*key, first + number)] = now - timedelta(seconds=count - 1 - number)

    def set_post_count(self, platform: str, handle: str, count: int) -> None:
        with self._lock:
            self._counts[(platform, handle_key(platform, handle))] = count

    def post_count(self, platform: str, handle: str) -> int:
        with self._lock:
            return self._counts.get((platform, handle_key(platform, handle)), self.default_post_count)

    def posted_at(self, platform: str, handle: str, index: int) -> datetime:
        """When post number `index` (0 = oldest) went up.

        Anchored so that the default newest post lands just before `base_time`; posts
        `publish`ed later went up when they were published, and existing posts never move.
        """
        key = handle_key(platform, handle)
        with self._lock:
            published = self._published.get((platform, key, index))
        if published is not None:
            return published
        anchor = self.base_time - self.post_interval * (self.default_post_count - 1)
        jitter = timedelta(minutes=seed(platform, key) % 180 + seed(platform, key, index) % 50)
        return (anchor + self.post_interval * index - jitter).replace(microsecond=0)

    def pin(self, platform: str, handle: str, index: int) -> None:
        """The account pins post number `index` (0 = oldest): it now comes first in the actor's output."""
        with self._lock:
            self._pinned.setdefault((platform, handle_key(platform, handle)), set()).add(index)

    def pinned(self, platform: str, handle: str) -> set[int]:
        with self._lock:
            return set(self._pinned.get((platform, handle_key(platform, handle)), ()))

    def date_relatively(self, platform: str, handle: str) -> None:
        """The actor dates this account's items as '3 days ago' (YouTube channel lists do)."""
        with self._lock:
            self._relative.add((platform, handle_key(platform, handle)))

    def dated_relatively(self, platform: str, handle: str) -> bool:
        with self._lock:
            return (platform, handle_key(platform, handle)) in self._relative

    def change_place_id(self, place_id: str, new_id: str) -> None:
        """Google gives the place a new id: its rows carry `new_id` though asked for by the old one."""
        with self._lock:
            self._place_ids[place_id] = new_id

    def place_id(self, place_id: str) -> str:
        with self._lock:
            return self._place_ids.get(place_id, place_id)

    def reset(self) -> None:
        """Forget every change a test made."""
        self.default_post_count, self.clock = self._initial
        self.post_interval = POST_INTERVAL
        with self._lock:
            self._removed.clear()
            self._counts.clear()
            self._overrides.clear()
            self._pinned.clear()
            self._relative.clear()
            self._place_ids.clear()
            self._published.clear()
