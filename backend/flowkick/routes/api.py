"""The public JSON API: one feed per platform, and a merged wall.

These handlers are the full read path; a repeat of a recent request is answered before
routing by `answers.RepeatAnswers` from the answer the full path left behind.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick.answers import request_key
from flowkick.compression import Encoded, response, vary
from flowkick.origins import cors_headers
from flowkick.readpath import FeedView, Reader

JSON = "application/json"


async def social(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    return feed_response(request, await reader.view(request, request.path_params["platform"]))


async def wall(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    names = [p for p in request.query_params.get("platforms", "").split(",") if p.strip()]
    return feed_response(request, await reader.wall_view(request, names or None))


def feed_response(request: Request, view: FeedView) -> Response:
    """The full path's answer, kept for repeats of the same request (see answers.py)."""
    reader: Reader = request.app.state.reader
    body, etag, hit = reader.json_body(view)
    reader.usage.record(view.client.id, hit=hit)
    headers = {**caching_headers(view, etag), **cors_headers(request.headers.get("origin"))}
    reader.answers.put(request_key(request.scope), view, body, etag, headers, JSON)
    return stored_response(request, view, body, etag, headers, JSON)


def stored_response(request: Request, view: FeedView, body: Encoded, etag: str, headers: dict[str, str],
                    media_type: str) -> Response:
    """The full path's answer as a repeat of it will be sent: 304, or the body in the accepted coding."""
    if view.quota is not None:
        headers = {**headers, **view.quota.headers()}
    if view.status_code == 200 and etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=vary(headers))
    return response(body, request.headers.get("accept-encoding", ""), view.status_code, headers, media_type)


def caching_headers(view: FeedView, etag: str) -> dict[str, str]:
    """Shared by every feed representation (JSON and HTML) so they cache alike."""
    if view.retry_after is not None:
        return {"Cache-Control": "no-store", "Retry-After": str(view.retry_after), "ETag": etag}
    return {"Cache-Control": f"max-age={view.max_age}, stale-while-revalidate=600", "ETag": etag, "Vary": "Origin"}


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


async def preflight(request: Request) -> Response:
    """Browsers ask before sending `Authorization` across origins; the GET itself checks the key."""
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": request.headers.get("origin") or "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, If-None-Match",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    })


routes: list[BaseRoute] = [
    Route("/api/v1/social/{platform}", social, methods=["GET", "HEAD"]),
    Route("/api/v1/feed", wall, methods=["GET", "HEAD"]),
    Route("/api/v1/social/{platform}", preflight, methods=["OPTIONS"]),
    Route("/api/v1/feed", preflight, methods=["OPTIONS"]),
]
