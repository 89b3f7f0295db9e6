"""The Apify side of Flowkick against the fake Apify server: settings, a refresher rig, a live app.

`ApifyRig` is the real refresher with the real `ApifySource` (the official client talking
to the fake over HTTP) on a real SQLite file; only time is injected. `serving` runs the
whole app under uvicorn on a port known before the app is built, because the app must
tell Apify where to call back (FLOWKICK_PUBLIC_URL).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from flowkick.app import default_sources
from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.refresher import Refresher
from flowkick.settings import Settings
from flowkick.sources.apify import ApifySource
from flowkick.tables import FeedCache, RefreshRun, Source, WebhookEvent
from tests.support.apps import FakeClock, settings_for
from tests.support.fake_apify import FakeApify


def apify_settings(tmp_path: Path, fake: FakeApify, **overrides: Any) -> Settings:
    """Settings of an app in Apify mode pointed at the fake, with quick polls and retries."""
    values: dict[str, Any] = {
        "apify_token": fake.token, "apify_api_url": fake.url, "apify_poll_seconds": 0.05,
        "apify_retry_delay_seconds": 0.01,
    }
    return settings_for(tmp_path, **{**values, **overrides})


@dataclass
class ApifyRig:
    fake: FakeApify
    db: Database
    clock: FakeClock
    settings: Settings
    source: ApifySource
    refresher: Refresher

    def new_refresher(self) -> Refresher:
        """Another process's refresher on the same database (say, after a restart)."""
        sources = default_sources(self.settings, self.clock)
        return Refresher(self.db, sources, self.settings, self.clock, rng=random.Random(7))

    async def track(self, platform: str, *handles: str) -> None:
        await create_client(self.db, "Client", {platform: list(handles)}, now=self.clock.now())

    async def feed(self, platform: str, handle: str) -> FeedCache:
        query = (select(FeedCache).join(Source, col(Source.id) == FeedCache.source_id)
                 .where(Source.platform == platform, Source.handle == handle))
        return (await self.db.read(lambda s: s.execute(query))).scalar_one()

    async def runs(self) -> list[RefreshRun]:
        query = select(RefreshRun).order_by(col(RefreshRun.id))
        return list((await self.db.read(lambda s: s.execute(query))).scalars())

    async def webhook_events(self) -> list[WebhookEvent]:
        return list((await self.db.read(lambda s: s.execute(select(WebhookEvent)))).scalars())

    def cli_env(self) -> dict[str, str]:
        """The environment of a `flowkick` command working on this rig's database and fake."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FLOWKICK_", "APIFY_"))}
        env.update(FLOWKICK_DATABASE_URL=self.settings.database_url, FLOWKICK_APIFY_TOKEN=self.fake.token,
                   FLOWKICK_APIFY_API_URL=self.fake.url, FLOWKICK_APIFY_POLL_SECONDS="0.05")
        return env

    async def make_due(self, platform: str, *handles: str) -> None:
        """Let the sources' data expire and a visitor ask for them again."""
        self.clock.advance(self.settings.ttl(platform) + 1)
        for handle in handles:
            self.refresher.request((await self.feed(platform, handle)).source_id)


@asynccontextmanager
async def apify_rig(tmp_path: Path, fake: FakeApify, **overrides: Any) -> AsyncIterator[ApifyRig]:
    settings = apify_settings(tmp_path, fake, **overrides)
    db = Database(settings.database_url)
    await db.connect()
    clock = FakeClock(time.time())
    sources = default_sources(settings, clock)
    source = sources["instagram"]
    assert isinstance(source, ApifySource)
    refresher = Refresher(db, sources, settings, clock, rng=random.Random(7))
    try:
        yield ApifyRig(fake, db, clock, settings, source, refresher)
    finally:
        await db.close()


