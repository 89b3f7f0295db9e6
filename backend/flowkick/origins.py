"""Which web pages may use a publishable key: the one origin rule for every feed response.

A client's allowed list holds origins (`https://cafe.example`, `http://localhost:3000`)
and wildcards (`https://*.cafe.example`: any subdomain, not the bare domain). An entry
without a scheme means https. Matching is exact on scheme, host and port, with default
ports folded (`https://a.example:443` is `https://a.example`).

With a non-empty list a publishable key must come from a page: the request's `Origin`,
or when a browser sent none (a plain navigation, an iframe) its `Referer`. No origin at
all, or the opaque `null` origin (sandboxed frames, `file:`), is refused. Secret keys
are for servers and are never checked against the list. An empty list allows any page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from flowkick.errors import Forbidden

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int


class InvalidOrigin(ValueError):
    pass


def parse_origin(value: str) -> Origin | None:
    """scheme://host[:port] of a URL or Origin header; None when it names no web origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme])


def normalize_entry(entry: str) -> str:
    """An allowed-list entry as stored: lower case, no path, default port dropped; raises InvalidOrigin."""
    pattern = _pattern(entry)
    path = urlsplit(_with_scheme(entry)).path
    if pattern is None or path not in ("", "/") or not _valid_host(pattern[0].host):
        raise InvalidOrigin(f"{entry!r} is not an origin like https://cafe.example or https://*.cafe.example")
    parsed, wildcard = pattern
    port = "" if parsed.port == _DEFAULT_PORTS[parsed.scheme] else f":{parsed.port}"
    return f"{parsed.scheme}://{'*.' if wildcard else ''}{parsed.host}{port}"


def allowed(origin: Origin, entries: Iterable[str]) -> bool:
    return any(_matches(origin, entry) for entry in entries)


def request_origin(request: Request) -> Origin | None:
    """The page a request comes from: its Origin header, else its Referer."""
    header = request.headers.get("origin")
    if header is not None:
        return None if header.strip().lower() == "null" else parse_origin(header)
    referer = request.headers.get("referer")
    return parse_origin(referer) if referer else None


def enforce(request: Request, entries: Iterable[str], key_kind: str) -> None:
    """Raise Forbidden when a publishable key is used outside its client's pages."""
    entries = tuple(entries)
    if not entries or key_kind != "publishable":
        return
    origin = request_origin(request)
    if origin is None or not allowed(origin, entries):
        raise Forbidden("this key is not allowed on this website", code="origin_not_allowed")


def _matches(origin: Origin, entry: str) -> bool:
    pattern = _pattern(entry)
    if pattern is None:
        return False
    base, wildcard = pattern
    if (base.scheme, base.port) != (origin.scheme, origin.port):
        return False
    if not wildcard:
        return origin.host == base.host
    return origin.host.endswith("." + base.host)


def _pattern(entry: str) -> tuple[Origin, bool] | None:
    """An entry as (origin, is it a wildcard); for a wildcard the origin's host is the parent domain."""
    raw = _with_scheme(entry)
    scheme, _, rest = raw.partition("://")
    wildcard = rest.startswith("*.")
    parsed = parse_origin(f"{scheme}://{rest[2:] if wildcard else rest}")
    if parsed is None or "*" in parsed.host:
        return None
    return parsed, wildcard


def _with_scheme(entry: str) -> str:
    raw = entry.strip()
    return raw if "://" in raw else "https://" + raw


def _valid_host(host: str) -> bool:
    return all(label and len(label) <= 63 and label.replace("-", "").isalnum() for label in host.split("."))


def cors_headers(origin: str | None) -> dict[str, str]:
    """CORS for a feed answer: the read path has already refused pages outside the list."""
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": _EXPOSED, "Vary": "Origin"}


_EXPOSED = "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
