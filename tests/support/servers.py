"""Live servers for tests: the real app under uvicorn on 127.0.0.1, in a thread.

Browser, WordPress and webhook tests need a real port; `serving` also hands the URL to
the app's builder first, for apps that must know their own address (webhook callbacks).
`StaticSource` stands in for Apify with given items, held back until its gate opens.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from flowkick.app import create_app
from flowkick.clients import NewClient, create_client
from flowkick.database import Database
from flowkick.platforms import PLATFORMS
from flowkick.settings import Settings
from flowkick.sources import FetchResult, HandleResult, Source

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_app(app: Any) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 in a thread, lifespan included; yields its URL."""
    with serving(lambda url: app) as url:
        yield url


def demo_app(database: Path, sources: Mapping[str, Source] | None = None) -> Any:
    """The real app in demo mode (pk_demo on every platform) on its own SQLite file."""
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{database}", tick_seconds=0.2)
    return create_app(settings, sources=sources)


class StaticSource:
    """A source that answers given items for every handle, once `gate` is open."""

    name = "static"

    def __init__(self, items: Mapping[str, list[dict[str, Any]]], gate: threading.Event | None = None) -> None:
        self.items = items
        self.gate = gate

    async def fetch(self, platform: str, handles: list[str], limit: int) -> FetchResult:
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.05)
        profile = {"name": "Test Café", "handle": handles[0], "url": "https://example.com/test-cafe",
                   "avatar_url": None, "followers": 10, "rating": 4.5, "review_count": 2}
        return FetchResult(handles={h: HandleResult(items=list(self.items.get(platform, []))[:limit], profile=profile)
                                    for h in handles})


def new_client(database_url: str, sources: Mapping[str, str]) -> NewClient:
    """A client tracking one handle per platform, made through the Python API on the database
    a live app uses; from a thread of its own, as Playwright's sync API holds this one's loop."""
    async def create() -> NewClient:
        db = Database(database_url)
        await db.connect()
        try:
            return await create_client(db, "Luna Café", {p: [h] for p, h in sources.items()}, now=time.time())
        finally:
            await db.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, create()).result()


def warm(base_url: str, platforms: tuple[str, ...] = PLATFORMS, timeout: float = 60,
         headers: Mapping[str, str] | None = None) -> None:
    """Asks for each feed (the demo's, or the key in `headers`) until the refresher has filled
    it and the media worker has stored its pictures."""
    deadline = time.monotonic() + timeout
    auth = {"headers": dict(headers)} if headers else {"params": {"api_key": "pk_demo"}}
    with httpx.Client(base_url=base_url) as client:
        for platform in platforms:
            while not _pictures_stored(client.get(f"/api/v1/social/{platform}", **auth)):
                assert time.monotonic() < deadline, f"{platform} stayed pending or without its pictures"
                time.sleep(0.1)


def _pictures_stored(answer: httpx.Response) -> bool:
    """A filled feed whose pictures are our copies: the worker stores a feed's pictures (avatars
    included) in one pass, so its media entries tell for the whole feed."""
    if answer.status_code != 200:
        return False
    return all(m["url"] for i in answer.json()["items"] for m in i["media"] if m["type"] == "image")


@contextmanager
def serving(build: Callable[[str], ASGIApp]) -> Iterator[str]:
    """`build(url)`'s app under uvicorn on 127.0.0.1 at `url`, lifespan included."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(build(url), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
