"""widget.js in Chromium: isolation both ways, hostile text, keyboard, themes, pending
feeds, a server that is down, and several widgets on one page."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.support.browser import Tab, computed, open_tab, shadow_text
from tests.support.servers import StaticSource, demo_app, free_port, live_app, warm

REPO = Path(__file__).resolve().parents[1]
HOSTILE_TEXTS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    '<a href="javascript:window.__pwned = 4">click</a>',
    '"quotes" & ampersands',
]


# Counts every way of parsing a string as HTML into the live page.
HTML_SINK_SPY = """
window.__htmlWrites = 0;
for (const [proto, name] of [[Element.prototype, "innerHTML"], [Element.prototype, "outerHTML"],
                             [ShadowRoot.prototype, "innerHTML"]]) {
  const real = Object.getOwnPropertyDescriptor(proto, name);
  Object.defineProperty(proto, name, { configurable: true, get() { return real.get.call(this); },
    set(value) { window.__htmlWrites++; real.set.call(this, value); } });
}
const insert = Element.prototype.insertAdjacentHTML;
Element.prototype.insertAdjacentHTML = function (...args) { window.__htmlWrites++; return insert.apply(this, args); };
"""


def hostile_item(n: int, text: str) -> dict[str, Any]:
    return {"id": f"instagram:hostile{n}", "platform": "instagram", "type": "image",
            "url": "javascript:window.__pwned = 5" if n == 0 else f"https://example.com/p/{n}",
            "title": None, "text": text, "image": "javascript:window.__pwned = 6", "media": [],
            "published_at": "2026-09-12T07:31:02Z", "author": {"name": "Mallory <b>", "handle": "m"},
            "likes": 1, "comments": None, "views": None, "shares": None, "rating": None, "reply": None}


def host_page(tab: Tab, url: str, body: str, head: str = "") -> None:
    """A host page at `url` whose HTML is `body`, answered by the browser itself."""
    html = f"<!doctype html><html lang='en'><head><title>Host</title>{head}</head><body>{body}</body></html>"
    tab.page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    tab.page.goto(url)


def test_hostile_captions_show_as_text_and_run_nothing(browser: Browser, tmp_path: Path) -> None:
    items = {"instagram": [hostile_item(n, text) for n, text in enumerate(HOSTILE_TEXTS)]}
    with live_app(demo_app(tmp_path / "f.db", {p: StaticSource(items) for p in items} | _static_rest())) as url:
        warm(url, ("instagram",))
        with open_tab(browser) as tab:
            tab.page.add_init_script(HTML_SINK_SPY)
            host_page(tab, f"{url}/host.html", f'<script src="{url}/widget.js?key=pk_demo&platform=instagram"></script>')
            tab.wait_for_items(len(HOSTILE_TEXTS))
            assert tab.page.evaluate("window.__htmlWrites") == 0
            texts = shadow_text(tab.page, "[data-item] .fk-text")
            assert texts == HOSTILE_TEXTS
            assert tab.page.evaluate("window.__pwned") is None
            hrefs = tab.page.locator("[data-item] a, [data-item] img").evaluate_all(
                "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))")
            assert all(h.startswith("https://") for h in hrefs if h)
            assert tab.errors == []


def _static_rest() -> dict[str, StaticSource]:
    return {p: StaticSource({}) for p in ("tiktok", "google_reviews", "twitter", "youtube", "facebook")}


def test_host_css_does_not_reach_the_widget(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/agency.html")
        tab.wait_for_items(8)
        image = tab.page.locator("[data-item] img").first
        assert image.bounding_box()["width"] > 100  # type: ignore[index]
        assert computed(tab.page, "[data-item] .fk-text", "font-size") == "14px"
        assert computed(tab.page, "[data-item] .fk-text", "text-transform") == "none"
        assert computed(tab.page, "[data-item] a", "text-decoration-line") == "none"


def test_widget_does_not_change_the_host(browser: Browser, demo: str) -> None:
    probes = ("#title", "#intro", "#outro", "body")
    props = ("font-size", "color", "font-family", "margin-top", "line-height")

    def styles(tab: Tab) -> list[str]:
        return [computed(tab.page, p, prop) for p in probes for prop in props]

    with open_tab(browser, block=("**/widget.js*",)) as bare:
        bare.page.goto(f"{demo}/examples/agency.html")
        without = styles(bare)
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/agency.html")
        tab.wait_for_items(8)
        assert styles(tab) == without
        assert tab.page.evaluate("document.styleSheets.length") == 1


def test_carousel_scrolls_with_the_keyboard(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/restaurant.html")
        tab.wait_for_items(8, "#tiktok")
        viewport = tab.page.locator("#tiktok .fk-viewport")
        viewport.focus()
        tab.page.keyboard.press("ArrowRight")
        tab.page.wait_for_function("el => el.scrollLeft > 0", arg=viewport.element_handle())
        next_button = tab.page.locator("#tiktok .fk-next")
        next_button.focus()
        before = viewport.evaluate("el => el.scrollLeft")
        tab.page.keyboard.press("Enter")
        tab.page.wait_for_function("([el, x]) => el.scrollLeft > x", arg=[viewport.element_handle(), before])


@pytest.mark.parametrize("query,ready", [
    ("platform=instagram&limit=8&columns=4", "[data-item]"),
    ("platform=tiktok&layout=carousel&columns=3", "[data-item]"),
    ("platform=twitter&limit=4", "[data-item]"),
    ("platform=google_reviews&limit=5&columns=2", "[data-item]"),
    ("platform=google_reviews&layout=badge", ".fk-badge .fk-score"),
    ("platforms=instagram,youtube&limit=5&columns=5&header=0&gap=20", "[data-item]"),
    ("platform=instagram&limit=4&columns=4&more=1", ".fk-load"),
])
def test_reserved_space_keeps_the_content_below_still(browser: Browser, demo: str, query: str, ready: str) -> None:
    with open_tab(browser) as tab:
        host_page(tab, f"{demo}/host.html", f'<h1>Above</h1><script src="{demo}/widget.js?key=pk_demo&{query}">'
                                            '</script><p id="below">Below the feed, in view from the start</p>')
        tab.page.locator(ready).first.wait_for(state="attached")
        tab.wait_for_pictures()
        assert tab.page.locator("#below").evaluate("e => e.getBoundingClientRect().top") < 800
        assert tab.cls() == 0


def test_dark_theme_applies(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/agency.html")
        tab.wait_for_items(8)
        assert computed(tab.page, ".flowkick.fk-theme-dark", "background-color") == "rgb(22, 22, 22)"
        assert computed(tab.page, ".flowkick.fk-theme-auto", "background-color") == "rgb(255, 255, 255)"


def test_auto_theme_follows_the_visitor(browser: Browser, demo: str) -> None:
    with open_tab(browser, color_scheme="dark") as tab:
        host_page(tab, f"{demo}/host.html",
                  f'<script src="{demo}/widget.js?key=pk_demo&platform=instagram&theme=auto"></script>')
        tab.wait_for_items(12)
        assert computed(tab.page, ".flowkick", "background-color") == "rgb(22, 22, 22)"


def test_pending_feed_appears_once_the_refresher_fills_it(browser: Browser, tmp_path: Path) -> None:
    gate = threading.Event()
    items = {"instagram": [hostile_item(n, f"Post number {n}") for n in range(1, 4)]}
    sources = {"instagram": StaticSource(items, gate)} | _static_rest()
    with live_app(demo_app(tmp_path / "f.db", sources)) as url, open_tab(browser) as tab:
        host_page(tab, f"{url}/host.html", f'<script src="{url}/widget.js?key=pk_demo&platform=instagram"></script>')
        tab.page.locator(".flowkick[data-status=pending] .fk-skel").first.wait_for(state="attached")
        assert tab.items() == []
        gate.set()
        tab.wait_for_items(3)
        assert shadow_text(tab.page, "[data-item] .fk-text") == ["Post number 1", "Post number 2", "Post number 3"]


def test_server_down_leaves_the_host_intact_with_one_warning(browser: Browser, demo: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with open_tab(browser) as tab:
        host_page(tab, f"{demo}/host.html",
                  f'<h1 id="t">Still here</h1><div data-flowkick data-platform="instagram" data-key="pk_demo" '
                  f'data-host="{dead}"></div><p id="after">After</p><script src="{demo}/widget.js"></script>')
        _wait_for_console(tab)
        assert tab.page.locator("#t").text_content() == "Still here"
        assert tab.page.locator("#after").text_content() == "After"
        assert tab.errors == []
        # Chromium's own network log line for the refused request is no script's doing.
        said = [(kind, text) for kind, text in tab.console if not text.startswith("Failed to load resource: net::")]
        assert len(said) == 1 and said[0][0] == "warning" and said[0][1].startswith("[flowkick] could not load")


def _wait_for_console(tab: Tab) -> None:
    for _ in range(100):
        if any(text.startswith("[flowkick]") for _, text in tab.console):
            return
        tab.page.wait_for_timeout(50)
    raise AssertionError(f"no [flowkick] warning: {tab.console}")


def test_several_widgets_and_a_placeholder_on_one_page(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        host_page(tab, f"{demo}/host.html",
                  f'<script src="{demo}/widget.js?key=pk_demo&platform=instagram&limit=3" async></script>'
                  f'<script src="{demo}/widget.js?platform=tiktok&limit=2" data-key="pk_demo" data-layout="carousel"></script>'
                  f'<div id="ph" data-flowkick data-platform="google_reviews" data-key="pk_demo" data-limit="4"></div>')
        tab.wait_for_items(9)
        platforms = tab.page.locator("[data-item]").evaluate_all("els => els.map(e => e.dataset.platform)")
        assert sorted(platforms) == ["google_reviews"] * 4 + ["instagram"] * 3 + ["tiktok"] * 2
        assert tab.page.locator("#ph .fk-layout-cards").count() == 1
