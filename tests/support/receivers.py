"""Real receivers for what Flowkick sends out: an HTTP endpoint and an SMTP server on 127.0.0.1.

`HttpReceiver` records every POST (headers and body) and can be told to answer the next
few with an error, so retries are seen for real. `MailReceiver` is aiosmtpd's server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import free_port, live_app


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses to answer, first to last, before 200s

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    async def endpoint(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body()))
        return Response(status_code=self.failures.pop(0) if self.failures else 200)


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    from starlette.applications import Starlette

    receiver = HttpReceiver()
    with live_app(Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])) as url:
        receiver.url = url + "/hook"
        yield receiver


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class MailReceiver:
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        return self.inbox.messages


@contextmanager
def mail_receiver() -> Iterator[MailReceiver]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailReceiver(port, inbox)
    finally:
        controller.stop()
