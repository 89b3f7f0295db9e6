"""Clients, their keys and the sources they track: the operations behind the CLI and admin.

A source is created the first time any client tracks it and shared from then on; it
gets its feed-cache row (status "pending") at the same moment, so the refresher sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

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


# -- operations behind the admin dashboard and the management API ---------------------------

ModerationAction = Literal["hide", "unhide", "pin", "unpin"]


class SourceLimitReached(Exception):
    """The client's plan allows no more sources."""


@dataclass(frozen=True)
class ClientEdit:
    name: str
    email: str
    plan: str
    active: bool
    origins: list[str]
    keywords: list[str]
    min_rating: int | None


@dataclass(frozen=True)
class TrackedSource:
    """One of a client's sources with its feed's state, as the dashboard and the API show it."""

    id: int
    platform: str
    handle: str
    status: str
    item_count: int
    fetched_at: float | None
    expires_at: float | None
    next_attempt_at: float | None
    last_error: str | None
    hidden_ids: list[str]
    pinned_ids: list[str]


async def get_client(db: Database, client_id: int) -> Client | None:
    return await db.read(lambda session: session.get(Client, client_id))


async def update_client(db: Database, client_id: int, edit: ClientEdit) -> bool:
    async def work(session: AsyncSession) -> bool:
        client = await session.get(Client, client_id)
        if client is None:
            return False
        client.name, client.email, client.plan, client.active = edit.name, edit.email, edit.plan, edit.active
        client.allowed_origins, client.keyword_filter, client.min_rating = edit.origins, edit.keywords, edit.min_rating
        return True

    return await db.write(work)


async def set_active(db: Database, client_id: int, active: bool) -> bool:
    result = await db.write(lambda s: s.execute(update(Client).where(col(Client.id) == client_id).values(active=active)))
    return bool(getattr(result, "rowcount", 0))


async def rotate_key(db: Database, client_id: int, kind: keys.KeyKind, *, now: float, grace_seconds: float) -> str | None:
    """A new key of `kind` (returned once); the old one keeps working for `grace_seconds`."""
    new_key = keys.generate(kind)

    async def work(session: AsyncSession) -> bool:
        client = await session.get(Client, client_id)
        if client is None:
            return False
        if kind == "publishable":
            client.previous_publishable_key_hash = client.publishable_key_hash
            client.previous_publishable_expires_at = now + grace_seconds
            client.publishable_key_hash = keys.hash_key(new_key)
        else:
            client.previous_secret_key_hash = client.secret_key_hash
            client.previous_secret_expires_at = now + grace_seconds
            client.secret_key_hash = keys.hash_key(new_key)
        return True

    return new_key if await db.write(work) else None


async def track_within_plan(db: Database, client_id: int, platform: str, handle: str, *, now: float,
                            max_sources: int | None) -> int:
    """`track`, refused with SourceLimitReached when a new source would exceed the plan."""
    ((platform, handle),) = _normalized({platform: [handle]})

    async def work(session: AsyncSession) -> int:
        tracked = await _tracked_ids(session, client_id)
        existing = (await session.execute(select(Source.id).where(Source.platform == platform,
                                                                  Source.handle == handle))).scalar()
        if max_sources is not None and existing not in tracked and len(tracked) >= max_sources:
            raise SourceLimitReached(f"the plan allows {max_sources} sources")
        return await _track(session, client_id, platform, handle, now)

    return await db.write(work)


async def untrack(db: Database, client_id: int, source_id: int) -> bool:
    """Stop showing a source; when nobody tracks it any more the refresher stops fetching it."""
    result = await db.write(lambda s: s.execute(delete(ClientSource).where(
        col(ClientSource.client_id) == client_id, col(ClientSource.source_id) == source_id)))
    return bool(getattr(result, "rowcount", 0))


async def client_sources(db: Database, client_id: int) -> list[TrackedSource]:
    async def work(session: AsyncSession) -> list[TrackedSource]:
        rows = await session.execute(
            select(ClientSource, Source, FeedCache)
            .join(Source, col(Source.id) == ClientSource.source_id)
            .join(FeedCache, col(FeedCache.source_id) == ClientSource.source_id)
            .where(ClientSource.client_id == client_id)
            .order_by(Source.platform, Source.handle))
        return [TrackedSource(s.id or 0, s.platform, s.handle, f.status, f.item_count, f.fetched_at, f.expires_at,
                              f.next_attempt_at, f.last_error, list(link.hidden_ids), list(link.pinned_ids))
                for link, s, f in rows.all()]

    return await db.read(work)


async def moderate(db: Database, client_id: int, item_id: str, action: ModerationAction) -> bool:
    """Hide, unhide, pin or unpin an item of one of the client's own feeds; False when it has no such item."""
    async def work(session: AsyncSession) -> bool:
        rows = await session.execute(
            select(ClientSource, FeedCache.items)
            .join(FeedCache, col(FeedCache.source_id) == ClientSource.source_id)
            .where(ClientSource.client_id == client_id))
        for link, items in rows.all():
            if any(isinstance(i, dict) and i.get("id") == item_id for i in items):
                _apply_moderation(link, item_id, action)
                return True
        return False

    return await db.write(work)


def _apply_moderation(link: ClientSource, item_id: str, action: ModerationAction) -> None:
    """Lists are reassigned, not mutated, so the JSON columns are seen as changed."""
    field_name = "hidden_ids" if action in ("hide", "unhide") else "pinned_ids"
    current = [i for i in getattr(link, field_name) if i != item_id]
    setattr(link, field_name, current + [item_id] if action in ("hide", "pin") else current)


async def _tracked_ids(session: AsyncSession, client_id: int) -> set[int]:
    ids = await session.execute(select(ClientSource.source_id).where(ClientSource.client_id == client_id))
    return set(ids.scalars())
