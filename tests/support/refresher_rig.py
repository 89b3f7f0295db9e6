"""The real refresher on a real database, fed by a `ScriptedSource`; only time is injected.

`make_rig(tmp_path)` uses the test's own SQLite file; pass `database_url=` to run the same
rig on another database (the PostgreSQL tests do).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import select

from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.platforms import PLATFORMS
from flowkick.refresher import Refresher
from flowkick.settings import Settings
from flowkick.tables import FeedCache, RefreshRun
from tests.support.apps import FakeClock, ScriptedSource, settings_for


@dataclass
class Rig:
    db: Database
    source: ScriptedSource
    clock: FakeClock
    settings: Settings
    refresher: Refresher

    async def track(self, *handles: str, platform: str = "instagram") -> list[int]:
        """Sources for `handles`, tracked by a new client; returns every source id so far."""
        await create_client(self.db, "Client", {platform: list(handles)}, now=self.clock.now())
        return await self.source_ids()

    async def source_ids(self) -> list[int]:
        """Every tracked source's id, oldest first."""
        rows = await self.db.read(lambda s: s.execute(select(FeedCache.source_id).order_by(FeedCache.source_id)))
        return list(rows.scalars())

    async def row(self, source_id: int) -> FeedCache:
        row = await self.db.read(lambda s: s.get(FeedCache, source_id))
        assert row is not None
        return row

    async def runs(self) -> list[RefreshRun]:
        return list((await self.db.read(lambda s: s.execute(select(RefreshRun).order_by(RefreshRun.id)))).scalars())


async def make_rig(tmp_path: Path, **overrides: Any) -> Rig:
    settings = settings_for(tmp_path, **overrides)
    db = Database(settings.database_url)
    await db.connect()
    source = ScriptedSource()
    refresher = Refresher(db, dict.fromkeys(PLATFORMS, source), settings, source.clock, rng=random.Random(7))
    return Rig(db, source, source.clock, settings, refresher)
