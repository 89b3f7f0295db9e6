"""A fake image CDN on 127.0.0.1 that behaves like Instagram's, Facebook's and TikTok's.

    cdn = FakeCdn().start()                    # or the `fake_cdn` fixture (attached to the fake Apify)
    url = cdn.mint("instagram", "abc123", size=(1080, 1350))   # .../v/t51.2885-15/abc123_1080x1350_n.jpg?...&oh=..&oe=..
    cdn.url("/tos-maliva-p-0068/x~tplv-tiktokx-origin.image", expires=cdn.now() - 1)  # already expired
    cdn.fault(url, "truncated")                # that path misbehaves from now on (`times=` for a few requests)
    cdn.advance(7 * 3600)                      # the CDN's clock moves: every minted URL has expired
    cdn.hits(), cdn.hits(url)                  # requests that reached the CDN, in all or for one path

What the real CDNs do, and so does this one:

- Every answer carries `Cross-Origin-Resource-Policy: same-origin` (as `*.cdninstagram.com` and
  `*.fbcdn.net` have since 2021), so Chromium refuses the picture on any other site.
- Addresses are signed and expire. Instagram and Facebook: `?...&_nc_ht=<host>&oh=00_<sig>&oe=<hex
  unix time>`; TikTok: `?x-expires=<unix time>&x-signature=<sig>`. The signature is an HMAC of
  path and expiry under the CDN's secret. A wrong signature answers 403 "Bad URL hash"; a right
  one past its expiry (by the CDN's clock, which the test moves) 403 "URL signature expired".
  Google, X and YouTube pictures are unsigned, as theirs are.
- Pictures are photo-like JPEGs of the size the path names (1080x1080, 1080x1350, 320x320
  avatars), each path its own bytes, some with EXIF GPS and a rotating orientation tag, made
  with Pillow once per path and kept in memory; a `.mp4` path answers a tiny MP4.

Faults a test sets per path (`FAULTS`): 404, 500, 503, a slow drip, no answer at all, a body
cut short of its Content-Length, image bytes labelled text/html, HTML labelled image/jpeg,
an 8000x8000 picture, a decompression bomb (a tiny PNG declaring 30000x30000 pixels), a
200 MB body, an endless redirect chain and bytes that are no image at all.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlencode, urlsplit

import pytest
from PIL import ExifTags, Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.support.fake_apify import FakeApify
from tests.support.fake_apify.cdn_urls import URL_LIFETIME, attach, detach
from tests.support.pictures import photo_image, png_bomb, save
from tests.support.servers import serving

FAULTS = ("not_found", "server_error", "unavailable", "slow", "hang", "truncated", "html_type", "html_body",
          "huge", "bomb", "endless", "redirect_loop", "not_image")
ENDLESS_BYTES = 200 * 1024 * 1024
CORP = {"Cross-Origin-Resource-Policy": "same-origin"}
_HTML = b"<!DOCTYPE html><html><body>Sorry, this content isn't available right now</body></html>"
_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free"


@dataclass(frozen=True)
class Style:
    """How one platform's CDN lays out its paths and signs them."""

    prefix: str
    video_prefix: str
    signing: str | None  # "meta" (oh/oe), "tiktok" (x-expires/x-signature) or None
    host: str = ""
    suffix: str = "_n.jpg"


STYLES = {
    "instagram": Style("/v/t51.2885-15/", "/o1/v/t16/f2/m86/", "meta", "scontent-fra5-1.cdninstagram.com"),
    "facebook": Style("/v/t39.30808-6/", "/o1/v/t2/f2/m69/", "meta", "scontent-fra5-1.xx.fbcdn.net"),
    "tiktok": Style("/tos-maliva-p-0068/", "/tos-maliva-ve-0068/", "tiktok", suffix="~tplv-tiktokx-origin.image"),
    "google": Style("/p/", "/p/", None, suffix="=w1080"),
    "twitter": Style("/media/", "/media/", None, suffix=".jpg"),
    "youtube": Style("/vi/", "/vi/", None, suffix="/maxresdefault.jpg"),
}
_UNSIGNED = Style("", "", None)
_SIZE_RE = re.compile(r"_(\d{2,5})x(\d{2,5})")


@dataclass(frozen=True)
class Hit:
    """One request that reached the CDN."""

    path: str
    query: str
    status: int


@dataclass
class _Fault:
    kind: str
    remaining: int | None  # None: for good


class FakeCdn:
    """The CDN's state (clock, faults, request log) and its live server."""

    def __init__(self, secret: bytes = b"fake-cdn-secret", drip_seconds: float = 0.2) -> None:
        self.secret = secret
        self.drip_seconds = drip_seconds
        self.base_url = ""
        self._lock = threading.Lock()
        self._faults: dict[str, _Fault] = {}
        self._hits: list[Hit] = []
        self._clock = time.time()
        self._stopping = threading.Event()
        self._servers = ExitStack()

    # --- the server ---------------------------------------------------------------------

    def start(self) -> FakeCdn:
        self.base_url = self._servers.enter_context(serving(lambda url: self._app()))
        return self

    def stop(self) -> None:
        """Slow and hanging answers give up first, so the server stops at once."""
        self._stopping.set()
        self._servers.close()

    def __enter__(self) -> FakeCdn:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def reset(self) -> None:
        """A fresh CDN for the next test: no faults, no hits, the clock back at the real time."""
        with self._lock:
            self._faults.clear()
            self._hits.clear()
            self._clock = time.time()

    # --- the clock and addresses --------------------------------------------------------

    def now(self) -> float:
        """The CDN's clock: frozen where the test left it (real time at the start)."""
        with self._lock:
            return self._clock

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._clock += seconds

    def mint(self, style: str, key: str, *, size: tuple[int, int] = (1080, 1350), video: bool = False,
             expires: float | None = None) -> str:
        """The signed address of picture (or video) `key` in `style`'s layout."""
        spec = STYLES[style]
        if video:
            return self.url(f"{spec.video_prefix}{key}.mp4", expires=expires)
        return self.url(f"{spec.prefix}{key}_{size[0]}x{size[1]}{spec.suffix}", expires=expires)

    def url(self, path: str, *, expires: float | None = None) -> str:
        """`path` on this CDN, signed as its style signs (default expiry: `URL_LIFETIME` from now)."""
        expiry = int(self.now() + URL_LIFETIME if expires is None else expires)
        return f"{self.base_url}{path}" + _query(_style_of(path), self.signature(path, expiry), expiry)

    def signature(self, path: str, expiry: int) -> str:
        digest = hmac.new(self.secret, f"{path}|{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    # --- faults and inspection ----------------------------------------------------------

    def fault(self, url_or_path: str, kind: str, *, times: int | None = None) -> None:
        """Make one path misbehave (`kind` from `FAULTS`), for good or for the next `times` requests."""
        if kind not in FAULTS:
            raise ValueError(f"kind must be one of {FAULTS}")
        with self._lock:
            self._faults[urlsplit(url_or_path).path] = _Fault(kind, times)

    def heal(self, url_or_path: str) -> None:
        with self._lock:
            self._faults.pop(urlsplit(url_or_path).path, None)

    def hits(self, url_or_path: str | None = None) -> int:
        """Requests that reached the CDN: all of them, or those for one path."""
        path = None if url_or_path is None else urlsplit(url_or_path).path
        with self._lock:
            return sum(1 for hit in self._hits if path in (None, hit.path))

    @property
    def log(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    # --- answering ----------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET"])])

    async def _answer(self, request: Request) -> Response:
        """Refuse a bad or expired signature, else answer the picture or the path's fault. The
        request is logged before any slow body, so a test sees it as soon as it arrived."""
        path, query = request.url.path, request.query_params
        refusal = self._refusal(path, query.get("oh") or query.get("x-signature"), query.get("oe"),
                                query.get("x-expires"))
        kind = None if refusal else self._take_fault(path)
        if refusal:
            response = _forbidden(refusal)
        else:  # pictures are made off the event loop, so making one never stalls other answers
            data = await (asyncio.to_thread(huge_picture) if kind == "huge" else asyncio.to_thread(picture, path))
            response = _image(path, data) if kind is None else self._fault(kind, request, data)
        with self._lock:
            self._hits.append(Hit(path, request.url.query, 0 if isinstance(response, _Hang) else response.status_code))
        return response

    def _refusal(self, path: str, signature: str | None, hex_expiry: str | None, expiry: str | None) -> str | None:
        """Why a signed path is refused (403 body), or None when it may be served."""
        signing = _style_of(path).signing
        if signing is None:
            return None
        try:
            when = int(hex_expiry, 16) if signing == "meta" and hex_expiry else int(expiry or "")
        except ValueError:
            return "Bad URL hash"
        expected = ("00_" if signing == "meta" else "") + self.signature(path, when)
        if signature is None or not hmac.compare_digest(signature.encode(), expected.encode()):
            return "Bad URL hash"
        return "URL signature expired" if when < self.now() else None

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[path]
            return fault.kind

    def _fault(self, kind: str, request: Request, data: bytes) -> Response:
        """The answer of a faulty path; `data` is its picture (the huge one for "huge")."""
        path = request.url.path
        match kind:
            case "not_found":
                return _plain(404, "URL not found")
            case "server_error":
                return _plain(500, "Internal Server Error")
            case "unavailable":
                return _plain(503, "Service Unavailable", {"Retry-After": "1"})
            case "slow":
                return StreamingResponse(self._drip(data), media_type="image/jpeg",
                                         headers={**CORP, "Content-Length": str(len(data))})
            case "hang":
                return _Hang(self._stopping)
            case "truncated":
                return _Truncated(data)
            case "html_type":
                return _image(path, data, "text/html; charset=utf-8")
            case "html_body":
                return Response(_HTML, media_type="image/jpeg", headers=CORP)
            case "huge":
                return Response(data, media_type="image/jpeg", headers=CORP)
            case "bomb":
                return Response(png_bomb(), media_type="image/png", headers=CORP)
            case "endless":
                return StreamingResponse(self._endless(), media_type="image/jpeg", headers=CORP)
            case "redirect_loop":
                return _redirect_one_hop_further(request)
            case _:  # not_image
                return Response(random.Random(path).randbytes(20_000), media_type="image/jpeg", headers=CORP)

    async def _drip(self, data: bytes) -> AsyncIterator[bytes]:
        """The whole picture, 256 bytes at a time with a pause between: never a read timeout."""
        for start in range(0, len(data), 256):
            if self._stopping.is_set():
                return
            yield data[start:start + 256]
            await asyncio.sleep(self.drip_seconds)

    async def _endless(self) -> AsyncIterator[bytes]:
        """200 MB of "JPEG" without a Content-Length: only a running byte count stops it."""
        chunk = b"\xff\xd8\xff\xe0" + bytes(64 * 1024 - 4)
        for _ in range(ENDLESS_BYTES // len(chunk)):
            if self._stopping.is_set():
                return
            yield chunk


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode(), status_code=status, media_type="text/plain", headers={**CORP, **(headers or {})})


def _redirect_one_hop_further(request: Request) -> Response:
    """A redirect to the same picture with one more hop, for ever."""
    hop = int(request.query_params.get("hop", "0")) + 1
    location = f"{request.url.path}?{urlencode({**request.query_params, 'hop': hop})}"
    return RedirectResponse(location, status_code=302, headers=CORP)


class _Hang(Response):
    """Accepts the request and says nothing until the client gives up (or the CDN stops)."""

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__(status_code=504)
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while not self.stopping.is_set():
            try:
                if (await asyncio.wait_for(receive(), 0.1))["type"] == "http.disconnect":
                    return
            except TimeoutError:
                continue


class _Truncated(Response):
    """Promises the whole picture (Content-Length), sends half of it, then drops the connection."""

    def __init__(self, data: bytes) -> None:
        super().__init__(media_type="image/jpeg", headers={**CORP, "Content-Length": str(len(data))})
        self.data = data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.data[: len(self.data) // 2], "more_body": True})
        # returning now, mid-body, makes the server close the connection: the client sees it cut short


def _forbidden(reason: str) -> Response:
    return _plain(403, reason)


def _image(path: str, data: bytes, media_type: str | None = None) -> Response:
    if path.endswith(".mp4"):
        return Response(_MP4, media_type=media_type or "video/mp4", headers=CORP)
    headers = {**CORP, "Cache-Control": "max-age=1209600, no-transform"}
    return Response(data, media_type=media_type or "image/jpeg", headers=headers)


def _style_of(path: str) -> Style:
    return next((s for s in STYLES.values() if s.signing and path.startswith((s.prefix, s.video_prefix))),
                _UNSIGNED)


def _query(style: Style, signature: str, expiry: int) -> str:
    if style.signing == "meta":
        return "?" + urlencode({"stp": "dst-jpg_e35", "_nc_ht": style.host, "_nc_cat": "1", "_nc_ohc": "FaKe0hc",
                                "oh": f"00_{signature}", "oe": f"{expiry:08X}"})
    if style.signing == "tiktok":
        return "?" + urlencode({"dr": "14575", "x-expires": expiry, "x-signature": signature})
    return ""


# --- pictures -----------------------------------------------------------------------------


def size_of(path: str) -> tuple[int, int]:
    """The size a path names (`_1080x1350`), 1080x1080 when it names none."""
    match = _SIZE_RE.search(path)
    return (int(match.group(1)), int(match.group(2))) if match else (1080, 1080)


@functools.lru_cache(maxsize=256)
def picture(path: str) -> bytes:
    """This path's picture: one of a few photo-like backgrounds, marked so its bytes are its own;
    every third lies on its side with EXIF orientation 6, every other carries a GPS position."""
    width, height = size_of(path)
    seed = int.from_bytes(hashlib.blake2b(path.encode(), digest_size=8).digest(), "big")
    image = _background(width, height, seed % 4).copy()
    rng = random.Random(seed)
    x, y = rng.randrange(width // 2), rng.randrange(height // 2)
    ImageDraw.Draw(image).rectangle((x, y, x + width // 3, y + height // 3), fill=tuple(rng.randbytes(3)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "FakeCam", f"Model {seed % 7}"
    if seed % 3 == 0:
        image = image.transpose(Image.Transpose.ROTATE_90)  # stored on its side; the tag turns it upright
        exif[ExifTags.Base.Orientation] = 6
    if seed % 2 == 0:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    return save(image, "JPEG", quality=88, exif=exif.tobytes())


@functools.cache
def _background(width: int, height: int, variant: int) -> Image.Image:
    return photo_image(width, height, seed=variant)


@functools.cache
def huge_picture() -> bytes:
    """A real 8000x8000 JPEG (64 megapixels, about 1 MB): under Pillow's bomb limit, over any sane one."""
    image = Image.new("RGB", (8000, 8000), (120, 90, 60))
    ImageDraw.Draw(image).ellipse((1000, 1000, 7000, 7000), fill=(200, 40, 40))
    return save(image, "JPEG", quality=70)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_cdn_server() -> Iterator[FakeCdn]:
    huge_picture()  # made before serving, as a real CDN sends a stored file: its seconds of encoding
    with FakeCdn() as cdn:  # on a loaded machine counted against the downloader's timeout
        yield cdn


@pytest.fixture
def fake_cdn(fake_cdn_server: FakeCdn, fake_apify: FakeApify) -> Iterator[FakeCdn]:
    """The CDN, fresh, attached to the fake Apify: generated items' pictures point at it."""
    fake_cdn_server.reset()
    attach(fake_apify.world, fake_cdn_server)
    try:
        yield fake_cdn_server
    finally:
        detach(fake_apify.world)
