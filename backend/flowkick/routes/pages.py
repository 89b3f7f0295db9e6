"""Pages for people and probes: the landing page, health, and the package's static files."""

from __future__ import annotations

import hmac
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from flowkick import __version__, keys, metrics, snippets
from flowkick.clients import DEMO_HANDLES, DEMO_SECRET_KEY
from flowkick.errors import Unauthorized
from flowkick.platforms import LABELS

PACKAGE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=PACKAGE / "templates")


async def landing(request: Request) -> Response:
    settings = request.app.state.settings
    return templates.TemplateResponse(request, "landing.html", {
        "demo": settings.demo_mode,
        "publishable_key": keys.DEMO_PUBLISHABLE_KEY,
        "secret_key": DEMO_SECRET_KEY,
        "platforms": [(p, LABELS[p], h) for p, h in DEMO_HANDLES.items()],
        "version": __version__,
        "snippet": snippets.snippet(str(request.base_url), "instagram",
                                    keys.DEMO_PUBLISHABLE_KEY if settings.demo_mode else "PK"),
    })


async def healthz(request: Request) -> Response:
    """Database reachable and refresher running: 200; anything else: 503."""
    state = request.app.state
    database = await state.db.ping()
    refresher = state.refresher.alive
    healthy = database and refresher
    return JSONResponse({
        "status": "ok" if healthy else "unhealthy",
        "database": "ok" if database else "unreachable",
        "refresher": "ok" if refresher else "stopped",
        "mode": "demo" if state.settings.demo_mode else "apify",
        "version": __version__,
    }, status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})


async def metrics_text(request: Request) -> Response:
    """Prometheus text; behind `Authorization: Bearer FLOWKICK_METRICS_TOKEN` when that is set."""
    state = request.app.state
    token = state.settings.metrics_token
    if token and not hmac.compare_digest(request.headers.get("authorization", "").encode(), f"Bearer {token}".encode()):
        raise Unauthorized("/metrics needs Authorization: Bearer with the metrics token", code="metrics_token")
    body = await state.db.read(lambda s: state.metrics.render(s, state.clock.now()))
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/", landing),
    Route("/healthz", healthz),
    Route("/metrics", metrics_text),
    Mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static"),
]
