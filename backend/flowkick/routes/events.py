"""POST /api/v1/events: the widget's cookieless beacons (analytics.py says what is kept).

Answers 204 with no body and no cookie; a beacon never reads the answer, so errors are for
people testing by hand: 400 a malformed event, 401/403 as for a feed, 413 a body larger
than any event, 429 over a limit.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick.analytics import MAX_BODY, Analytics, parse
from flowkick.errors import PayloadTooLarge
from flowkick.origins import cors_headers


async def event(request: Request) -> Response:
    client = await request.app.state.reader.client(request)
    body = await _body(request)
    address = request.client.host if request.client else ""
    _analytics(request).record(client, parse(body, client), address)
    return Response(status_code=204, headers={"Cache-Control": "no-store", **cors_headers(request.headers.get("origin"))})


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"an event is at most {MAX_BODY} bytes")
    return body


def _analytics(request: Request) -> Analytics:
    """This app's analytics, kept on its state next to the usage counter it feeds."""
    state = request.app.state
    if not hasattr(state, "analytics"):
        state.analytics = Analytics(state.usage, state.clock, state.settings)
    return state.analytics  # type: ignore[no-any-return]


routes: list[BaseRoute] = [Route("/api/v1/events", event, methods=["POST"])]
