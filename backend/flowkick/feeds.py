"""The feed cache as the read path sees it: immutable snapshots of one source's row.

A snapshot's `version` changes on every write to the row (new items, or their pictures
stored), so anything derived from it (serialized JSON, rendered HTML, ETags) can be cached
under (source id, version). Its items are the ones visitors see: every picture address is
our stored copy or None (`flowkick.media.resolve`), never the platform's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from flowkick.database import Database
from flowkick.media.resolve import UrlFor, resolve
from flowkick.memory import COPY_FACTOR
from flowkick.tables import FeedCache


@dataclass(frozen=True)
class FeedSnapshot:
    source_id: int
    version: int
    status: str
    items: tuple[dict[str, Any], ...]
    profile: dict[str, Any]
    fetched_at: float | None
    expires_at: float | None
    next_attempt_at: float | None
    weight: int = 0  # bytes this copy takes in memory, about (see `memory.COPY_FACTOR`)

    def is_stale(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


async def load_snapshot(db: Database, source_id: int, url_for: UrlFor) -> FeedSnapshot | None:
    async def work(session: AsyncSession) -> FeedSnapshot | None:
        row = await session.get(FeedCache, source_id)
        return None if row is None else snapshot_of(row, url_for)

    return await db.read(work)


def snapshot_of(row: FeedCache, url_for: UrlFor) -> FeedSnapshot:
    items, profile = resolve(row.items, row.profile, row.media, url_for)
    return FeedSnapshot(
        source_id=row.source_id,
        version=row.version,
        status=row.status,
        items=tuple(items),
        profile=profile,
        fetched_at=row.fetched_at,
        expires_at=row.expires_at,
        next_attempt_at=row.next_attempt_at,
        weight=COPY_FACTOR * (len(orjson.dumps(items)) + len(orjson.dumps(profile))),
    )


def content_hash(items: list[dict[str, Any]], profile: dict[str, Any]) -> str:
    payload = orjson.dumps({"items": items, "profile": profile}, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()
