"""The access log and request ids: the outermost middleware (pure ASGI, cheap per request).

Every answer carries `X-Request-ID`: the caller's own when it looks sane (so a proxy's id
follows the request through), else a fresh one. After the answer, one line goes to the
`flowkick.access` logger: request id, method, path with credentials masked, status,
duration, client id, whether memory answered, and which kind of key was used, and the
request's duration goes into the per-route latency histogram. It sits outside
`answers.RepeatAnswers`, so repeats answered before routing are logged like the rest.

An exception nothing else handled ends here too: it is logged with its request id and
answered with the usual JSON 500, so even a failure carries the id a user can quote.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowkick import logs
from flowkick.answers import STORED_PATHS

if TYPE_CHECKING:
    from flowkick.metrics import Metrics

log = logging.getLogger("flowkick.access")

_SANE_ID = re.compile(rb"[A-Za-z0-9._:@+=/-]{1,128}")
# Request ids name a request in logs, they guard nothing: a random prefix per process and a
# counter make them unique without a system call per request (secrets.token_hex cost 5 %
# of a busy server's time).
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count()


def _new_id_prefix() -> None:
    global _ID_PREFIX
    _ID_PREFIX = secrets.token_hex(6)


os.register_at_fork(after_in_child=_new_id_prefix)  # a forked worker never repeats its parent's ids
_INTERNAL = orjson.dumps({"error": {"code": "internal", "message": "something went wrong on our side"}})
_FEED_ROUTES = {"/api/v1/social/": "/api/v1/social/{platform}", "/api/v1/feed": "/api/v1/feed",
                "/embed/feed": "/embed/feed", "/embed/": "/embed/{platform}"}  # the first prefix that fits


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        facts = logs.RequestFacts(request_id)
        id_header = (b"x-request-id", request_id.encode())
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        token = logs.serving(facts)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            if status[0]:
                raise  # the answer is half sent: nothing better to do than drop the connection
            status[0] = 500
            await _internal_error(send, id_header)
        finally:
            logs.done(token)
            duration = time.perf_counter() - start
            if self.metrics is not None:
                self.metrics.observe_request(_route(scope), duration)
            if log.isEnabledFor(logging.INFO):
                _write({"request_id": logs.redact(request_id) if "k_" in request_id else request_id,
                        "method": scope["method"], "path": _path(scope), "status": status[0],
                        "duration_ms": round(duration * 1000, 3), "client_id": facts.client_id,
                        "memory": facts.memory, "key": _key_kind(scope)})


def _write(fields: dict[str, Any]) -> None:
    """Straight to `flowkick serve`'s batching handler when it is there, else through `logging`."""
    handler = logs.fast_handler(log)
    if handler is None:
        log.info("request", extra={"fields": fields})
    else:
        handler.add(log.name, "request", fields)


def _request_id(scope: Scope) -> str:
    """The caller's request id when it looks sane, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _SANE_ID.fullmatch(value):
            return value.decode()
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def _key_kind(scope: Scope) -> str | None:
    """How the request's key is shown in the log (its kind only); worked out only for a line
    that is written."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return logs.masked(value.decode("latin-1").partition(" ")[2].strip())
    if b"api_key=" in scope["query_string"]:
        return logs.masked(scope["query_string"].partition(b"api_key=")[2][:3].decode("latin-1"))
    return None


_shown_paths: dict[tuple[str, bytes], str] = {}  # widget URLs repeat: mask each one once


def _path(scope: Scope) -> str:
    query = scope["query_string"]
    if not query and not scope["path"].startswith("/webhooks/"):
        return str(scope["path"])
    key = (scope["path"], query)
    shown = _shown_paths.get(key)
    if shown is None:
        if len(_shown_paths) >= 10_000:
            _shown_paths.clear()
        shown = _shown_paths[key] = logs.redact(scope["path"] + ("?" + query.decode("latin-1") if query else ""))
    return shown


def _route(scope: Scope) -> str:
    """The route's template (never the raw path: one label per route, not per URL)."""
    route: Any = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "other"))
    path: str = scope["path"]
    return _stored_route(path) if path.startswith(STORED_PATHS) else "unmatched"


@lru_cache(maxsize=256)
def _stored_route(path: str) -> str:
    """A feed path answered before routing by RepeatAnswers: its route (a few paths, asked again and again)."""
    return next(route for prefix, route in _FEED_ROUTES.items() if path.startswith(prefix))


async def _internal_error(send: Send, id_header: tuple[bytes, bytes]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_INTERNAL)).encode()), id_header]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": _INTERNAL})
