"""Fetch one picture from a platform's CDN, at a bounded cost whatever the other end does.

Picture addresses come from scraped data, so they are treated as hostile. Only `http` and
`https`. Every hop's host is resolved here and refused when any of its addresses is not public
(private, loopback, link-local, multicast, reserved, unspecified, or one of those inside an
IPv4-mapped, 6to4 or Teredo address), unless `allow_private` (tests: their fake CDN is on
127.0.0.1). The request then goes to an address that was checked, with the name kept for the
Host header and for TLS (SNI and the certificate), so a rebinding name cannot swap 127.0.0.1 in
after the check. At most three redirects, each checked like the first.

Costs are bounded: a declared Content-Length over the cap is refused before the body is read,
and a body is dropped the moment it passes the cap (bodies are asked for and taken only
uncompressed), so a 200 MB answer costs about the cap in memory. One deadline (`timeout`)
covers the whole download, retries and a slow drip included; connect and read timeouts (10 s
at most) end a stalled connection sooner. A host gets at most `per_host` downloads at once.
No cookies are kept or sent, no Referer, no proxy or .netrc from the environment, and a plain
User-Agent.

Every failure is a `DownloadError` with a stable `reason` and whether a later refresh should
try again (`retryable`):

    never retried   bad_url, bad_scheme, private_address, too_large, too_many_redirects,
                    content_encoding, http_403, http_404, http_410 (any other 4xx: http_<status>)
    retried         timeout, connection, dns, http_5xx, http_408, http_425, http_429: after a
                    wait that doubles each time, with jitter, and is at least the server's
                    Retry-After; a failure whose wait would pass the deadline is raised at once
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from flowkick import __version__
from flowkick.outbound import tls_context

USER_AGENT = f"Flowkick/{__version__} (picture fetcher)"
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRYABLE_STATUSES = frozenset({408, 425, 429})  # and every 5xx
DEFAULT_PORTS = {"http": 80, "https": 443}
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8,*/*;q=0.5"


class DownloadError(Exception):
    """A picture that could not be fetched; `reason` is a stable short code."""

    def __init__(self, reason: str, message: str, *, retryable: bool = False, retry_after: float = 0.0) -> None:
        super().__init__(reason, message)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), 0 when it did not

    def __str__(self) -> str:
        return f"{self.reason}: {self.args[1]}"


class Downloader:
    """Fetches pictures over one shared httpx client; `aclose` (or `async with`) when done."""

    def __init__(self, *, allow_private: bool = False, max_bytes: int = 20_000_000, timeout: float = 20.0,
                 per_host: int = 4, retries: int = 2, retry_delay: float = 0.5,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.per_host = per_host
        self.retries = retries
        self.retry_delay = retry_delay
        self._slots: weakref.WeakValueDictionary[str, asyncio.Semaphore] = weakref.WeakValueDictionary()
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(min(timeout, 10.0)), follow_redirects=False,
            trust_env=False, verify=tls_context(), cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "identity"})

    async def __aenter__(self) -> Downloader:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """The body at `url` (after at most three redirects), at most `max_bytes` long.

        The download holds one of the slots of the host `url` names (redirects included);
        waiting for a free slot does not count against the deadline.
        """
        target = _parse(url)
        async with self._slot(_host(target)):
            deadline = asyncio.get_running_loop().time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    return await self._attempts(target, max_bytes or self.max_bytes, deadline)
            except TimeoutError:
                raise DownloadError("timeout", f"not done within {self.timeout:g} s", retryable=True) from None

    def _slot(self, host: str) -> asyncio.Semaphore:
        """The host's semaphore; it disappears with the last download that holds it."""
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = asyncio.Semaphore(self.per_host)
        return slot

    async def _attempts(self, url: httpx.URL, cap: int, deadline: float) -> bytes:
        """Tries again after retryable failures, unless the wait would end past `deadline`.

        The wait doubles each time, with jitter, and is at least what Retry-After asks for.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(self.retries + 1):
            try:
                return await self._follow(url, cap)
            except DownloadError as error:
                delay = max(self.retry_delay * 2**attempt * random.uniform(0.5, 1.5), error.retry_after)
                if not error.retryable or attempt == self.retries or loop.time() + delay >= deadline:
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _follow(self, url: httpx.URL, cap: int) -> bytes:
        """Follows redirects by hand, so each hop's address is checked before it is contacted."""
        for _ in range(MAX_REDIRECTS + 1):
            body, location = await self._hop(url, cap)
            if location is None:
                return body
            url = _redirected(url, location)
        raise DownloadError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")

    async def _hop(self, url: httpx.URL, cap: int) -> tuple[bytes, str | None]:
        """One request: the body, or the redirect's Location."""
        addresses = await self._addresses(url)
        try:
            async with self._stream(url, addresses) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    return b"", response.headers["location"]
                _check_status(response)
                return await _read(response, cap), None
        except httpx.TransportError as error:
            raise _transport_failure(error) from None

    async def _addresses(self, url: httpx.URL) -> list[str]:
        """The host's addresses, every one of them public unless private ones are allowed."""
        port = url.port or DEFAULT_PORTS[url.scheme]
        try:
            found = await asyncio.get_running_loop().getaddrinfo(_host(url), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise DownloadError("dns", f"{_host(url)}: {error}", retryable=True) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        refused = [address for address in addresses if not self.allow_private and not is_public(address)]
        if refused or not addresses:
            raise DownloadError("private_address", f"{_host(url)} resolves to {', '.join(refused) or 'nothing'}")
        return addresses

    @asynccontextmanager
    async def _stream(self, url: httpx.URL, addresses: list[str]) -> AsyncIterator[httpx.Response]:
        """The response from the first of `addresses` that accepts a connection."""
        for index, address in enumerate(addresses):
            try:
                response = await self._client.send(_pinned(self._client, url, address), stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if index == len(addresses) - 1:
                    raise
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return


def is_public(address: str) -> bool:
    """Whether `address` is a public unicast address (one inside an IPv6 wrapper is judged too)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and not is_public(str(inner)):
            return False
        if ip.ipv4_mapped:
            return True
    return ip.is_global and not ip.is_multicast


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise DownloadError("bad_url", str(error)) from None
    if parsed.scheme not in DEFAULT_PORTS:
        raise DownloadError("bad_scheme", f"only http and https are fetched, not {parsed.scheme or 'none'}")
    if not parsed.host:
        raise DownloadError("bad_url", "no host")
    return parsed


def _redirected(url: httpx.URL, location: str) -> httpx.URL:
    """Where a redirect's Location (absolute or relative to `url`) points, checked like any address."""
    try:
        return _parse(str(url.join(location)))
    except httpx.InvalidURL as error:
        raise DownloadError("bad_url", f"redirect to {location!r}: {error}") from None


def _host(url: httpx.URL) -> str:
    """The host as DNS and TLS know it (an international name in its xn-- form)."""
    return url.raw_host.decode("ascii")


def _pinned(client: httpx.AsyncClient, url: httpx.URL, address: str) -> httpx.Request:
    """A request for `url` sent to `address`, with the name kept for Host and TLS (SNI, certificate)."""
    extensions = {"sni_hostname": _host(url)} if url.scheme == "https" else {}
    return client.build_request("GET", url.copy_with(host=address), headers={"Host": url.netloc.decode("ascii")},
                                extensions=extensions)


def _transport_failure(error: httpx.TransportError) -> DownloadError:
    """Timeouts and broken connections are worth another try; a malformed redirect is not."""
    message = str(error) or type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return DownloadError("timeout", message, retryable=True)
    if "location header" in message:  # httpx checks a redirect's Location before we see it
        return DownloadError("bad_url", message)
    return DownloadError("connection", message, retryable=True)


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if response.is_success:
        return
    wait = _retry_after(response.headers.get("retry-after", ""))
    if status >= 500:
        raise DownloadError("http_5xx", f"the server answered {status}", retryable=True, retry_after=wait)
    raise DownloadError(f"http_{status}", f"the server answered {status}", retryable=status in RETRYABLE_STATUSES,
                        retry_after=wait)


def _retry_after(value: str) -> float:
    """Retry-After in seconds; its HTTP-date form (rare on CDNs) counts as no wait."""
    return float(value) if value.strip().isdigit() else 0.0


async def _read(response: httpx.Response, cap: int) -> bytes:
    """The body as sent, dropped as soon as it is longer than `cap` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise DownloadError("too_large", f"Content-Length {declared} is over {cap} bytes")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise DownloadError("content_encoding", f"a picture sent with Content-Encoding {encoding}")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > cap:
            raise DownloadError("too_large", f"the body passed {cap} bytes")
    return bytes(body)
