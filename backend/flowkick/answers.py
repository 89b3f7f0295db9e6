"""Whole answers for repeated feed requests: the hot read path.

Most feed traffic is one widget URL asked again and again. The first request takes the
full read path (key, origin, quota, feed lookup, filtering, serialization) and its answer
is kept here under the request's raw facts: path, query string, and the headers that can
change the answer. `RepeatAnswers`, a pure ASGI middleware, answers a repeat before any
routing: it checks that nothing the answer depends on has changed (a generation bumped on
every feed or client change, and a deadline: the data turning stale, a rotated key
expiring, the in-memory feed copy due for a re-read), counts the request for quotas and
usage, and sends the stored bytes with pre-encoded headers. Anything unusual (a quota or
burst refusal, a month not yet loaded) falls through to the full path, which answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache
from starlette.types import ASGIApp, Receive, Scope, Send

from flowkick.errors import FlowkickError

if TYPE_CHECKING:
    from flowkick.readpath import FeedView, Reader

# Request headers that can change a feed answer; every other header is ignored.
_VARYING = (b"authorization", b"origin", b"referer", b"host")
FEED_PATHS = ("/api/v1/social/", "/api/v1/feed")

Key = tuple[str, bytes, tuple[bytes, ...]]
RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Answer:
    client_id: int
    plan: str
    key_kind: str
    source_ids: tuple[int, ...]
    nudge: tuple[int, ...]  # pending or stale sources: each repeat asks the refresher again
    status_code: int
    body: bytes
    etag: bytes
    headers: RawHeaders  # everything but the per-request quota headers
    not_modified_headers: RawHeaders
    valid_until: float
    generation: int


class Answers:
    def __init__(self, maxsize: int = 20_000) -> None:
        self.generation = 0
        self._answers: LRUCache[Key, Answer] = LRUCache(maxsize=maxsize)

    def invalidate(self) -> None:
        """A feed or a client changed: every stored answer must be worked out again once."""
        self.generation += 1

    def get(self, key: Key, now: float) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None or answer.generation != self.generation or now >= answer.valid_until:
            return None
        return answer

    def put(self, key: Key, view: FeedView, body: bytes, etag: str, headers: dict[str, str], media_type: str) -> None:
        caching = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self._answers[key] = Answer(
            client_id=view.client.id, plan=view.client.plan, key_kind=view.client.key_kind,
            source_ids=view.source_ids, nudge=view.nudge, status_code=view.status_code, body=body,
            etag=etag.encode("latin-1"),
            headers=[*caching, (b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())],
            not_modified_headers=caching, valid_until=view.valid_until, generation=self.generation,
        )


def request_key(scope: Scope) -> Key:
    """The raw facts a feed answer depends on, read straight from the ASGI scope."""
    found = dict.fromkeys(_VARYING, b"")
    for name, value in scope["headers"]:
        if name in found:
            found[name] = value
    return scope["path"], scope["query_string"], tuple(found.values())


class RepeatAnswers:
    """Answers a repeated GET of a feed from `Reader.answers`, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(FEED_PATHS):
            reader: Reader = scope["app"].state.reader
            answer = reader.answers.get(request_key(scope), reader.clock.now())
            if answer is not None and await _send_repeat(reader, answer, scope, send):
                return
        await self.app(scope, receive, send)


async def _send_repeat(reader: Reader, answer: Answer, scope: Scope, send: Send) -> bool:
    """Count and send a stored answer; False when the full path must decide instead."""
    if not reader.quotas.loaded(answer.client_id):
        return False
    try:
        quota = reader.quotas.count(answer.client_id, answer.plan, answer.key_kind)
    except FlowkickError:
        return False  # refused (burst or quota): the full path answers with the proper error
    now = reader.clock.now()
    for source_id in answer.source_ids:
        reader.usage.requested(source_id, now)
    for source_id in answer.nudge:
        reader.refresher.request(source_id)
    reader.usage.record(answer.client_id, hit=True)
    extra = [] if quota is None else [(k.lower().encode(), v.encode()) for k, v in quota.headers().items()]
    if answer.status_code == 200 and _etag_matches(scope, answer.etag):
        await send({"type": "http.response.start", "status": 304, "headers": answer.not_modified_headers + extra})
        await send({"type": "http.response.body", "body": b""})
        return True
    await send({"type": "http.response.start", "status": answer.status_code, "headers": answer.headers + extra})
    await send({"type": "http.response.body", "body": answer.body})
    return True


def _etag_matches(scope: Scope, etag: bytes) -> bool:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return value.strip() == b"*" or any(t.strip().removeprefix(b"W/") == etag for t in value.split(b","))
    return False
