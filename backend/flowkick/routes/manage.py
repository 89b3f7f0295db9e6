"""The management API for agencies: a client's secret key manages that client only.

    GET    /api/v1/sources                      the client's sources, their feed state and this month's
                                                Apify cost (the client's share of each source)
    POST   /api/v1/sources                      {"platform", "handle"}: track one more (plan limit)
    DELETE /api/v1/sources/{id}                 stop tracking one
    GET    /api/v1/usage                        this month against the plan, requests per day, and the
                                                month's Apify cost share and budget hold
    POST   /api/v1/items/{id}/hide|unhide|pin|unpin   moderation of one item of the client's feeds
    GET    /api/v1/webhooks                     the client's webhooks (see flowkick.client_webhooks)
    POST   /api/v1/webhooks                     {"url", "events"?}: register one; its secret is shown once
    DELETE /api/v1/webhooks/{id}                remove one
    GET    /api/v1/webhooks/{id}/deliveries     its delivery log, newest first

Every lookup is scoped by the key's client id, so another client's sources and items
answer 404 exactly like ones that do not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast, get_args

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick import client_webhooks as hooks
from flowkick import logs
from flowkick.admin.queries import usage_by_day
from flowkick.clients import (
    InvalidHandle,
    ModerationAction,
    SourceLimitReached,
    TrackedSource,
    client_sources,
    moderate,
    track_within_plan,
    untrack,
)
from flowkick.clock import iso
from flowkick.costs import client_source_costs
from flowkick.errors import BadParameter, Forbidden, NotFound
from flowkick.platforms import resolve_platform
from flowkick.quotas import month_of, month_reset
from flowkick.readpath import ClientView, Reader, api_key

MAX_BODY = 4096
USAGE_DAYS = 31


async def owner(request: Request) -> ClientView:
    """The client of a secret key; publishable keys (which live in web pages) manage nothing."""
    reader: Reader = request.app.state.reader
    client = await reader.resolve(api_key(request))
    logs.note_client(client.id, memory=False)  # the access line names who managed what
    if client.key_kind != "secret":
        raise Forbidden("the management API needs the client's secret key", code="secret_key_required")
    reader.quotas.check_burst(reader.quotas.plans[client.plan], f"{client.id}:{client.key_kind}")
    return client


async def list_sources(request: Request) -> Response:
    client = await owner(request)
    plan = request.app.state.reader.quotas.plans[client.plan]
    state = request.app.state
    tracked = await client_sources(state.db, client.id)
    costs = await client_source_costs(state.db, month_of(state.clock.now()), client.id)
    return _json({"sources": [{**_source(s), "cost_usd_month": round(costs.get(s.id, 0.0), 6)} for s in tracked],
                  "max_sources": plan.max_sources})


async def add_source(request: Request) -> Response:
    client = await owner(request)
    body = await _body(request)
    platform = resolve_platform(str(body.get("platform", ""))[:40])
    if platform is None:
        raise NotFound("unknown platform", code="unknown_platform")
    state = request.app.state
    plan = state.reader.quotas.plans[client.plan]
    try:
        source_id = await track_within_plan(state.db, client.id, platform, str(body.get("handle", ""))[:200],
                                            now=state.clock.now(), max_sources=plan.max_sources)
    except InvalidHandle as exc:
        raise BadParameter(str(exc), code="bad_handle") from exc
    except SourceLimitReached as exc:
        raise Forbidden(f"{exc}; remove one or change plans", code="source_limit") from exc
    state.reader.forget_clients()
    state.refresher.request(source_id)
    added = next(s for s in await client_sources(state.db, client.id) if s.id == source_id)
    return _json({"source": _source(added)}, status=201)


async def remove_source(request: Request) -> Response:
    client = await owner(request)
    state = request.app.state
    if not await untrack(state.db, client.id, request.path_params["source_id"]):
        raise NotFound("this client does not track that source", code="source_not_found")
    state.reader.forget_clients()
    return Response(status_code=204)


async def usage(request: Request) -> Response:
    client = await owner(request)
    state = request.app.state
    await state.usage.flush()
    now = state.clock.now()
    plan = state.reader.quotas.plans[client.plan]
    used = await state.reader.quotas.month_to_date(client.id, client.plan)
    since = (datetime.fromtimestamp(now, UTC) - timedelta(days=USAGE_DAYS - 1)).strftime("%Y-%m-%d")
    days = await usage_by_day(state.db, since, client.id)
    limit = plan.monthly_requests
    return _json({
        "apify": await _apify_month(request, client.id, now),
        "plan": plan.name,
        "month": {"requests": used, "limit": limit, "remaining": None if limit is None else max(0, limit - used),
                  "resets_at": iso(month_reset(now)), "over_limit": plan.over_limit, "frozen": plan.spent(used)},
        "days": [{"day": d.day, "requests": d.requests, "cache_hits": d.cache_hits, "errors": d.errors,
                  "views": d.views, "clicks": d.clicks} for d in days],
    })


async def moderate_item(request: Request) -> Response:
    client = await owner(request)
    action = request.path_params["action"]
    if action not in get_args(ModerationAction):
        raise NotFound("use hide, unhide, pin or unpin", code="not_found")
    item_id = request.path_params["item_id"]
    state = request.app.state
    if not await moderate(state.db, client.id, item_id, cast(ModerationAction, action)):
        raise NotFound("no item with that id in this client's feeds", code="item_not_found")
    state.reader.forget_clients()
    return _json({"item": item_id, "action": action})


async def _apify_month(request: Request, client_id: int, now: float) -> dict[str, Any]:
    """The client's share of this month's Apify cost, and whether a budget holds its refreshes."""
    state = request.app.state
    costs = await client_source_costs(state.db, month_of(now), client_id)
    budget = await state.refresher.budgets.state()
    return {"month": month_of(now), "cost_usd": round(sum(costs.values()), 6),
            "refresh_held": budget.exhausted or client_id in budget.held_clients}


async def list_webhooks(request: Request) -> Response:
    client = await owner(request)
    return _json({"webhooks": [hooks.public(h) for h in await hooks.client_webhooks(request.app.state.db, client.id)]})


async def add_webhook(request: Request) -> Response:
    client = await owner(request)
    body, state = await _body(request), request.app.state
    try:
        url = hooks.check_url(str(body.get("url", "")), bool(state.settings.webhooks_allow_private_hosts))
        hook = await hooks.register(state.db, client.id, url, hooks.check_events(body.get("events")), state.clock.now())
    except hooks.InvalidWebhook as exc:
        raise BadParameter(str(exc), code="bad_webhook") from exc
    return _json({"webhook": hooks.public(hook), "secret": hook.secret}, status=201)


async def remove_webhook(request: Request) -> Response:
    client = await owner(request)
    if not await hooks.remove(request.app.state.db, request.path_params["webhook_id"], client.id):
        raise NotFound("this client has no such webhook", code="webhook_not_found")
    return Response(status_code=204)


async def webhook_deliveries(request: Request) -> Response:
    client = await owner(request)
    webhook_id, db = request.path_params["webhook_id"], request.app.state.db
    if not any(h.id == webhook_id for h in await hooks.client_webhooks(db, client.id)):
        raise NotFound("this client has no such webhook", code="webhook_not_found")
    return _json({"deliveries": [hooks.delivery_json(d) for d in await hooks.delivery_log(db, webhook_id)]})


def _source(s: TrackedSource) -> dict[str, Any]:
    return {"id": s.id, "platform": s.platform, "handle": s.handle, "status": s.status, "item_count": s.item_count,
            "fetched_at": iso(s.fetched_at), "expires_at": iso(s.expires_at), "last_error": s.last_error,
            "hidden_ids": s.hidden_ids, "pinned_ids": s.pinned_ids}


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadParameter("the request body is too large", code="bad_body")
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise BadParameter("the body must be JSON like {\"platform\": \"instagram\", \"handle\": \"...\"}",
                           code="bad_body") from exc
    if not isinstance(body, dict):
        raise BadParameter("the body must be a JSON object", code="bad_body")
    return body


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/api/v1/sources", list_sources, methods=["GET"]),
    Route("/api/v1/sources", add_source, methods=["POST"]),
    Route("/api/v1/sources/{source_id:int}", remove_source, methods=["DELETE"]),
    Route("/api/v1/usage", usage, methods=["GET"]),
    Route("/api/v1/items/{item_id:path}/{action}", moderate_item, methods=["POST"]),
    Route("/api/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks", add_webhook, methods=["POST"]),
    Route("/api/v1/webhooks/{webhook_id:int}", remove_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{webhook_id:int}/deliveries", webhook_deliveries, methods=["GET"]),
]
