"""The embed: HTML fragments, widget.js, the fragment's CSS, and the demo's example pages.

`GET /embed/{platform}` and `GET /embed/feed` answer the same feed as the JSON API, as a
themed HTML fragment. Rendered bytes (and their gzip and brotli codings) are cached per
(feed version and query, options) for a few minutes, so a warm request renders nothing and
relative dates never grow old; a repeat of a request is answered before routing from the
answer the full path left behind, as the JSON API's are (`answers.RepeatAnswers`), and
that answer lasts no longer than its rendering. A failed embed answers its real status
with a quiet fragment, never a JSON body a host page would print. CORS follows the same rule as the JSON API (`origins.cors_headers`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import flowkick
from flowkick.answers import request_key
from flowkick.compression import STATIC_QUALITY, Encoded, encode, response, vary
from flowkick.errors import FlowkickError, NotFound
from flowkick.memory import BytesTTL
from flowkick.origins import cors_headers
from flowkick.readpath import FeedView, Reader
from flowkick.render import EmbedOptions, render_error, render_fragment, render_wall, stylesheet
from flowkick.routes.api import caching_headers, etag_matches, preflight, stored_response

REPO = Path(flowkick.__file__).resolve().parents[2]
WIDGET = REPO / "widget" / "widget.js"
WIDGET_EXTRAS = ("lightbox", "analytics")  # widget/NAME.js, loaded by widget.js on first use
EXAMPLES = REPO / "examples"
HTML = "text/html; charset=utf-8"
FRAGMENT_TTL = 300
STATIC_CACHE = "public, max-age=86400, stale-while-revalidate=604800"
_INCLUDE_RE = re.compile(r'<!--#include virtual="(/embed/[^"]*)" -->')
_EXAMPLE_TYPES = {".html": HTML, ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                  ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg"}

Fragments = BytesTTL[tuple[Any, ...], tuple[Encoded, str, float]]


async def embed(request: Request) -> Response:
    """One platform's feed as a fragment."""
    platform = request.path_params["platform"]
    return await _fragment(request, platform, lambda reader: reader.view(request, platform))


async def embed_wall(request: Request) -> Response:
    """Several platforms merged, newest first: /embed/feed?platforms=instagram,tiktok."""
    names = [p.strip() for p in request.query_params.get("platforms", "").split(",") if p.strip()]
    return await _fragment(request, None, lambda reader: reader.wall_view(request, names or None))


async def _fragment(request: Request, platform: str | None, get_view: Any) -> Response:
    options: EmbedOptions | None = None
    try:
        options = EmbedOptions.from_query(request.query_params, request.headers.get("accept-language"))
        reader: Reader = request.app.state.reader
        view: FeedView = await get_view(reader)
        cors = cors_headers(request.headers.get("origin"))
        body, etag, rendered_at, hit = _rendered(request, view, options, platform)
        reader.usage.record(view.client.id, hit=hit)
        view.valid_until = min(view.valid_until, rendered_at + FRAGMENT_TTL)
    except FlowkickError as error:
        return error_fragment(request, error, options)
    headers = {**caching_headers(view, etag), **cors}
    headers["Vary"] = "Origin, Accept-Language"
    reader.answers.put(request_key(request.scope), view, body, etag, headers, HTML)
    return stored_response(request, view, body, etag, headers, HTML)


def _rendered(request: Request, view: FeedView, options: EmbedOptions,
              platform: str | None) -> tuple[Encoded, str, float, bool]:
    """The fragment in every coding, its ETag and when it was rendered: once per feed
    version, query and options."""
    cache_ = _fragments(request)
    key = (platform, view.cache_key, options)
    cached = cache_.find(key)
    if cached is not None:
        return *cached, True
    now = request.app.state.clock.now()
    render = render_wall if platform is None else render_fragment
    body = render(view.envelope, options, datetime.fromtimestamp(now, UTC), view.base).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    cache_.keep(key, (encoded := encode(body), etag, now))
    return encoded, etag, now, False


def _fragments(request: Request) -> Fragments:
    """This app's fragment cache, kept on its state so two apps never share entries, and
    weighed against the read path's memory budget."""
    state = request.app.state
    if not hasattr(state, "fragments"):
        state.fragments = state.reader.memory.ttl("fragments", FRAGMENT_TTL, lambda f: f[0].size)
    return state.fragments  # type: ignore[no-any-return]


def error_fragment(request: Request, error: FlowkickError, options: EmbedOptions | None) -> Response:
    """The quiet fragment for a failed embed, with the error's real status."""
    body = render_error(error, options, request.headers.get("accept-language"))
    headers = {**error.headers, "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*",
               "Access-Control-Expose-Headers": "Retry-After"}
    return Response(body, status_code=error.status, headers=headers, media_type=HTML)


@cache
def _asset(path: Path) -> tuple[Encoded, str]:
    return _static_body(path.read_bytes())


def _static_body(body: bytes) -> tuple[Encoded, str]:
    """A file's bytes compressed once (as small as brotli makes them) and its ETag."""
    return encode(body, STATIC_QUALITY), '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _static(request: Request, body: Encoded, etag: str, media_type: str) -> Response:
    """A long-cached asset with an ETag, so a new release is picked up by revalidation."""
    headers = {"Cache-Control": STATIC_CACHE, "ETag": etag, "Access-Control-Allow-Origin": "*",
               "X-Content-Type-Options": "nosniff"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=vary(headers))
    return response(body, request.headers.get("accept-encoding", ""), 200, headers, media_type)


async def widget_js(request: Request) -> Response:
    body, etag = _asset(WIDGET)
    return _static(request, body, etag, "text/javascript; charset=utf-8")


async def widget_extra(request: Request) -> Response:
    """The widget's parts loaded on first use (the lightbox, the view counter)."""
    name = request.path_params["name"]
    if name not in WIDGET_EXTRAS:
        raise_not_found()
    body, etag = _asset(WIDGET.with_name(f"{name}.js"))
    return _static(request, body, etag, "text/javascript; charset=utf-8")


async def embed_css(request: Request) -> Response:
    """The fragment's stylesheet alone, for hosts that embed with css=none (WordPress)."""
    body, etag = _stylesheet()
    return _static(request, body, etag, "text/css; charset=utf-8")


@cache
def _stylesheet() -> tuple[Encoded, str]:
    return _static_body(stylesheet().encode())


async def example(request: Request) -> Response:
    """The example host pages, in demo mode only; `.html` pages get their SSI includes filled."""
    if not request.app.state.settings.demo_mode:
        raise_not_found()
    path = _example_path(request.path_params.get("path") or "index.html")
    media_type = _EXAMPLE_TYPES.get(path.suffix)
    if media_type is None:
        raise_not_found()
    if path.suffix != ".html":
        return Response(path.read_bytes(), media_type=media_type, headers={"Cache-Control": "no-cache"})
    page = await _include(request, path.read_text(encoding="utf-8"))
    return Response(page, media_type=HTML, headers={"Cache-Control": "no-cache"})


def raise_not_found() -> NoReturn:
    raise NotFound("no such example", code="not_found")


def _example_path(relative: str) -> Path:
    path = (EXAMPLES / relative).resolve()
    if relative.endswith("/"):
        path = path / "index.html"
    if not path.is_relative_to(EXAMPLES.resolve()) or not path.is_file():
        raise_not_found()
    return path


async def _include(request: Request, page: str) -> str:
    """Server-side includes as nginx `ssi on` would do them: fetch each fragment and inline it.

    Only `/embed/` paths of this same app are fetched, in-process, so an example page
    shows what a host's server would get without any network.
    """
    paths = _INCLUDE_RE.findall(page)
    if not paths:
        return page
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        for virtual in paths:
            fragment = await client.get(virtual, headers={"accept-language": request.headers.get("accept-language", "")})
            page = page.replace(f'<!--#include virtual="{virtual}" -->', fragment.text, 1)
    return page


routes: list[BaseRoute] = [
    Route("/embed/feed", embed_wall, methods=["GET", "HEAD"]),
    Route("/embed/{platform}", embed, methods=["GET", "HEAD"]),
    Route("/embed/{platform}", preflight, methods=["OPTIONS"]),
    Route("/embed.css", embed_css, methods=["GET", "HEAD"]),
    Route("/widget.js", widget_js, methods=["GET", "HEAD"]),
    Route("/widget/{name}.js", widget_extra, methods=["GET", "HEAD"]),
    Route("/examples/", example, methods=["GET", "HEAD"]),
    Route("/examples/{path:path}", example, methods=["GET", "HEAD"]),
]
