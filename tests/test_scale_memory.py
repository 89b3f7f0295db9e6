"""memory.py: the read path's caches bounded in bytes, and their figures in /metrics."""

from __future__ import annotations

import gc
import logging
import tracemalloc
from pathlib import Path

import pytest

from flowkick.answers import ANSWER_SIZE
from flowkick.memory import ENTRY_OVERHEAD, SHARES, BytesLRU, Memory
from flowkick.platforms import PLATFORMS
from tests.support.apps import app_of, demo_api
from tests.test_metrics import samples

TINY_MB = 1  # a few feeds, bodies and fragments: far fewer than the requests below ask for


def _weighed(budget: int) -> BytesLRU[str, bytes]:
    return BytesLRU(maxsize=budget, getsizeof=len)


def test_a_cache_evicts_the_least_recently_used_once_its_bytes_are_spent() -> None:
    cache = _weighed(300)
    cache.keep("a", b"a" * 100)
    cache.keep("b", b"b" * 100)
    cache.find("a")
    cache.keep("c", b"c" * 150)
    assert set(cache) == {"a", "c"} and cache.currsize == 250


def test_a_value_heavier_than_its_cache_is_not_kept() -> None:
    cache = _weighed(100)
    cache.keep("small", b"s" * 10)
    cache.keep("huge", b"h" * 101)
    assert set(cache) == {"small"}


def test_a_cache_counts_its_hits_and_misses() -> None:
    cache = _weighed(100)
    cache.keep("a", b"a")
    found = [cache.find(k) for k in ("a", "a", "b")]
    assert found == [b"a", b"a", None] and (cache.hits, cache.misses) == (2, 1)


def test_the_budget_is_shared_among_the_caches() -> None:
    memory = Memory(10)
    for name in SHARES:
        memory.lru(name, len)
    assert sum(f.budget for f in memory.figures()) == pytest.approx(10 * 1024 * 1024)


def test_an_entry_weighs_its_value_and_its_slot() -> None:
    cache = Memory(1).lru("bodies", len)
    cache.keep("a", b"x" * 1000)
    assert cache.currsize == 1000 + ENTRY_OVERHEAD


@pytest.mark.anyio
async def test_the_read_path_keeps_within_its_memory_budget(tmp_path: Path) -> None:
    async with demo_api(tmp_path, memory_cache_mb=TINY_MB) as api:  # settled: no feed changes under the loop
        for limit in range(1, 21):
            for platform in PLATFORMS:
                await api.get(f"/api/v1/social/{platform}", params={"api_key": "pk_demo", "limit": limit})
                await api.get(f"/embed/{platform}", params={"api_key": "pk_demo", "limit": limit})
        found = samples((await api.get("/metrics")).text)
    kept = {labels: n for (name, labels), n in found.items() if name == "flowkick_memory_bytes"}
    budget = {labels: n for (name, labels), n in found.items() if name == "flowkick_memory_budget_bytes"}
    assert set(kept) == {(("cache", name),) for name in SHARES}
    assert all(0 < kept[cache] <= budget[cache] for cache in kept), (kept, budget)
    assert sum(budget.values()) == pytest.approx(TINY_MB * 1024 * 1024)


@pytest.mark.anyio
async def test_metrics_report_the_stored_answers_hits_and_misses(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        before = samples((await api.get("/metrics")).text)
        for _ in range(3):
            await api.get("/api/v1/social/youtube", params={"api_key": "pk_demo", "limit": 5})
        after = samples((await api.get("/metrics")).text)
    hits, misses = (("flowkick_memory_hits_total", (("cache", "answers"),)),
                    ("flowkick_memory_misses_total", (("cache", "answers"),)))
    assert (after[hits] - before[hits], after[misses] - before[misses]) == (2, 1)



@pytest.mark.anyio
async def test_a_stored_answer_holds_no_more_than_it_is_weighed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Answers told apart by their Referer share one body: what each holds beyond it (its
    objects, its key, its slot in the cache) is what the budget counts for it. Only what the
    server's code allocated counts (the test's HTTP client keeps some of its own), and the
    access log is off (the test's log capture keeps every record)."""
    count, feed = 300, "/api/v1/social/instagram"
    caplog.set_level(logging.WARNING, logger="flowkick")
    async with demo_api(tmp_path) as api:
        answers = app_of(api).state.reader.answers
        tracemalloc.start(10)
        try:
            for n in range(count):
                for _ in range(2):  # the first builds the answer, the repeat is sent from it
                    await api.get(feed, params={"api_key": "pk_demo"}, headers={"referer": f"https://site{n}.example/"})
            gc.collect()
            servers = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/flowkick/*", all_frames=True)])
        finally:
            tracemalloc.stop()
    held = sum(stat.size for stat in servers.statistics("filename"))
    assert answers.misses >= count and answers.hits >= count
    assert held / count <= ANSWER_SIZE + ENTRY_OVERHEAD
