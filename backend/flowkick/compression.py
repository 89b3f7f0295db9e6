"""Compressed bodies: brotli made once per body and kept beside it, gzip on first need.

A feed answer, a fragment or the widget's script is the same bytes for thousands of
requests, so each body is compressed once, when it is made (a feed's body once per
content version), and the request only picks the coding its `Accept-Encoding` allows:
brotli, else gzip, else the bytes as they are. Every browser takes brotli, so a body is
made in brotli only; the gzip of it is made the first time a request accepting gzip but
not brotli asks (a server-side HTTP client, say) and kept from then on: making both for
every new body cost a first request a quarter of its time. Bodies under `MIN_SIZE` are
sent as they are (compression would save less than the header costs). A compressed body
is kept only compressed, a quarter of its size: the rare request accepting neither coding
gets it inflated (tens of microseconds), so memory holds four times as many answers.
Every coding of one body carries the body's one ETag: the tag names the content, not its
coding, and answers vary by `Vary: Accept-Encoding` (there are no range requests here,
the one case where a shared strong tag across codings would mislead a cache).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from functools import lru_cache

import brotli
from starlette.responses import Response

MIN_SIZE = 1024
# Feed bodies and fragments: a 28 KB fragment in 132 µs at 3.0 KB, against 58 µs at 3.5 KB
# for quality 3. A first request costs over a millisecond anyway, and the stored answers of
# 30,000 feeds outgrow the memory budget: 15 % smaller bodies keep 15 % more of them.
DYNAMIC_QUALITY = 5
STATIC_QUALITY = 11  # files compressed once per process: the smallest brotli makes
GZIP_LEVEL = 6

Coding = str | None  # "br", "gzip", or None for the bytes as they are
CODINGS: tuple[Coding, ...] = ("br", "gzip")
_AS_IS: tuple[Coding, ...] = (None,)
_EVERY: tuple[Coding, ...] = (None, *CODINGS)


@dataclass(slots=True)
class Encoded:
    """One body in every coding it is sent in: as it is (small bodies), or brotli and gzip."""

    plain: bytes | None  # None for a compressed body: `identity()` inflates the brotli
    length: int  # of the body as it is
    br: bytes | None = None
    _gzip: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Bytes held, for the memory budget (a cache keeping a body weighs it again once a
        request made its gzip: `answers.Answers.keep`)."""
        return len(self.plain or b"") + len(self.br or b"") + len(self._gzip or b"")

    def identity(self) -> bytes:
        return self.plain if self.plain is not None else brotli.decompress(self.br or b"")

    def codings(self) -> tuple[Coding, ...]:
        """The codings this body is sent in (None: as it is, always)."""
        return _AS_IS if self.br is None else _EVERY

    def pick(self, accept_encoding: str) -> tuple[Coding, bytes]:
        """The smallest coding the request accepts."""
        coding = best(accepted(accept_encoding), self.codings())
        return coding, self.coded(coding)

    def coded(self, coding: Coding) -> bytes:
        if self.br is None or coding is None:
            return self.identity()
        if coding == "br":
            return self.br
        if self._gzip is None:
            self._gzip = gzip.compress(self.identity(), GZIP_LEVEL, mtime=0)
        return self._gzip


def best(allowed: frozenset[str], codings: tuple[Coding, ...]) -> Coding:
    """The first of brotli and gzip that both sides take, else the bytes as they are."""
    for coding in CODINGS:
        if coding in allowed and coding in codings:
            return coding
    return None


def encode(body: bytes, quality: int = DYNAMIC_QUALITY) -> Encoded:
    """Small bodies as they are; others in brotli only (gzip on first need)."""
    if len(body) < MIN_SIZE:
        return Encoded(body, len(body))
    return Encoded(None, len(body), brotli.compress(body, quality=quality))


@lru_cache(maxsize=256)
def accepted(header: str) -> frozenset[str]:
    """The codings an `Accept-Encoding` header allows (q=0 refuses one; `*` allows both)."""
    allowed: set[str] = set()
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        name = name.strip()
        if _refused(params):
            continue
        allowed.update(("br", "gzip") if name == "*" else (name,))
    return frozenset(allowed)


def _refused(params: str) -> bool:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                return float(value) <= 0
            except ValueError:
                return True
    return False


def vary(headers: dict[str, str]) -> dict[str, str]:
    """The headers with Accept-Encoding added to their Vary."""
    present = headers.get("Vary")
    headers["Vary"] = f"{present}, Accept-Encoding" if present else "Accept-Encoding"
    return headers


def response(encoded: Encoded, accept_encoding: str, status_code: int, headers: dict[str, str],
             media_type: str) -> Response:
    """The body in the coding the request accepts, varying by Accept-Encoding."""
    coding, body = encoded.pick(accept_encoding)
    headers = vary(dict(headers))
    if coding is not None:
        headers["Content-Encoding"] = coding
    return Response(body, status_code=status_code, headers=headers, media_type=media_type)
