"""Clients, their keys and the sources they track: the operations behind the CLI and admin.

A source is created the first time any client tracks it and shared from then on; it
gets its feed-cache row (status "pending") at the same moment, so the refresher sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select, update

from flowkick import keys
from flowkick.database import Database
from flowkick.plans import DEMO_PLAN
from flowkick.platforms import normalize_handle
from flowkick.tables import Client, ClientSource, FeedCache, Source, Usage

DEMO_CLIENT_NAME = "Demo (Luna Café Berlin)"
DEMO_SECRET_KEY = "sk_demo"
DEMO_HANDLES: dict[str, str] = {
    "instagram": "lunacafe.berlin",
    "tiktok": "lunacafe.berlin",
    "google_reviews": "ChIJLunaCafeBerlin01",
    "twitter": "lunacafeberlin",
    "youtube": "lunacafeberlin",
    "facebook": "lunacafe.berlin",
}


@dataclass(frozen=True)
class NewClient:
    id: int
    publishable_key: str
    secret_key: str


@dataclass(frozen=True)
class ClientSummary:
    id: int
    name: str
    plan: str
    active: bool
    origins: list[str]
    sources: list[tuple[str, str]]


class InvalidHandle(ValueError):
    pass


async def create_client(
    db: Database,
    name: str,
    sources: Mapping[str, Sequence[str]],
    *,
    now: float,
    origins: Sequence[str] = (),
    plan: str = "free",
    email: str = "",
    publishable_key: str | None = None,
    secret_key: str | None = None,
) -> NewClient:
    """Create a client tracking `sources` ({platform: [handles]}); keys are returned only here."""
    wanted = _normalized(sources)
    pk = publishable_key or keys.generate("publishable")
    sk = secret_key or keys.generate("secret")

    async def work(session: AsyncSession) -> int:
        client = Client(name=name, email=email, plan=plan, allowed_origins=list(origins),
                        publishable_key_hash=keys.hash_key(pk), secret_key_hash=keys.hash_key(sk), created_at=now)
        session.add(client)
        await session.flush()
        assert client.id is not None
        for platform, handle in wanted:
            await _track(session, client.id, platform, handle, now)
        return client.id

    return NewClient(id=await db.write(work), publishable_key=pk, secret_key=sk)


async def track(db: Database, client_id: int, platform: str, handle: str, *, now: float) -> int:
    """Make a client show a source (created if new); returns the source id."""
    ((platform, handle),) = _normalized({platform: [handle]})
    return await db.write(lambda session: _track(session, client_id, platform, handle, now))


async def list_clients(db: Database) -> list[ClientSummary]:
    async def work(session: AsyncSession) -> list[ClientSummary]:
        clients = (await session.execute(select(Client).order_by(Client.id))).scalars().all()
        links = (await session.execute(
            select(ClientSource.client_id, Source.platform, Source.handle)
            .join(Source, Source.id == ClientSource.source_id)
            .order_by(Source.platform, Source.handle)
        )).all()
        by_client: dict[int, list[tuple[str, str]]] = {}
        for client_id, platform, handle in links:
            by_client.setdefault(client_id, []).append((platform, handle))
        return [ClientSummary(c.id or 0, c.name, c.plan, c.active, list(c.allowed_origins), by_client.get(c.id or 0, []))
                for c in clients]

    return await db.read(work)


async def remove_client(db: Database, client_id: int) -> bool:
    """Delete a client, its links and usage; sources nobody tracks any more stop refreshing."""
    async def work(session: AsyncSession) -> bool:
        client = await session.get(Client, client_id)
        if client is None:
            return False
        await session.execute(delete(ClientSource).where(ClientSource.client_id == client_id))  # type: ignore[arg-type]
        await session.execute(delete(Usage).where(Usage.client_id == client_id))  # type: ignore[arg-type]
        await session.delete(client)
        return True

    return await db.write(work)


async def ensure_demo_client(db: Database, *, now: float) -> None:
    """Demo mode: the documented pk_demo client exists and tracks a sample café on every platform.

    It is on the demo plan (no quota, no burst limit), so example pages never stop working.
    """
    client_id = await _demo_client_id(db)
    if client_id is None:
        await create_client(db, DEMO_CLIENT_NAME, {p: [h] for p, h in DEMO_HANDLES.items()}, now=now, plan=DEMO_PLAN,
                            publishable_key=keys.DEMO_PUBLISHABLE_KEY, secret_key=DEMO_SECRET_KEY)
    else:
        await db.write(lambda s: s.execute(update(Client).where(col(Client.id) == client_id).values(plan=DEMO_PLAN)))


async def remove_demo_client(db: Database) -> None:
    """Outside demo mode no fixed, publicly known key may work."""
    client_id = await _demo_client_id(db)
    if client_id is not None:
        await remove_client(db, client_id)


async def _demo_client_id(db: Database) -> int | None:
    demo_hash = keys.hash_key(keys.DEMO_PUBLISHABLE_KEY)

    async def work(session: AsyncSession) -> int | None:
        return (await session.execute(select(Client.id).where(Client.publishable_key_hash == demo_hash))).scalar()

    return await db.read(work)


async def _track(session: AsyncSession, client_id: int, platform: str, handle: str, now: float) -> int:
    source = (await session.execute(
        select(Source).where(Source.platform == platform, Source.handle == handle)
    )).scalar_one_or_none()
    if source is None:
        source = Source(platform=platform, handle=handle, created_at=now)
        session.add(source)
        await session.flush()
        session.add(FeedCache(source_id=source.id))
    assert source.id is not None
    if await session.get(ClientSource, (client_id, source.id)) is None:
        session.add(ClientSource(client_id=client_id, source_id=source.id, created_at=now))
    return source.id


def _normalized(sources: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for platform, handles in sources.items():
        for raw in handles:
            handle = normalize_handle(platform, raw)
            if handle is None:
                raise InvalidHandle(f"{raw!r} is not a valid {platform} handle")
            if (platform, handle) not in pairs:
                pairs.append((platform, handle))
    return pairs
