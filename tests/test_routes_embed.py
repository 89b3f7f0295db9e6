"""The embed routes over HTTP: fragments, caching, CORS, quiet errors, assets, examples."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowkick.app import create_app
from flowkick.routes import embed
from flowkick.settings import Settings
from tests.support.servers import StaticSource, demo_app, live_app, warm


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with live_app(demo_app(tmp_path_factory.mktemp("demo") / "flowkick.db")) as url:
        warm(url)
        with httpx.Client(base_url=url) as client:
            yield client


def get_embed(client: httpx.Client, platform: str = "instagram", **query: str) -> httpx.Response:
    return client.get(f"/embed/{platform}", params={"api_key": "pk_demo", **query})


def test_embed_answers_a_fragment_with_items(demo: httpx.Client) -> None:
    reply = get_embed(demo, limit="4")
    assert reply.status_code == 200 and reply.headers["content-type"] == "text/html; charset=utf-8"
    assert reply.text.count("data-item=") == 4 and reply.text.startswith('<div class="flowkick')


def test_embed_answers_304_for_its_etag(demo: httpx.Client) -> None:
    etag = get_embed(demo).headers["etag"]
    again = demo.get("/embed/instagram", params={"api_key": "pk_demo"}, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""


def test_embed_etag_changes_with_the_options(demo: httpx.Client) -> None:
    assert get_embed(demo).headers["etag"] != get_embed(demo, theme="dark").headers["etag"]


def test_rendered_bytes_are_reused_for_the_same_feed_and_options(demo: httpx.Client,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = embed.render_fragment
    monkeypatch.setattr(embed, "render_fragment", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        get_embed(demo, accent="#123456")
    get_embed(demo, accent="#654321")
    assert len(calls) == 2


def test_wall_merges_platforms(demo: httpx.Client) -> None:
    reply = demo.get("/embed/feed", params={"api_key": "pk_demo", "platforms": "instagram,google", "limit": "30"})
    assert 'data-platform="instagram"' in reply.text and 'data-platform="google_reviews"' in reply.text


def test_language_follows_accept_language(demo: httpx.Client) -> None:
    reply = demo.get("/embed/instagram", params={"api_key": "pk_demo"}, headers={"accept-language": "de-DE,de"})
    assert 'lang="de"' in reply.text and "Auf Instagram ansehen" in reply.text
    assert "Accept-Language" in reply.headers["vary"]


@pytest.mark.parametrize("platform,query,status,code", [
    ("instagram", {"theme": "neon"}, 400, "bad_parameter"),
    ("instagram", {"api_key": "pk_nobody"}, 401, "unknown_key"),
    ("myspace", {}, 404, "unknown_platform"),
    ("instagram", {"layout": "badge"}, 400, "bad_layout"),
])
def test_failed_embed_keeps_its_status_with_a_quiet_fragment(demo: httpx.Client, platform: str,
                                                             query: dict[str, str], status: int, code: str) -> None:
    reply = demo.get(f"/embed/{platform}", params={"api_key": "pk_demo", **query})
    assert reply.status_code == status and reply.headers["content-type"].startswith("text/html")
    assert f'data-error-code="{code}"' in reply.text and reply.headers["cache-control"] == "no-store"


def test_embed_lets_a_browser_origin_read_it(demo: httpx.Client) -> None:
    reply = demo.get("/embed/instagram", params={"api_key": "pk_demo"}, headers={"origin": "https://cafe.example"})
    assert reply.headers["access-control-allow-origin"] == "https://cafe.example"
    assert "Retry-After" in reply.headers["access-control-expose-headers"]


def test_pending_feed_answers_202_with_retry_after_and_a_skeleton(tmp_path: Path) -> None:
    gate = threading.Event()
    sources = {p: StaticSource({}, gate) for p in ("instagram", "tiktok", "google_reviews", "twitter", "youtube",
                                                   "facebook")}
    with live_app(demo_app(tmp_path / "f.db", sources)) as url, httpx.Client(base_url=url) as client:
        reply = get_embed(client, limit="5")
        gate.set()
    assert reply.status_code == 202 and int(reply.headers["retry-after"]) > 0
    assert 'data-status="pending"' in reply.text and reply.text.count("fk-skel fk-tile") == 5


def test_widget_js_is_long_cached_with_an_etag(demo: httpx.Client) -> None:
    reply = demo.get("/widget.js")
    assert reply.headers["content-type"].startswith("text/javascript") and "max-age=86400" in reply.headers["cache-control"]
    assert demo.get("/widget.js", headers={"if-none-match": reply.headers["etag"]}).status_code == 304
    assert reply.content == (Path(__file__).resolve().parents[1] / "widget" / "widget.js").read_bytes()


def test_embed_css_is_served_for_hosts_that_ask_css_none(demo: httpx.Client) -> None:
    reply = demo.get("/embed.css")
    assert reply.headers["content-type"].startswith("text/css") and ".flowkick" in reply.text
    assert "<style>" not in get_embed(demo, css="none").text


def test_no_js_example_has_its_fragments_included_server_side(demo: httpx.Client) -> None:
    page = demo.get("/examples/no-js.html").text
    assert "<!--#include" not in page and page.count("data-item=") == 12


def test_examples_refuse_paths_outside_their_folder(demo: httpx.Client) -> None:
    assert demo.get("/examples/..%2F..%2Fpyproject.toml").status_code == 404


def test_examples_are_served_in_demo_mode_only(tmp_path: Path) -> None:
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", apify_token="apify_api_x")
    with live_app(create_app(settings, sources={})) as url:
        assert httpx.get(f"{url}/examples/restaurant.html").status_code == 404
        assert httpx.get(f"{url}/widget.js").status_code == 200
