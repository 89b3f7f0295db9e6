"""Whole answers for repeated feed requests: the hot read path.

Most feed traffic is one widget URL asked again and again. The first request takes the
full read path (key, origin, quota, feed lookup, filtering, serialization) and its answer
is kept here under the request's raw facts: path, query string, and the headers that can
change the answer. `RepeatAnswers`, a pure ASGI middleware, answers a repeat before any
routing: it checks that nothing the answer depends on has changed (an epoch per source,
bumped when that source's feed is written, so a refresh of one feed leaves every other
feed's answers alone; a generation bumped when any client changes; and a deadline: the
data turning stale, a rotated key expiring, the in-memory feed copy due for a re-read),
counts the request for quotas and
usage, and sends the stored bytes with pre-encoded headers. Anything unusual (a quota or
burst refusal, a month not yet loaded) falls through to the full path, which answers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from flowkick.compression import Coding, Encoded, accepted, best, vary
from flowkick.errors import FlowkickError
from flowkick.memory import BytesLRU

if TYPE_CHECKING:
    from flowkick.readpath import FeedView, Reader

# Request headers that can change a feed answer; every other header is ignored (the
# coding is picked per request from the codings an answer keeps).
_VARYING = (b"authorization", b"origin", b"referer", b"host")
_VARYING_EMBED = (*_VARYING, b"accept-language")  # a fragment's language follows the browser's
FEED_PATHS = ("/api/v1/social/", "/api/v1/feed")
EMBED_PATH = "/embed/"
STORED_PATHS = (*FEED_PATHS, EMBED_PATH)

Key = bytes
RawHeaders = list[tuple[bytes, bytes]]
SharedHeaders = tuple[tuple[bytes, bytes], ...]
# An answer's own objects and its request key, beyond its body (the cache's slot is
# memory.ENTRY_OVERHEAD): 626 bytes in all, measured with tracemalloc over 4,000 answers.
ANSWER_SIZE = 430


@dataclass(frozen=True, slots=True)
class Answer:
    client_id: int
    plan: str
    key_kind: str
    source_ids: tuple[int, ...]
    epochs: tuple[int, ...]  # each source's epoch when its feed was read for this answer
    nudge: tuple[int, ...]  # pending or stale sources: each repeat asks the refresher again
    status_code: int
    etag: bytes
    body: Encoded
    shared: SharedHeaders  # the caching headers but the ETag: one tuple for every answer sending the same
    media_type: str
    valid_until: float
    generation: int

    @property
    def size(self) -> int:
        """Bytes held, for the memory budget (a body shared with the body cache counted here too)."""
        return self.body.size + ANSWER_SIZE

    def caching(self) -> RawHeaders:
        """Every header but the body's own and the quota's: what a 304 sends."""
        return [(b"etag", self.etag), *self.shared]

    def pick(self, accept_encoding: bytes) -> tuple[bytes, RawHeaders, bool]:
        """The body and headers in the smallest coding the request accepts, and whether the
        answer grew (its first gzip request made the body's gzip: it must be weighed again)."""
        coding = _coding(accept_encoding, self.body.codings())
        held = self.body.size if coding == "gzip" else 0
        body = self.body.coded(coding)
        headers = self.caching()
        headers.append((b"content-length", b"%d" % len(body)))
        headers.extend(_typed(coding, self.media_type))
        return body, headers, bool(held) and self.body.size != held


class Answers:
    def __init__(self, cache: BytesLRU[Key, Answer]) -> None:
        self.generation = 0
        self._epochs: dict[int, int] = {}
        self._answers = cache

    @property
    def hits(self) -> int:
        """Repeats answered from a stored answer."""
        return self._answers.hits

    @property
    def misses(self) -> int:
        """Feed requests the full path had to answer."""
        return self._answers.misses

    def epoch(self, source_id: int) -> int:
        """How many times this source's feed changed in this process's sight: read it before
        the feed, so an answer built from a copy read before a change is never kept as current."""
        return self._epochs.get(source_id, 0)

    def forget_sources(self, source_ids: Iterable[int]) -> None:
        """These feeds changed: their answers must be worked out again; every other feed's stay."""
        for source_id in source_ids:
            self._epochs[source_id] = self._epochs.get(source_id, 0) + 1

    def invalidate(self) -> None:
        """A client changed (keys, origins, sources, moderation): every stored answer depends on one."""
        self.generation += 1

    def get(self, key: Key, now: float) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None or not self._current(answer, now):
            self._answers.misses += 1
            return None
        self._answers.hits += 1
        return answer

    def _current(self, answer: Answer, now: float) -> bool:
        if answer.generation != self.generation or now >= answer.valid_until:
            return False
        return all(self._epochs.get(s, 0) == e for s, e in zip(answer.source_ids, answer.epochs, strict=True))

    def keep(self, key: Key, answer: Answer) -> None:
        """Keep `answer` again, weighed anew (a request just made its body's gzip)."""
        self._answers.keep(key, answer)

    def put(self, key: Key, view: FeedView, body: Encoded, etag: str, headers: dict[str, str], media_type: str) -> None:
        self._answers.keep(key, Answer(
            client_id=view.client.id, plan=view.client.plan, key_kind=view.client.key_kind,
            source_ids=view.source_ids, epochs=view.epochs, nudge=view.nudge, status_code=view.status_code,
            etag=etag.encode("latin-1"), body=body, media_type=media_type,
            shared=_shared_headers(tuple((k, v) for k, v in vary(dict(headers)).items() if k != "ETag")),
            valid_until=view.valid_until, generation=view.generation,
        ))


@lru_cache(maxsize=1024)
def _shared_headers(headers: tuple[tuple[str, str], ...]) -> SharedHeaders:
    """Raw headers but the ETag. They repeat from answer to answer (Cache-Control, Vary, CORS),
    so an answer holds the one tuple that every answer sending the same headers holds too."""
    return tuple(_shared(k, v) for k, v in headers)


@lru_cache(maxsize=1024)
def _shared(name: str, value: str) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), value.encode("latin-1")


@lru_cache(maxsize=256)
def _coding(accept_encoding: bytes, codings: tuple[Coding, ...]) -> Coding:
    return best(accepted(accept_encoding.decode("latin-1")), codings)


@lru_cache(maxsize=64)
def _typed(coding: Coding, media_type: str) -> SharedHeaders:
    """The body's type and coding headers, shared between answers."""
    typed = (_shared("content-type", media_type),)
    return typed if coding is None else (*typed, _shared("content-encoding", coding))


def request_key(scope: Scope) -> Key:
    """The raw facts a feed answer depends on, read straight from the ASGI scope, as one
    bytes object (a tuple of them weighed 250 bytes more per stored answer). No part of a
    well-formed request holds a NUL, so no two of them can share a key."""
    found = dict.fromkeys(_VARYING_EMBED if scope["path"].startswith(EMBED_PATH) else _VARYING, b"")
    for name, value in scope["headers"]:
        if name in found:
            found[name] = value
    return b"\0".join((scope["path"].encode("utf-8", "surrogatepass"), scope["query_string"], *found.values()))


class RepeatAnswers:
    """Answers a repeated GET of a feed (JSON or fragment) from `Reader.answers`, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(STORED_PATHS):
            reader: Reader = scope["app"].state.reader
            key = request_key(scope)
            answer = reader.answers.get(key, reader.clock.now())
            if answer is not None and await _send_repeat(reader, key, answer, scope, send):
                return
        await self.app(scope, receive, send)


async def _send_repeat(reader: Reader, key: Key, answer: Answer, scope: Scope, send: Send) -> bool:
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
    if_none_match, accept_encoding = _conditions(scope)
    if answer.status_code == 200 and _etag_matches(if_none_match, answer.etag):
        await send({"type": "http.response.start", "status": 304, "headers": answer.caching() + extra})
        await send({"type": "http.response.body", "body": b""})
        return True
    body, headers, grew = answer.pick(accept_encoding)
    if grew:
        reader.answers.keep(key, answer)
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body})
    return True


def _conditions(scope: Scope) -> tuple[bytes | None, bytes]:
    """The request's If-None-Match (None when absent) and Accept-Encoding."""
    if_none_match, accept_encoding = None, b""
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if_none_match = value
        elif name == b"accept-encoding":
            accept_encoding = value
    return if_none_match, accept_encoding


def _etag_matches(header: bytes | None, etag: bytes) -> bool:
    if header is None:
        return False
    return header.strip() == b"*" or any(t.strip().removeprefix(b"W/") == etag for t in header.split(b","))
