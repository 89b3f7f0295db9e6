"""Client webhooks: an agency's URL gets a signed POST when one of its feeds changes or fails.

    feed.updated   a refresh stored items the client's webhooks had not heard of
    feed.failed    a refresh of one of the client's sources failed

Messages follow the Standard Webhooks scheme (https://www.standardwebhooks.com): headers
`webhook-id` (a `msg_…` id, the same on every retry, for de-duplication),
`webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,` + base64 of the
HMAC-SHA256 of `id.timestamp.body` keyed with the base64-decoded part of the webhook's
`whsec_…` secret, so any Standard Webhooks library verifies them.

The refresher says which sources it just stored (`notice`); the background loop compares
each with its `webhook_baseline` row, writes one `webhook_delivery` row per message (the
delivery log) and sends the due ones. A failed delivery is retried on the Standard
Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and then given up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick import __version__
from flowkick.clock import Clock, iso
from flowkick.database import Database, in_lists
from flowkick.media.download import is_public
from flowkick.outbound import tls_context
from flowkick.settings import Settings
from flowkick.tables import ClientSource, ClientWebhook, FeedCache, Source, WebhookBaseline, WebhookDelivery

log = logging.getLogger("flowkick.webhooks")

EVENTS = ("feed.updated", "feed.failed")
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds before each retry
MAX_WEBHOOKS = 10
LOOP_SECONDS = 2.0
# Rounds start at most this often: the refresher's notices that come meanwhile wait for the
# next round. A round per stored batch cost a first fill of 30,000 feeds 1,200 rounds of a
# write and a read each, to learn 1,200 times that no webhook listens.
ROUND_GAP_SECONDS = 1.0
CLAIM_SECONDS = 60.0  # a delivery being sent is not due elsewhere for this long


class InvalidWebhook(ValueError):
    """A URL or event list that cannot be registered; the message says why."""


# -- signing ------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# -- registering ------------------------------------------------------------------------------------


def check_url(url: str, allow_private: bool) -> str:
    """An http(s) URL whose host resolves only to public addresses (unless private ones are allowed)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidWebhook("the webhook URL must be an http:// or https:// address")
    if not allow_private and not _public_host(parts.hostname):
        raise InvalidWebhook("the webhook URL must point at a public address")
    return url.strip()


def check_events(events: Any) -> list[str]:
    if events is None:
        return list(EVENTS)
    if not isinstance(events, list) or not events or not all(e in EVENTS for e in events):
        raise InvalidWebhook(f"events must be a non-empty list of: {', '.join(EVENTS)}")
    return sorted(set(events), key=EVENTS.index)


def _public_host(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(is_public(str(a)) for a in addresses)


async def register(db: Database, client_id: int, url: str, events: list[str], now: float) -> ClientWebhook:
    """A new webhook for the client; its sources' current items count as already announced."""
    async def work(session: AsyncSession) -> ClientWebhook:
        count = len((await session.execute(select(ClientWebhook.id).where(ClientWebhook.client_id == client_id)
                                           )).all())
        if count >= MAX_WEBHOOKS:
            raise InvalidWebhook(f"a client may register at most {MAX_WEBHOOKS} webhooks")
        hook = ClientWebhook(client_id=client_id, url=url, secret=new_secret(), events=events, created_at=now)
        session.add(hook)
        await session.flush()
        await _baseline_sources(session, client_id)
        return hook

    return await db.write(work)


async def _baseline_sources(session: AsyncSession, client_id: int) -> None:
    rows = (await session.execute(select(FeedCache).join(ClientSource, col(ClientSource.source_id) ==
                                                         FeedCache.source_id)
                                  .where(ClientSource.client_id == client_id))).scalars().all()
    for row in rows:
        if await session.get(WebhookBaseline, row.source_id) is None:
            session.add(WebhookBaseline(source_id=row.source_id, item_ids=_ids(row), error_count=row.error_count))


async def client_webhooks(db: Database, client_id: int | None = None) -> list[ClientWebhook]:
    query = select(ClientWebhook).order_by(col(ClientWebhook.id))
    if client_id is not None:
        query = query.where(ClientWebhook.client_id == client_id)
    return list((await db.read(lambda s: s.execute(query))).scalars().all())


async def remove(db: Database, webhook_id: int, client_id: int | None = None) -> bool:
    async def work(session: AsyncSession) -> bool:
        hook = await session.get(ClientWebhook, webhook_id)
        if hook is None or (client_id is not None and hook.client_id != client_id):
            return False
        await session.delete(hook)
        return True

    return await db.write(work)


async def delivery_log(db: Database, webhook_id: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(col(WebhookDelivery.created_at).desc()).limit(limit)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    return list((await db.read(lambda s: s.execute(query))).scalars().all())


def public(hook: ClientWebhook) -> dict[str, Any]:
    """A webhook as the management API shows it (the secret only once, at creation)."""
    return {"id": hook.id, "url": hook.url, "events": hook.events, "active": hook.active,
            "created_at": iso(hook.created_at)}


def delivery_json(d: WebhookDelivery) -> dict[str, Any]:
    return {"id": d.id, "event": d.event_type, "status": d.status, "attempts": d.attempts,
            "created_at": iso(d.created_at), "delivered_at": iso(d.delivered_at),
            "next_attempt_at": iso(d.next_attempt_at), "last_status_code": d.last_status_code,
            "last_error": d.last_error}


# -- from refreshes to messages -------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    webhook_id: int
    event: str
    payload: dict[str, Any]


class ClientWebhooks:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.allow_private = bool(settings.webhooks_allow_private_hosts)
        self._changed: set[int] = set()
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def notice(self, source_ids: Iterable[int]) -> None:
        """The refresher stored these sources (called from its update hook; never blocks)."""
        self._changed.update(source_ids)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="flowkick-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run_once(self) -> None:
        """Turn noticed refreshes into messages, then send every delivery that is due."""
        async with self._round:
            changed, self._changed = self._changed, set()
            if changed:
                await self.db.write(lambda s: self._enqueue(s, changed))
            await self._send_due()

    async def deliver_due(self) -> None:
        """Send every delivery that is due (one round at a time in this process)."""
        async with self._round:
            await self._send_due()

    async def _send_due(self) -> None:
        now = self.clock.now()
        due = await self.db.read(lambda s: _due(s, now))
        if not due:
            return  # nothing due: no HTTP client is made
        async with httpx.AsyncClient(timeout=10, follow_redirects=False, verify=tls_context(),
                                     headers={"User-Agent": f"Flowkick-Webhooks/{__version__}"}) as http:
            for delivery, hook in due:
                await self._deliver(http, delivery, hook)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), LOOP_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("webhook round failed")
            await asyncio.sleep(ROUND_GAP_SECONDS)

    async def _enqueue(self, session: AsyncSession, source_ids: set[int]) -> None:
        now = self.clock.now()
        for source_id in await _listened(session, source_ids):
            for message in await _messages(session, source_id, now):
                session.add(WebhookDelivery(id="msg_" + secrets.token_urlsafe(18), webhook_id=message.webhook_id,
                                            event_type=message.event, payload=message.payload, created_at=now,
                                            next_attempt_at=now))

    async def _deliver(self, http: httpx.AsyncClient, delivery: WebhookDelivery, hook: ClientWebhook) -> None:
        if not await self.db.write(lambda s: _claim(s, delivery, self.clock.now() + CLAIM_SECONDS)):
            return  # another process is sending it
        body = orjson.dumps(delivery.payload)
        timestamp = int(time.time())  # the wall clock, not the injected one: receivers compare it with theirs
        headers = {"content-type": "application/json", "webhook-id": delivery.id,
                   "webhook-timestamp": str(timestamp), "webhook-signature": sign(hook.secret, delivery.id, timestamp,
                                                                                  body)}
        status, error = None, None
        try:
            check_url(hook.url, self.allow_private)  # again: its name may point elsewhere by now
            answer = await http.post(hook.url, content=body, headers=headers)
            status = answer.status_code
            error = None if answer.is_success else f"HTTP {status}"
        except (httpx.HTTPError, InvalidWebhook) as exc:
            error = f"{type(exc).__name__}: {exc}"
        await self.db.write(lambda s: _record(s, delivery.id, self.clock.now(), status, error))
        log.log(logging.INFO if error is None else logging.WARNING, "webhook delivery", extra={"fields": {
            "delivery": delivery.id, "webhook": hook.id, "client_id": hook.client_id, "event": delivery.event_type,
            "status": status, "error": error, "attempt": delivery.attempts + 1}})


async def _listened(session: AsyncSession, source_ids: set[int]) -> list[int]:
    """The sources among these that an active webhook listens to: one query, however many
    feeds a refresh stored (a first fill stores thousands, usually with no webhook at all)."""
    listened: set[int] = set()
    for chunk in in_lists(sorted(source_ids)):
        rows = await session.execute(
            select(ClientSource.source_id)
            .join(ClientWebhook, col(ClientWebhook.client_id) == ClientSource.client_id)
            .where(col(ClientSource.source_id).in_(chunk), col(ClientWebhook.active)))
        listened.update(rows.scalars())
    return sorted(listened)


async def _messages(session: AsyncSession, source_id: int, now: float) -> list[_Message]:
    """What the client webhooks of one just-stored source are told, and the new baseline."""
    hooks = (await session.execute(
        select(ClientWebhook).join(ClientSource, col(ClientSource.client_id) == ClientWebhook.client_id)
        .where(ClientSource.source_id == source_id, col(ClientWebhook.active)))).scalars().all()
    row, source = await session.get(FeedCache, source_id), await session.get(Source, source_id)
    if not hooks or row is None or source is None:
        return []
    baseline = await session.get(WebhookBaseline, source_id)
    known = set(baseline.item_ids) if baseline else set()
    new_ids = [i for i in _ids(row) if i not in known]
    failed = row.error_count > (baseline.error_count if baseline else 0)
    if baseline is None:
        session.add(WebhookBaseline(source_id=source_id, item_ids=_ids(row), error_count=row.error_count))
    else:
        baseline.item_ids, baseline.error_count = _ids(row), row.error_count
    about = {"id": source_id, "platform": source.platform, "handle": source.handle}
    events = []
    if new_ids:
        events.append(("feed.updated", {"source": about, "new_item_ids": new_ids, "item_count": row.item_count,
                                        "fetched_at": iso(row.fetched_at)}))
    if failed:
        events.append(("feed.failed", {"source": about, "error": row.last_error, "error_count": row.error_count}))
    return [_Message(hook.id, event, {"type": event, "timestamp": iso(now), "data": {"client_id": hook.client_id,
                                                                                     **data}})
            for event, data in events for hook in hooks if hook.id is not None and event in hook.events]


async def _due(session: AsyncSession, now: float) -> list[tuple[WebhookDelivery, ClientWebhook]]:
    rows = await session.execute(
        select(WebhookDelivery, ClientWebhook).join(ClientWebhook, col(ClientWebhook.id) == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.created_at)).limit(100))
    return [(d, h) for d, h in rows.all()]


async def _claim(session: AsyncSession, delivery: WebhookDelivery, until: float) -> bool:
    """Take a due delivery for this process: only if nobody moved its next attempt meanwhile."""
    result = await session.execute(
        update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id, WebhookDelivery.status == "pending",
                                      col(WebhookDelivery.next_attempt_at) == delivery.next_attempt_at)
        .values(next_attempt_at=until))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _record(session: AsyncSession, delivery_id: str, now: float, status: int | None, error: str | None) -> None:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status, error
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif delivery.attempts > len(RETRY_SCHEDULE):
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + RETRY_SCHEDULE[delivery.attempts - 1]


def _ids(row: FeedCache) -> list[str]:
    return [str(item.get("id")) for item in row.items if isinstance(item, dict) and item.get("id")]
