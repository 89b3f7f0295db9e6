"""The read path's memory, bounded in bytes: one budget shared by its caches.

A process serving thousands of feeds keeps four kinds of things: stored answers (whole
responses), serialized JSON bodies, rendered fragments, and feed copies (serialized).
Counting entries bounds none of them (a wall of six feeds weighs fifty times a one-item
review feed), so each cache gets a share of `FLOWKICK_MEMORY_CACHE_MB` and weighs what it
keeps in bytes, evicting the least recently used first. Each counts its hits and misses
for `/metrics`.

Weights are estimates: a body weighs its bytes in every coding it is kept in; a stored
answer the same (it shares them with the body cache, so the answers' share is an upper
bound, never an undercount) and its own objects and key, as measured (`answers.ANSWER_SIZE`);
a feed copy its compressed JSON (`feeds.FeedSnapshot`). Every entry adds its slot in the
cache (`ENTRY_OVERHEAD`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cachetools import LRUCache, TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Stored answers serve most requests, and last until what they depend on changes: at 30,000
# feeds they answered 91 % of a Zipf mix while the other three caches together answered under
# 1 % (bench/scale.py). Those keep a body for another request of the same feed (another
# page's Referer, a client change that dropped every answer) and a feed copy saves one
# indexed read (`published.py`): small shares do that. A deployment whose feeds all fit
# never feels the shares. With 80 % for the answers (and 10 % for feed copies, then 42 KB
# each in the demo, 3 KB since they are kept compressed) a steady fragment load at 30,000
# feeds missed 4,808 times in 20 s; with 90 %, 3,247 times. The other three answered under
# 0.1 % with 3 % each, so they get 2 %.
SHARES = {"answers": 0.94, "bodies": 0.02, "fragments": 0.02, "feeds": 0.02}
ENTRY_OVERHEAD = 200  # a cache slot: cachetools keeps an entry in three dicts per key


class _Counting(Generic[K, V]):
    """Hit and miss counters, and a `keep` that skips what could never fit."""

    hits = 0
    misses = 0
    maxsize: float

    def find(self, key: K) -> V | None:
        value: V | None = self.get(key)  # type: ignore[attr-defined]
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def keep(self, key: K, value: V) -> None:
        if self.getsizeof(value) <= self.maxsize:  # type: ignore[attr-defined]
            self[key] = value  # type: ignore[index]


class BytesLRU(_Counting[K, V], LRUCache[K, V]):
    """Least recently used first, bounded by the weight of what it keeps."""


class BytesTTL(_Counting[K, V], TTLCache[K, V]):
    """Like `BytesLRU`, and each entry also expires `ttl` seconds after it was kept."""


@dataclass(frozen=True)
class Figures:
    name: str
    hits: int
    misses: int
    bytes: float
    budget: float


class Memory:
    """The budget and the caches cut from it."""

    def __init__(self, megabytes: float) -> None:
        self.budget = megabytes * 1024 * 1024
        self._caches: dict[str, BytesLRU[Any, Any] | BytesTTL[Any, Any]] = {}

    def lru(self, name: str, weigh: Callable[[Any], int]) -> BytesLRU[Any, Any]:
        cache: BytesLRU[Any, Any] = BytesLRU(maxsize=self._share(name), getsizeof=lambda v: weigh(v) + ENTRY_OVERHEAD)
        self._caches[name] = cache
        return cache

    def ttl(self, name: str, seconds: float, weigh: Callable[[Any], int]) -> BytesTTL[Any, Any]:
        cache: BytesTTL[Any, Any] = BytesTTL(maxsize=self._share(name), ttl=seconds,
                                             getsizeof=lambda v: weigh(v) + ENTRY_OVERHEAD)
        self._caches[name] = cache
        return cache

    def figures(self) -> Iterator[Figures]:
        for name, cache in self._caches.items():
            yield Figures(name, cache.hits, cache.misses, cache.currsize, cache.maxsize)

    def _share(self, name: str) -> float:
        return max(1.0, self.budget * SHARES[name])
