"""compression.py and the answers it compresses: gzip and brotli, made once, picked per request."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import brotli
import httpx
import pytest

from flowkick.compression import MIN_SIZE, accepted, encode
from tests.support.apps import demo_api

FEED = "/api/v1/social/instagram?api_key=pk_demo"
FRAGMENT = "/embed/instagram?api_key=pk_demo"
BOTH = "gzip, deflate, br"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


async def _raw(api: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes as they came over the wire (httpx would decode them)."""
    async with api.stream("GET", path, headers=headers) as answer:
        return answer, b"".join([chunk async for chunk in answer.aiter_raw()])


def _decoded(answer: httpx.Response, raw: bytes) -> bytes:
    coding = answer.headers.get("content-encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress}.get(coding, bytes)(raw)


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT, "/api/v1/feed?api_key=pk_demo", "/embed/feed?api_key=pk_demo"])
async def test_feed_answers_are_brotli_when_the_browser_accepts_it(api: httpx.AsyncClient, path: str) -> None:
    plain, plain_raw = await _raw(api, path, **{"Accept-Encoding": "identity"})
    answer, raw = await _raw(api, path, **{"Accept-Encoding": BOTH})
    assert answer.headers["content-encoding"] == "br" and "content-encoding" not in plain.headers
    assert brotli.decompress(raw) == plain_raw and int(answer.headers["content-length"]) == len(raw)


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT])
async def test_feed_answers_are_gzip_when_only_gzip_is_accepted(api: httpx.AsyncClient, path: str) -> None:
    plain, plain_raw = await _raw(api, path, **{"Accept-Encoding": "identity"})
    answer, raw = await _raw(api, path, **{"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip" and gzip.decompress(raw) == plain_raw


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT])
async def test_compressed_feeds_are_at_most_a_third_of_their_size(api: httpx.AsyncClient, path: str) -> None:
    _, plain = await _raw(api, path, **{"Accept-Encoding": "identity"})
    _, packed = await _raw(api, path, **{"Accept-Encoding": BOTH})
    assert len(packed) * 3 <= len(plain)


@pytest.mark.anyio
async def test_a_request_without_accept_encoding_gets_the_bytes_as_they_are(api: httpx.AsyncClient) -> None:
    answer, raw = await _raw(api, FEED, **{"Accept-Encoding": ""})
    assert "content-encoding" not in answer.headers and raw.startswith(b'{"platform"')


@pytest.mark.anyio
async def test_a_coding_refused_with_q_zero_is_not_sent(api: httpx.AsyncClient) -> None:
    answer, _ = await _raw(api, FEED, **{"Accept-Encoding": "br;q=0, gzip"})
    assert answer.headers["content-encoding"] == "gzip"


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT, "/widget.js", "/embed.css"])
async def test_answers_vary_by_accept_encoding(api: httpx.AsyncClient, path: str) -> None:
    answer, _ = await _raw(api, path, **{"Accept-Encoding": BOTH})
    assert "Accept-Encoding" in answer.headers["vary"]


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT])
async def test_a_stored_answer_is_sent_in_the_same_bytes_as_the_first(api: httpx.AsyncClient, path: str) -> None:
    answers = api.app.state.reader.answers  # type: ignore[attr-defined]
    _, first = await _raw(api, path, **{"Accept-Encoding": BOTH})
    hits = answers.hits
    again, repeat = await _raw(api, path, **{"Accept-Encoding": BOTH})
    assert answers.hits == hits + 1 and again.headers["content-encoding"] == "br" and repeat == first


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT, "/widget.js"])
async def test_every_coding_carries_the_same_etag(api: httpx.AsyncClient, path: str) -> None:
    tags = {(await _raw(api, path, **{"Accept-Encoding": coding}))[0].headers["etag"]
            for coding in ("identity", "gzip", "br")}
    assert len(tags) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT, "/widget.js", "/embed.css"])
async def test_an_etag_from_one_coding_answers_304_in_another(api: httpx.AsyncClient, path: str) -> None:
    first, _ = await _raw(api, path, **{"Accept-Encoding": "gzip"})
    for _ in range(2):  # the full path, then the stored answer
        again, raw = await _raw(api, path, **{"Accept-Encoding": BOTH, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and raw == b"" and "Accept-Encoding" in again.headers["vary"]


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/widget.js", "/widget/lightbox.js", "/widget/analytics.js", "/embed.css"])
async def test_the_widget_and_its_css_are_sent_compressed(api: httpx.AsyncClient, path: str) -> None:
    plain, plain_raw = await _raw(api, path, **{"Accept-Encoding": "identity"})
    answer, raw = await _raw(api, path, **{"Accept-Encoding": BOTH})
    assert answer.headers["content-encoding"] == "br" and brotli.decompress(raw) == plain_raw
    assert answer.headers["content-type"] == plain.headers["content-type"]


def test_a_small_body_is_kept_only_as_it_is() -> None:
    small = encode(b"x" * (MIN_SIZE - 1))
    assert small.br is None and small.codings() == (None,)
    assert small.pick(BOTH) == (None, b"x" * (MIN_SIZE - 1))


def test_a_body_of_a_kilobyte_or_more_is_made_in_brotli_only() -> None:
    body = b'{"text": "hello"}' * 100
    packed = encode(body)
    assert brotli.decompress(packed.br or b"") == body and packed.plain is None
    assert packed.pick(BOTH)[0] == "br"


def test_the_gzip_of_a_body_is_made_on_first_need_and_kept() -> None:
    packed = encode(b'{"text": "hello"}' * 100)
    coding, first = packed.pick("gzip")
    assert coding == "gzip" and gzip.decompress(first) == b'{"text": "hello"}' * 100
    assert packed.pick("gzip")[1] is first


@pytest.mark.parametrize(("header", "allowed"), [
    ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
    ("br;q=0, gzip;q=0.5", {"gzip"}),
    ("*", {"br", "gzip"}),
    ("GZIP", {"gzip"}),
    ("", set()),
    ("br;q=nonsense", set()),
])
def test_accept_encoding_is_read_with_its_q_values(header: str, allowed: set[str]) -> None:
    assert accepted(header) - {""} == allowed


@pytest.mark.anyio
@pytest.mark.parametrize("path", [FEED, FRAGMENT])
async def test_a_stored_answer_is_inflated_for_a_request_accepting_no_coding(api: httpx.AsyncClient,
                                                                            path: str) -> None:
    answers = api.app.state.reader.answers  # type: ignore[attr-defined]
    _, first = await _raw(api, path, **{"Accept-Encoding": "identity"})
    hits = answers.hits
    again, repeat = await _raw(api, path, **{"Accept-Encoding": "identity"})
    assert answers.hits == hits + 1 and "content-encoding" not in again.headers
    assert repeat == first and int(again.headers["content-length"]) == len(first)


@pytest.mark.anyio
async def test_a_stored_answer_is_weighed_again_once_a_request_made_its_gzip(api: httpx.AsyncClient) -> None:
    memory = api.app.state.reader.memory  # type: ignore[attr-defined]

    def held() -> float:
        return next(f.bytes for f in memory.figures() if f.name == "answers")

    await _raw(api, FEED, **{"Accept-Encoding": "br"})
    before = held()
    _, packed = await _raw(api, FEED, **{"Accept-Encoding": "gzip"})
    assert held() == before + len(packed)
