"""Read-only reports for the dashboard and the management API (never on the hot path)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.database import Database
from flowkick.tables import ClientSource, FeedCache, RefreshRun, Source, Usage


@dataclass(frozen=True)
class DayUsage:
    client_id: int
    day: str
    requests: int
    cache_hits: int
    errors: int
    views: int = 0
    clicks: int = 0


@dataclass(frozen=True)
class SourceRow:
    id: int
    platform: str
    handle: str
    clients: int
    status: str
    item_count: int
    fetched_at: float | None
    expires_at: float | None
    next_attempt_at: float | None
    last_requested_at: float | None
    last_error: str | None
    error_count: int
    pictures: int = 0
    picture_failures: int = 0


async def usage_by_day(db: Database, since_day: str, client_id: int | None = None) -> list[DayUsage]:
    query = select(Usage).where(Usage.day >= since_day).order_by(Usage.day, Usage.client_id)
    if client_id is not None:
        query = query.where(Usage.client_id == client_id)

    async def work(session: AsyncSession) -> list[DayUsage]:
        rows = (await session.execute(query)).scalars().all()
        return [DayUsage(u.client_id, u.day, u.requests, u.cache_hits, u.errors, u.views, u.clicks) for u in rows]

    return await db.read(work)


async def sources(db: Database) -> list[SourceRow]:
    clients = (select(ClientSource.source_id, func.count().label("n")).group_by(ClientSource.source_id).subquery())
    query = (select(Source, FeedCache, func.coalesce(clients.c.n, 0))
             .join(FeedCache, col(FeedCache.source_id) == Source.id)
             .outerjoin(clients, clients.c.source_id == Source.id)
             .order_by(Source.platform, Source.handle))

    async def work(session: AsyncSession) -> list[SourceRow]:
        return [SourceRow(s.id or 0, s.platform, s.handle, int(n), f.status, f.item_count, f.fetched_at, f.expires_at,
                          f.next_attempt_at, f.last_requested_at, f.last_error, f.error_count,
                          sum(1 for r in f.media.values() if isinstance(r, dict) and r.get("d")), f.media_failures)
                for s, f, n in (await session.execute(query)).all()]

    return await db.read(work)


async def recent_runs(db: Database, limit: int = 100) -> list[RefreshRun]:
    query = select(RefreshRun).order_by(col(RefreshRun.started_at).desc(), col(RefreshRun.id).desc()).limit(limit)
    return await db.read(lambda s: _all(s, query))


async def cost_since(db: Database, since: float) -> float:
    query = select(func.coalesce(func.sum(RefreshRun.cost_usd), 0.0)).where(RefreshRun.started_at >= since)
    return float(await db.read(lambda s: _scalar(s, query)))


async def _all(session: AsyncSession, query: object) -> list[RefreshRun]:
    return list((await session.execute(query)).scalars().all())  # type: ignore[call-overload]


async def _scalar(session: AsyncSession, query: object) -> object:
    return (await session.execute(query)).scalar_one()  # type: ignore[call-overload]
