"""Pure ASGI middleware (BaseHTTPMiddleware would cost several times the throughput)."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from flowkick.errors import UriTooLong

MAX_QUERY_BYTES = 4096
MAX_PATH_BYTES = 2048


class LimitRequestLine:
    """Refuses oversized URLs before routing: no embed needs a query this large."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            len(scope.get("query_string", b"")) > MAX_QUERY_BYTES or len(scope.get("raw_path") or b"") > MAX_PATH_BYTES
        ):
            error = UriTooLong("the request URL is too long")
            body = orjson.dumps(error.payload())
            await send({"type": "http.response.start", "status": error.status,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
