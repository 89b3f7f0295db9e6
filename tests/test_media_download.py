"""Fetching one picture: a real CDN-like server on 127.0.0.1 that misbehaves in every usual way.

Most tests allow private addresses, since the server is on loopback; the address tests turn
that off. To show that a redirect from a public address to a private one is refused, a
transport plays the public internet: whatever address a request goes to, the loopback server
answers it, and the transport records where each request was sent.
"""

from __future__ import annotations

import asyncio
import gzip
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from flowkick.media.download import USER_AGENT, Downloader, DownloadError
from flowkick.media.images import BadImage, encode
from tests.support.pictures import photo, png_bomb
from tests.support.servers import free_port, live_app

pytestmark = pytest.mark.anyio

PHOTO = photo(640, 800)
CHUNK = 64 * 1024
HUGE = 200_000_000


@dataclass
class Cdn:
    """What the server saw: hits per path, the last request's headers, streamed bytes, concurrency."""

    url: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    headers: dict[str, str] = field(default_factory=dict)
    streamed: int = 0
    active: int = 0
    most_active: int = 0


def cdn_app(cdn: Cdn) -> Starlette:
    """A picture server with every fault the media worker must survive."""

    def picture(body: bytes = PHOTO, media_type: str = "image/jpeg") -> Any:
        return lambda request: Response(body, media_type=media_type)

    def status(code: int) -> Any:
        return lambda request: Response(b"no", status_code=code, headers={"retry-after": "30"})

    async def flaky(request: Request) -> Response:
        """Fails `fail` times (500), then serves the photo."""
        if cdn.hits[request.url.path] <= int(request.query_params["fail"]):
            return Response(b"down", status_code=500)
        return Response(PHOTO, media_type="image/jpeg")

    async def hops(request: Request) -> Response:
        left = int(request.path_params["left"])
        return RedirectResponse(f"/hops/{left - 1}") if left else Response(PHOTO, media_type="image/jpeg")

    async def headers(request: Request) -> Response:
        cdn.headers = dict(request.headers)
        return Response(PHOTO, media_type="image/jpeg")

    async def cookie(request: Request) -> Response:
        response = RedirectResponse("/headers")
        response.set_cookie("session", "secret")
        return response

    async def slow(request: Request) -> Response:
        cdn.active += 1
        cdn.most_active = max(cdn.most_active, cdn.active)
        await asyncio.sleep(0.2)
        cdn.active -= 1
        return Response(PHOTO, media_type="image/jpeg")

    def stream(total: int, pause: float, declared: bool) -> Any:
        async def endpoint(request: Request) -> StreamingResponse:
            async def body() -> AsyncIterator[bytes]:
                size = 1 if pause else CHUNK
                for _ in range(total // size):
                    if await request.is_disconnected():
                        return
                    cdn.streamed += size
                    yield b"x" * size
                    await asyncio.sleep(pause)
            extra = {"content-length": str(total)} if declared else {}
            return StreamingResponse(body(), media_type="image/jpeg", headers=extra)
        return endpoint

    routes = [
        Route("/photo.jpg", picture()), Route("/wrong-type.jpg", picture(media_type="text/html")),
        Route("/truncated.jpg", picture(PHOTO[: len(PHOTO) // 2])), Route("/bomb.png", picture(png_bomb(), "image/png")),
        Route("/not-an-image.jpg", picture(b"<!doctype html><h1>Sorry</h1>")),
        Route("/gzip.jpg", lambda request: Response(gzip.compress(PHOTO), headers={"content-encoding": "gzip"})),
        Route("/status/{code:int}", lambda request: status(request.path_params["code"])(request)),
        Route("/flaky/{name}", flaky), Route("/hops/{left:int}", hops), Route("/headers", headers),
        Route("/cookie", cookie), Route("/slow", slow),
        Route("/loop", lambda request: RedirectResponse("/loop")),
        Route("/to-private", lambda request: RedirectResponse("http://10.1.2.3/photo.jpg")),
        Route("/to-file", lambda request: RedirectResponse("file:///etc/passwd")),
        Route("/to-nowhere", lambda request: Response(status_code=302, headers={"location": "http://[::1"})),
        Route("/to-localhost", lambda request: RedirectResponse(cdn.url.replace("127.0.0.1", "localhost") + "/photo.jpg")),
        Route("/drip", stream(600, 0.1, declared=False)), Route("/huge", stream(HUGE, 0, declared=False)),
        Route("/huge-declared", stream(HUGE, 0, declared=True)),
    ]
    app = Starlette(routes=routes)

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            cdn.hits[scope["path"]] += 1
        await app(scope, receive, send)
    return counted  # type: ignore[return-value]


@pytest.fixture(scope="module")
def cdn() -> Iterator[Cdn]:
    state = Cdn()
    with live_app(cdn_app(state)) as url:
        state.url = url
        yield state


@pytest.fixture
async def downloader() -> AsyncIterator[Downloader]:
    async with Downloader(allow_private=True, retry_delay=0.01, timeout=10) as made:
        yield made


class Internet(httpx.AsyncBaseTransport):
    """Every address answered by the loopback server; `sent_to` lists the addresses asked."""

    def __init__(self, server: str) -> None:
        self.server = httpx.URL(server)
        self.inner = httpx.AsyncHTTPTransport()
        self.sent_to: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent_to.append(request.url.host)
        request.url = request.url.copy_with(host=self.server.host, port=self.server.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def failure(downloader: Downloader, url: str, **options: Any) -> DownloadError:
    with pytest.raises(DownloadError) as caught:
        await downloader.fetch(url, **options)
    return caught.value


# --- good pictures ----------------------------------------------------------------------


async def test_a_picture_is_fetched_whole(cdn: Cdn, downloader: Downloader) -> None:
    assert await downloader.fetch(f"{cdn.url}/photo.jpg") == PHOTO


async def test_a_wrong_content_type_does_not_matter(cdn: Cdn, downloader: Downloader) -> None:
    data = await downloader.fetch(f"{cdn.url}/wrong-type.jpg")
    assert encode(data).width == 640


async def test_up_to_three_redirects_are_followed(cdn: Cdn, downloader: Downloader) -> None:
    assert await downloader.fetch(f"{cdn.url}/hops/3") == PHOTO


async def test_a_redirect_to_another_host_name_is_followed(cdn: Cdn, downloader: Downloader) -> None:
    assert await downloader.fetch(f"{cdn.url}/to-localhost") == PHOTO


async def test_no_cookie_or_referer_is_sent_and_the_user_agent_is_plain(cdn: Cdn, downloader: Downloader) -> None:
    await downloader.fetch(f"{cdn.url}/cookie")  # sets a cookie, then redirects to /headers
    await downloader.fetch(f"{cdn.url}/headers")
    assert "cookie" not in cdn.headers and "referer" not in cdn.headers
    assert cdn.headers["user-agent"] == USER_AGENT


async def test_a_host_gets_at_most_per_host_downloads_at_once(cdn: Cdn) -> None:
    async with Downloader(allow_private=True, per_host=2) as downloader:
        await asyncio.gather(*(downloader.fetch(f"{cdn.url}/slow") for _ in range(6)))
    assert cdn.most_active == 2


# --- hostile or broken pictures: fetched, then refused by the decoder -------------------


@pytest.mark.parametrize(("path", "reason"), [("/truncated.jpg", "truncated"), ("/bomb.png", "too_many_pixels"),
                                              ("/not-an-image.jpg", "not_an_image")])
async def test_a_broken_file_downloads_and_the_decoder_refuses_it(cdn: Cdn, downloader: Downloader, path: str,
                                                                  reason: str) -> None:
    data = await downloader.fetch(cdn.url + path)
    with pytest.raises(BadImage) as caught:
        encode(data)
    assert caught.value.reason == reason


# --- size -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/huge", "/huge-declared"])
async def test_a_200_mb_body_is_refused_after_about_the_cap(cdn: Cdn, downloader: Downloader, path: str) -> None:
    cdn.streamed = 0
    error = await failure(downloader, cdn.url + path, max_bytes=1_000_000)
    assert (error.reason, error.retryable) == ("too_large", False)
    assert cdn.streamed < 50_000_000  # the server stopped long before 200 MB: nobody was reading


async def test_the_cap_is_per_call(cdn: Cdn, downloader: Downloader) -> None:
    assert (await failure(downloader, f"{cdn.url}/photo.jpg", max_bytes=10_000)).reason == "too_large"
    assert await downloader.fetch(f"{cdn.url}/photo.jpg") == PHOTO


async def test_a_compressed_body_is_refused(cdn: Cdn, downloader: Downloader) -> None:
    assert (await failure(downloader, f"{cdn.url}/gzip.jpg")).reason == "content_encoding"


# --- time -------------------------------------------------------------------------------


async def test_a_slow_drip_is_cut_off_by_the_deadline(cdn: Cdn) -> None:
    async with Downloader(allow_private=True, timeout=1.0) as downloader:  # each byte comes well within a read timeout
        error = await failure(downloader, f"{cdn.url}/drip")
    assert (error.reason, error.retryable) == ("timeout", True)


async def test_a_closed_port_is_a_retryable_connection_error() -> None:
    async with Downloader(allow_private=True, retries=0) as downloader:
        error = await failure(downloader, f"http://127.0.0.1:{free_port()}/photo.jpg")
    assert (error.reason, error.retryable) == ("connection", True)


# --- statuses and retries ---------------------------------------------------------------


async def test_a_server_error_is_retried_until_the_picture_comes(cdn: Cdn, downloader: Downloader) -> None:
    assert await downloader.fetch(f"{cdn.url}/flaky/twice?fail=2") == PHOTO
    assert cdn.hits["/flaky/twice"] == 3


async def test_retries_end_with_a_retryable_error(cdn: Cdn, downloader: Downloader) -> None:
    error = await failure(downloader, f"{cdn.url}/flaky/always?fail=99")
    assert (error.reason, error.retryable, cdn.hits["/flaky/always"]) == ("http_5xx", True, 3)


@pytest.mark.parametrize("code", [403, 404, 410])
async def test_a_missing_picture_is_not_retried(cdn: Cdn, downloader: Downloader, code: int) -> None:
    error = await failure(downloader, f"{cdn.url}/status/{code}")
    assert (error.reason, error.retryable, cdn.hits[f"/status/{code}"]) == (f"http_{code}", False, 1)


async def test_too_many_requests_is_retryable(cdn: Cdn) -> None:
    async with Downloader(allow_private=True, retries=0) as downloader:
        error = await failure(downloader, f"{cdn.url}/status/429")
    assert (error.reason, error.retryable, error.retry_after) == ("http_429", True, 30)


async def test_a_retry_after_past_the_deadline_ends_the_download_at_once(cdn: Cdn, downloader: Downloader) -> None:
    error = await failure(downloader, f"{cdn.url}/status/503")  # Retry-After: 30, deadline 10 s
    assert (error.reason, error.retryable, cdn.hits["/status/503"]) == ("http_5xx", True, 1)


# --- redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/loop", "/hops/4"])
async def test_more_than_three_redirects_are_refused(cdn: Cdn, downloader: Downloader, path: str) -> None:
    error = await failure(downloader, cdn.url + path)
    assert (error.reason, error.retryable) == ("too_many_redirects", False)


async def test_a_redirect_to_another_scheme_is_refused(cdn: Cdn, downloader: Downloader) -> None:
    assert (await failure(downloader, f"{cdn.url}/to-file")).reason == "bad_scheme"


async def test_a_redirect_to_a_malformed_address_is_refused(cdn: Cdn, downloader: Downloader) -> None:
    assert (await failure(downloader, f"{cdn.url}/to-nowhere")).reason == "bad_url"


async def test_a_redirect_from_a_public_address_to_a_private_one_is_refused(cdn: Cdn) -> None:
    internet = Internet(cdn.url)
    async with Downloader(transport=internet) as downloader:
        assert await downloader.fetch("http://93.184.215.14/photo.jpg") == PHOTO
        error = await failure(downloader, "http://93.184.215.14/to-private")
    assert (error.reason, error.retryable) == ("private_address", False)
    assert internet.sent_to == ["93.184.215.14", "93.184.215.14"]  # 10.1.2.3 was never contacted


# --- addresses and schemes --------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.7", "192.168.1.1", "169.254.169.254",
                                  "[::ffff:127.0.0.1]", "0.0.0.0", "224.0.0.1", "[fe80::1]"])
async def test_private_addresses_are_refused_unless_allowed(cdn: Cdn, host: str) -> None:
    port = httpx.URL(cdn.url).port
    before = sum(cdn.hits.values())
    async with Downloader() as downloader:
        error = await failure(downloader, f"http://{host}:{port}/photo.jpg")
    assert (error.reason, error.retryable) == ("private_address", False)
    assert sum(cdn.hits.values()) == before


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "data:image/png;base64,AAAA",
                                 "javascript:alert(1)", "//example.com/a.jpg", "gopher://127.0.0.1:70/"])
async def test_only_http_and_https_are_fetched(downloader: Downloader, url: str) -> None:
    assert (await failure(downloader, url)).reason == "bad_scheme"


@pytest.mark.parametrize("url", ["http://", "http://[::1/a.jpg", "https:///a.jpg"])
async def test_an_address_without_a_host_is_refused(downloader: Downloader, url: str) -> None:
    assert (await failure(downloader, url)).reason == "bad_url"
