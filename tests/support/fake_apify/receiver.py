"""A webhook target on 127.0.0.1 that records what it receives and can refuse on purpose."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .recording import Recording
from .threaded import ThreadedServer


@dataclass(frozen=True)
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: bytes
    status_code: int

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """POST anything to `url` (or below it); `calls` records every request and the answer given."""

    def __init__(self) -> None:
        self.calls: Recording[ReceivedCall] = Recording()
        self._lock = threading.Lock()
        self._failures: list[int] = []
        app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        self._server = ThreadedServer(app)

    @property
    def url(self) -> str:
        return f"{self._server.url}/hook"

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` calls with `status`, so the sender has to retry."""
        with self._lock:
            self._failures.extend([status] * count)

    async def _receive(self, request: Request) -> JSONResponse:
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
        body = await request.body()
        self.calls.append(ReceivedCall(request.url.path, dict(request.headers), body, status))
        return JSONResponse({"ok": status == 200}, status)

    def start(self) -> WebhookReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
