"""Compressed bodies: gzip and brotli, made once per body and kept beside it.

A feed answer, a fragment or the widget's script is the same bytes for thousands of
requests, so each body is compressed once, when it is made (a feed's body once per
content version), and the request only picks the coding its `Accept-Encoding` allows:
brotli, else gzip, else the bytes as they are. Bodies under `MIN_SIZE` are sent as they
are (compression would save less than the header costs). A compressed body is kept only
compressed, a quarter of its size: the rare request accepting neither coding gets the
gzip inflated (tens of microseconds), so memory holds four times as many answers. Every coding of one body carries
the body's one ETag: the tag names the content, not its coding, and answers vary by
`Vary: Accept-Encoding` (there are no range requests here, the one case where a shared
strong tag across codings would mislead a cache).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache

import brotli
from starlette.responses import Response

MIN_SIZE = 1024
DYNAMIC_QUALITY = 5  # feed bodies: within ~5 % of the best ratio at a tenth of quality 11's time
STATIC_QUALITY = 11  # files compressed once per process: the smallest brotli makes
GZIP_LEVEL = 6

Coding = str | None  # "br", "gzip", or None for the bytes as they are


@dataclass(frozen=True)
class Encoded:
    """One body in every coding it is sent in: as it is (small bodies), or gzip and brotli."""

    plain: bytes | None  # None for a compressed body: `identity()` inflates the gzip
    length: int  # of the body as it is
    gzip: bytes | None = None
    br: bytes | None = None

    @property
    def size(self) -> int:
        """Bytes held, for the memory budget."""
        return len(self.plain or b"") + len(self.gzip or b"") + len(self.br or b"")

    def identity(self) -> bytes:
        return self.plain if self.plain is not None else gzip.decompress(self.gzip or b"")

    def codings(self) -> tuple[Coding, ...]:
        """The codings this body is sent in (None: as it is, always)."""
        return (None,) if self.plain is not None else (None, "gzip", "br")

    def pick(self, accept_encoding: str) -> tuple[Coding, bytes]:
        """The smallest coding the request accepts."""
        allowed = accepted(accept_encoding)
        if self.br is not None and "br" in allowed:
            return "br", self.br
        if self.gzip is not None and "gzip" in allowed:
            return "gzip", self.gzip
        return None, self.identity()

    def coded(self, coding: Coding) -> bytes:
        return {"br": self.br, "gzip": self.gzip}.get(coding or "") or self.identity()


def encode(body: bytes, quality: int = DYNAMIC_QUALITY) -> Encoded:
    """Small bodies as they are; others in gzip and brotli only."""
    if len(body) < MIN_SIZE:
        return Encoded(body, len(body))
    return Encoded(None, len(body), gzip.compress(body, GZIP_LEVEL, mtime=0), brotli.compress(body, quality=quality))


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
