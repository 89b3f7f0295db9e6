"""The real app in-process, an injectable clock, and a scriptable stand-in for Apify.

`ScriptedSource` replaces only what is outside the machine (the scraping service): it
answers demo items unless told to fail, counts its calls, and can hold a fetch open so a
test can look at the server while a refresh is in flight.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select
from starlette.applications import Starlette

from flowkick.app import create_app
from flowkick.lookups import UNPUBLISHED
from flowkick.platforms import PLATFORMS
from flowkick.settings import Settings
from flowkick.sources import FetchResult, HandleResult
from flowkick.sources.demo import demo_items, demo_profile
from flowkick.tables import FeedCache

SHUTDOWN_SECONDS = 30
START = 1_790_000_000.0  # 2026-09-21, a fixed "now" for tests that inject time


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.value = now

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class ScriptedSource:
    name = "scripted"

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.calls: list[tuple[str, list[str]]] = []
        self.failing: str | None = None
        self.failing_handles: dict[str, str] = {}
        self.empty_handles: set[str] = set()
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.most_in_flight = 0

    async def fetch(self, platform: str, handles: list[str], limit: int) -> FetchResult:
        self.calls.append((platform, list(handles)))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.failing:
                return FetchResult(status="FAILED", error=self.failing)
            return FetchResult(handles={h: self._result(platform, h, limit) for h in handles}, run_id="run-1")
        finally:
            self.in_flight -= 1

    def _result(self, platform: str, handle: str, limit: int) -> HandleResult:
        if handle in self.failing_handles:
            return HandleResult(error=self.failing_handles[handle])
        if handle in self.empty_handles:
            return HandleResult()
        items = self.items.get(handle) or demo_items(platform, handle, limit, self.clock.now())
        return HandleResult(items=items, profile=demo_profile(platform, handle))


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test app: its own SQLite file, no Apify token, quick ticks, every
    source checked at its platform's TTL (tests of quiet sources turn `quiet_max_hours` on),
    and no burst limit: the test clock stands still, so a key's spent bucket would never
    refill, and a test polling a key on a slow machine would get 429s from then on (tests
    of the limit turn it on)."""
    values: dict[str, Any] = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowkick.db'}", "tick_seconds": 0.05,
                              "quiet_max_hours": 0.0, "burst_per_second": 0.0}
    values.update(overrides)
    return Settings.from_env({}, **values)


def scripted_app(tmp_path: Path, source: ScriptedSource | None = None, **overrides: Any) -> Starlette:
    source = source or ScriptedSource()
    return create_app(settings_for(tmp_path, **overrides), clock=source.clock,
                      sources=dict.fromkeys(PLATFORMS, source))


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (database, refresher, usage flusher) and an HTTP client.

    A shutdown that does not end within SHUTDOWN_SECONDS fails the test and names the tasks
    still running, instead of hanging the suite.
    """
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await lifespan.__aexit__(None, None, None)
        except TimeoutError:
            raise AssertionError("the app did not stop; still running:\n" + _tasks()) from None


def _tasks() -> str:
    return "\n".join(f"{t.get_name()}: {' <- '.join(_awaiting(t.get_coro()))}" for t in asyncio.all_tasks())


def _awaiting(coro: Any) -> list[str]:
    """Where a coroutine waits: its chain of awaits down to the innermost one."""
    chain = []
    while coro is not None and len(chain) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        chain.append(f"{frame.f_code.co_qualname}:{frame.f_lineno}" if frame else repr(coro))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
    return chain


@asynccontextmanager
async def demo_api(tmp_path: Path, *, own_fill: bool = False, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The demo app (pk_demo) with every feed fetched once and its pictures stored;
    `client.app` is the app itself.

    Without overrides it starts from a copy of the folder (database and pictures) that
    the test process's first such app filled, as a restarted server does: the fill took
    most of a test's 1.5 s. Such an app has fetched and downloaded nothing itself, so a
    test of what the fill does or counts asks for `own_fill`."""
    if not overrides and not own_fill:
        shutil.copytree(await _filled_demo(), tmp_path, dirs_exist_ok=True)
    app = scripted_app(tmp_path, **overrides)
    async with running(app) as client:
        await _settled(app, client)
        client.app = app  # type: ignore[attr-defined]
        yield client


_FILLED: list[Path] = []  # the test process's filled demo folder, once made


async def _filled_demo() -> Path:
    if not _FILLED:
        folder = Path(tempfile.mkdtemp(prefix="flowkick-demo-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        app = scripted_app(folder)
        async with running(app) as client:
            await _settled(app, client)
        _FILLED.append(folder)
    return _FILLED[0]


async def _settled(app: Starlette, client: httpx.AsyncClient) -> None:
    await until(lambda: _all_fetched(client))
    await until(lambda: pictures_settled(app))
    await until(lambda: all_published(app))


async def pictures_settled(app: Starlette) -> bool:
    """Every fetched feed's pictures were gathered for its current items."""
    query = select(func.count()).where(FeedCache.status == "ok", col(FeedCache.media_hash) != FeedCache.content_hash)
    waiting = await app.state.db.read(lambda s: s.execute(query))
    return bool(waiting.scalar_one() == 0)


def app_of(client: httpx.AsyncClient) -> Starlette:
    """The app behind a `demo_api` client."""
    return client.app  # type: ignore[attr-defined, no-any-return]


async def feed_row(app: Starlette, source_id: int) -> FeedCache:
    """A feed's row as the database holds it now."""
    return await app.state.db.read(lambda s: s.get(FeedCache, source_id))  # type: ignore[no-any-return]


async def demo_source_id(client: httpx.AsyncClient, platform: str) -> int:
    """The id of the demo key's source on `platform`."""
    view = await app_of(client).state.reader.resolve("pk_demo")
    return int(view.sources[platform][0].source_id)


async def all_published(app: Starlette) -> bool:
    """Every feed's published copy (published.py) is of its row's current version, and this
    process heard so (a copy committed a moment before still forgets the answers it replaces)."""
    return not app.state.reader.publishing and not await app.state.reader.lookups.scan(UNPUBLISHED)


async def _all_fetched(client: httpx.AsyncClient) -> bool:
    answers = [await client.get(f"/api/v1/social/{p}", params={"api_key": "pk_demo"}) for p in PLATFORMS]
    return all(a.status_code == 200 for a in answers)


async def until(condition: Any, *, seconds: float = 30.0) -> None:
    """Yield to the app until `condition()` holds; fails once `seconds` have passed.

    A bound in time, not in tries: on a loaded machine (the suite runs on every core) each
    try takes longer, and a test fails only if the app never gets there."""
    deadline = time.monotonic() + seconds
    while not await _call(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never became true within {seconds:g} s")
        await asyncio.sleep(0.01)


async def _call(condition: Any) -> Any:
    result = condition()
    return await result if asyncio.iscoroutine(result) else result
