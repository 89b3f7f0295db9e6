"""The Flowkick ASGI app: every route, the middleware and the lifespan, on one screen."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from flowkick import openapi
from flowkick.access import AccessLog
from flowkick.admin import alerts as admin_alerts
from flowkick.admin import analytics as admin_analytics
from flowkick.admin import designer as admin_designer
from flowkick.admin import routes as admin
from flowkick.admin import webhooks as admin_webhooks
from flowkick.alerts import Alerts
from flowkick.answers import RepeatAnswers
from flowkick.client_webhooks import ClientWebhooks
from flowkick.clients import ensure_demo_client, remove_demo_client
from flowkick.clock import Clock, SystemClock
from flowkick.database import Database
from flowkick.errors import FlowkickError
from flowkick.media.demo import DemoPictures
from flowkick.media.download import Downloader
from flowkick.media.store import open_store
from flowkick.media.worker import MediaWorker
from flowkick.metrics import Metrics
from flowkick.middleware import LimitRequestLine
from flowkick.platforms import PLATFORMS
from flowkick.readpath import Reader
from flowkick.refresher import Refresher
from flowkick.routes import api, embed, events, manage, media, pages, plugin, webhooks
from flowkick.settings import Settings
from flowkick.sources import Source
from flowkick.sources.apify import ApifySource
from flowkick.sources.demo import DemoSource
from flowkick.usage import UsageCounter

log = logging.getLogger("flowkick")
STOP_SECONDS = 10.0

def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    rng: random.Random | None = None,
) -> Starlette:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    usage = UsageCounter(db, clock)
    client_hooks = ClientWebhooks(db, settings, clock)
    refresher = Refresher(db, sources if sources is not None else default_sources(settings, clock), settings, clock,
                          rng=rng)
    pictures = default_media(settings, db, clock)
    reader = Reader(db, settings, clock, refresher, usage, pictures.store.url)
    pictures.on_update = reader.feeds_written
    refresher.on_update = lambda ids: _each(list(ids), reader.feeds_written, pictures.notify, client_hooks.notice)
    refresher.on_store = pictures.name_known
    refresher.frozen = reader.quotas.frozen  # over-quota clients' sources stop refreshing
    reader.quotas.follow(usage)  # monthly counts include other processes' requests after each flush
    metrics = Metrics(usage, lambda: refresher.alive, reader.memory)
    refresher.on_run = metrics.observe_run
    pictures.on_download = metrics.observe_download
    alerts = Alerts(db, settings, clock, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect()
        if settings.demo_mode:
            await ensure_demo_client(db, now=clock.now())
        else:
            await remove_demo_client(db)
        refresher.start()
        await reader.start()
        alerts.start()
        client_hooks.start()
        pictures.start()
        usage.start(settings.usage_flush_seconds)
        gc.freeze()  # start-up objects live forever: keep the collector from rescanning them per request
        try:
            yield
        finally:
            for part in (alerts, client_hooks, refresher, reader, pictures, usage):
                await _stop(part.stop)
            await _stop(db.close)

    app = Starlette(
        routes=[*api.routes, *events.routes, *manage.routes, *openapi.routes, *embed.routes, *plugin.routes, *pages.routes,
                *webhooks.routes, *admin.routes, *admin_alerts.routes, *admin_analytics.routes, *admin_designer.routes, *admin_webhooks.routes, *media.routes],
        middleware=[Middleware(AccessLog, metrics=metrics), Middleware(LimitRequestLine), Middleware(RepeatAnswers)],
        exception_handlers={FlowkickError: flowkick_error, HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.settings, app.state.clock, app.state.db = settings, clock, db
    app.state.media, app.state.media_store = pictures, pictures.store
    app.state.usage, app.state.refresher, app.state.reader = usage, refresher, reader
    app.state.metrics, app.state.alerts, app.state.client_webhooks = metrics, alerts, client_hooks
    return app


async def _stop(stop: Callable[[], Awaitable[None]]) -> None:
    """One part of the shutdown, bounded: a part that does not stop is logged, and the
    server still stops instead of hanging."""
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await stop()
    except TimeoutError:
        log.warning("%s did not stop within %s s", getattr(stop, "__qualname__", stop), STOP_SECONDS)


def default_sources(settings: Settings, clock: Clock) -> dict[str, Source]:
    """Demo data without an Apify token; with one, every platform runs its Apify actor."""
    if settings.demo_mode:
        demo = DemoSource(clock)
        return dict.fromkeys(PLATFORMS, demo)
    return dict.fromkeys(PLATFORMS, ApifySource(settings))


def default_media(settings: Settings, db: Database, clock: Clock) -> MediaWorker:
    """The media worker on the configured store, downloading from the web (the demo's
    pictures from the package)."""
    web = Downloader(allow_private=bool(settings.media_allow_private_hosts),
                     max_bytes=settings.media_max_download_bytes, timeout=settings.media_download_timeout_seconds)
    return MediaWorker(db, open_store(settings), DemoPictures(web), settings, clock)


def _each(ids: list[int], *listeners: Callable[[list[int]], None]) -> None:
    for listener in listeners:
        listener(ids)


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, headers=dict(headers or {}), media_type="application/json")


async def flowkick_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FlowkickError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal", "something went wrong on our side")
