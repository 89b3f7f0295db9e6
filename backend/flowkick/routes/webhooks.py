"""`POST /webhooks/apify/{secret}`: Apify's word that one of our runs ended, taken as a hint.

Apify does not sign webhooks, so the path carries a secret (`webhook_secret`, compared in
constant time; a wrong one is refused before the body is read). Even a genuine payload
only names a run: nothing in it is trusted. The handler notes the dispatch and wakes
whoever waits for that run, which then re-reads the run from Apify with our token. A
replayed dispatch, or any webhook for a run already collected, does nothing; runs we
never started are acknowledged and ignored. Idempotency is per dispatch and per
collected run, not per event type, so an early hint can never swallow the real one.
It answers in milliseconds: Apify retries slow or failed deliveries, and polling would
collect the run anyway.
"""

from __future__ import annotations

import hmac
import re

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick.database import Database
from flowkick.errors import BadParameter, PayloadTooLarge, Unauthorized
from flowkick.refresher import Refresher
from flowkick.sources.apify import ApifySource, webhook_secret
from flowkick.tables import RefreshRun, WebhookEvent

# Apify's run payload is a few kilobytes; nothing legitimate comes close to this.
MAX_BODY_BYTES = 64 * 1024
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EVENT_RE = re.compile(r"[A-Z_.]{1,64}")
_WAITING = ("RUNNING", "INTERRUPTED")  # refresh_run states of a run whose data is not stored yet


async def apify_webhook(request: Request) -> Response:
    secret = request.path_params["secret"].encode()
    if not hmac.compare_digest(secret, webhook_secret(request.app.state.settings).encode()):
        raise Unauthorized("unknown webhook address", code="bad_webhook_secret")
    run_id, event_type = _hint(await _body(request))
    dispatch_id = request.headers.get("x-apify-webhook-dispatch-id", "")
    if not _ID_RE.fullmatch(dispatch_id):
        dispatch_id = f"{run_id}:{event_type}"
    outcome = await _note(request.app.state.db, dispatch_id, run_id, event_type, request.app.state.clock.now())
    if outcome == "new":
        _wake(request.app.state.refresher, run_id)
    return Response(orjson.dumps({"received": outcome}), media_type="application/json")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge("the webhook body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge("the webhook body is too large")
    return bytes(body)


def _hint(body: bytes) -> tuple[str, str]:
    """The run id (and event type) the payload names; nothing else in it is used."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadParameter("the webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadParameter("the webhook body is not a JSON object")
    event_data, resource = payload.get("eventData"), payload.get("resource")
    run_id = (event_data or {}).get("actorRunId") if isinstance(event_data, dict) else None
    if run_id is None and isinstance(resource, dict):
        run_id = resource.get("id")
    if not isinstance(run_id, str) or not _ID_RE.fullmatch(run_id):
        raise BadParameter("the webhook names no actor run")
    event_type = payload.get("eventType")
    return run_id, event_type if isinstance(event_type, str) and _EVENT_RE.fullmatch(event_type) else ""


async def _note(db: Database, dispatch_id: str, run_id: str, event_type: str, now: float) -> str:
    """Record the dispatch once: "new", "replay", "collected" (nothing to wake) or "unknown"."""
    async def work(session: AsyncSession) -> str:
        ours = await session.execute(select(RefreshRun.status).where(RefreshRun.run_id == run_id).limit(1))
        status = ours.scalar_one_or_none()
        if status is None:
            return "unknown"
        if await session.get(WebhookEvent, dispatch_id) is not None:
            return "replay"
        if status not in _WAITING:
            return "collected"
        session.add(WebhookEvent(dispatch_id=dispatch_id, run_id=run_id, event_type=event_type, received_at=now))
        return "new"

    try:
        return await db.write(work)
    except IntegrityError:  # the same dispatch, recorded by another process a moment ago
        return "replay"


def _wake(refresher: Refresher, run_id: str) -> None:
    """Wake the fetch waiting for the run; with none here, let the refresher re-attach it."""
    waiting = [source.wake(run_id) for source in refresher.sources.values() if isinstance(source, ApifySource)]
    if not any(waiting):
        refresher.wake()


routes: list[BaseRoute] = [Route("/webhooks/apify/{secret}", apify_webhook, methods=["POST"])]
