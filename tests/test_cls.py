"""Every embed code we publish keeps the host page still (CLS ≤ 0.01) above the fold, also
when widget.js arrives 300 ms late: the placeholder reserves the feed's space by CSS before
any script runs. Ten loads of each, in Chromium; the bare async tag is the control."""

from __future__ import annotations

import gzip
import html
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Route

from flowkick import snippets
from flowkick.render import EmbedOptions
from tests.support.browser import Tab, open_tab

REPO = Path(__file__).resolve().parents[1]
LOADS = 10
DELAY_SECONDS = 0.3
MAX_CLS = 0.01
# (platform, widget options): every layout, tile shape and option that changes the height.
PUBLISHED = [
    ("instagram", {}),
    ("instagram", {"limit": "8", "columns": "4", "gap": "20"}),
    ("instagram", {"limit": "6", "more": "1", "header": "0"}),
    ("tiktok", {"layout": "carousel", "limit": "8"}),
    ("youtube", {"limit": "4", "columns": "2"}),
    ("google_reviews", {"limit": "6"}),
    ("google", {"layout": "badge"}),
    ("twitter", {"limit": "3"}),
    (None, {"platforms": "instagram,tiktok,facebook", "limit": "6", "more": "1"}),
]


def _late_widget(route: Route) -> None:
    time.sleep(DELAY_SECONDS)
    route.continue_()


def worst_cls(browser: Browser, url: str, body: str | None = None, loads: int = LOADS) -> float:
    """The largest CLS over `loads` loads of `url` (answered with `body` when given), each
    with widget.js held back 300 ms and measured once the feed and its pictures are in.

    Each load is a new document in one tab: a routed page has no HTTP cache, and the
    widget keeps nothing between documents, so every load starts cold."""
    worst = 0.0
    with open_tab(browser) as tab:
        tab.page.route("**/widget.js*", _late_widget)
        if body is not None:
            tab.page.route(url, _answer(body))
        for _ in range(loads):
            tab.page.goto(url)
            _settle(tab)
            worst = max(worst, tab.cls())
    return worst


def _answer(body: str) -> Callable[[Route], None]:
    """A route handler answering a host page whose body is `body`."""
    page = f"<!doctype html><html lang='en'><head><title>Host</title></head><body>{body}</body></html>"
    return lambda route: route.fulfill(body=page, content_type="text/html")


def _settle(tab: Tab) -> None:
    tab.page.locator("[data-item], .fk-badge .fk-score").first.wait_for(state="attached", timeout=15_000)
    tab.wait_for_pictures()


def above_the_fold(code: str) -> str:
    return f"<h1>Above the feed</h1>{code}<p id='below'>Below the feed, in view from the start</p>"


@pytest.mark.parametrize("platform,options", PUBLISHED)
def test_published_snippet_keeps_the_page_still_with_a_late_widget(browser: Browser, demo: str, platform: str | None,
                                                                     options: dict[str, str]) -> None:
    code = snippets.snippet(demo, platform, "pk_demo", options)
    assert worst_cls(browser, f"{demo}/host.html", above_the_fold(code)) <= MAX_CLS


def test_a_bare_async_script_tag_shifts_the_page_when_late(browser: Browser, demo: str) -> None:
    code = f'<script src="{demo}/widget.js?key=pk_demo&platform=instagram" async></script>'
    assert worst_cls(browser, f"{demo}/host.html", above_the_fold(code), loads=1) > MAX_CLS


def test_placeholder_space_matches_the_feed_it_receives(browser: Browser, demo: str) -> None:
    for platform, options in PUBLISHED:
        with open_tab(browser) as tab:
            body = snippets.placeholder(platform, "pk_demo", options) + f'<script src="{demo}/widget.js"></script>'
            tab.page.route(f"{demo}/host.html", _answer(body))
            tab.page.goto(f"{demo}/host.html")
            reserved = tab.page.locator("[data-flowkick]").evaluate("e => e.getBoundingClientRect().height")
            _settle(tab)
            shown = tab.page.locator(".flowkick").evaluate("e => e.getBoundingClientRect().height")
            assert abs(reserved - shown) < 1, (platform, options, reserved, shown)


@pytest.mark.parametrize("page", ["restaurant.html", "agency.html"])
def test_example_page_keeps_still_with_a_late_widget(browser: Browser, demo: str, page: str) -> None:
    assert worst_cls(browser, f"{demo}/examples/{page}") <= MAX_CLS


def readme_snippets() -> list[str]:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```html\n(.*?)```", readme, re.S)
    return [b for b in blocks if "data-flowkick" in b]


def test_readme_publishes_placeholders_that_match_the_code() -> None:
    blocks = readme_snippets()
    assert blocks
    for block in blocks:
        for div in re.findall(r"<div data-flowkick[^>]*>.*?</div></div>", block):
            attributes = dict(re.findall(r' data-([a-z-]+)="([^"]*)"', div))
            platform, key = attributes.pop("platform", None), attributes.pop("key")
            assert div == snippets.placeholder(platform, key, attributes)


def test_readme_snippets_keep_the_page_still_with_a_late_widget(browser: Browser, demo: str) -> None:
    for block in readme_snippets():
        code = block.replace("https://HOST", demo).replace("https://feeds.example.com", demo).replace('"PK"', '"pk_demo"')
        assert worst_cls(browser, f"{demo}/host.html", above_the_fold(code)) <= MAX_CLS


def test_landing_page_snippet_keeps_the_page_still_with_a_late_widget(browser: Browser, demo: str) -> None:
    landing = httpx.get(f"{demo}/").text
    code = html.unescape(re.search(r'<pre id="snippet">(.*?)</pre>', landing, re.S)[1])  # type: ignore[index]
    assert code == snippets.snippet(demo + "/", "instagram", "pk_demo")
    assert worst_cls(browser, f"{demo}/host.html", above_the_fold(code)) <= MAX_CLS


def test_spacer_is_a_share_of_the_width_plus_pixels() -> None:
    percent, pixels = snippets.spacer_height("instagram", EmbedOptions(limit=6))
    width = 600  # 3 columns of (600 - 24 - 16) / 3 = 186.67px squares in 2 rows, 8px apart, a 56px header
    assert percent * width / 100 + pixels == pytest.approx(24 + 56 + 2 * (560 / 3) + 8)


def test_widget_first_load_stays_within_3_5_kb_gzipped() -> None:
    assert len(gzip.compress((REPO / "widget" / "widget.js").read_bytes(), 9)) <= 3.5 * 1024


@pytest.mark.parametrize("name", ["lightbox", "analytics"])
def test_parts_loaded_on_first_use_come_from_the_same_origin_long_cached(demo: str, name: str) -> None:
    reply = httpx.get(f"{demo}/widget/{name}.js")
    assert reply.content == (REPO / "widget" / f"{name}.js").read_bytes()
    assert reply.headers["content-type"].startswith("text/javascript") and "max-age" in reply.headers["cache-control"]
    assert httpx.get(f"{demo}/widget/{name}.js", headers={"if-none-match": reply.headers["etag"]}).status_code == 304


def test_only_the_widgets_own_parts_are_served(demo: str) -> None:
    assert httpx.get(f"{demo}/widget/widget.js").status_code == 404
    assert httpx.get(f"{demo}/widget/..%2Fpyproject.js").status_code == 404
