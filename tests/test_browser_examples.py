"""The example pages in Chromium: each shows the feeds it promises, with no layout shift
and no serious accessibility problem, in light and dark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from scripts.screenshots import PAGES, shoot
from tests.support.browser import (
    Tab,
    build_react,
    open_tab,
    run_axe,
    shadow_text,
)
from tests.support.servers import demo_app, live_app, warm

# What each example page embeds: (CSS scope on the page, API path, query).
RESTAURANT = [("#instagram", "instagram", {"limit": "6"}),
              ("#reviews", "google_reviews", {"limit": "6"}),
              ("#tiktok", "tiktok", {"limit": "8"})]
AGENCY_ITEMS = 8 + 3 + 4 + 3 + 6  # instagram, reviews, youtube, X, the wall; the badge has none


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    build_react()
    with live_app(demo_app(tmp_path_factory.mktemp("demo") / "flowkick.db")) as url:
        warm(url)
        yield url


def api_items(base: str, platform: str, query: dict[str, str]) -> list[dict[str, Any]]:
    reply = httpx.get(f"{base}/api/v1/social/{platform}", params={"api_key": "pk_demo", **query})
    return list(reply.json()["items"])


def settle(tab: Tab, count: int) -> None:
    """All `count` items mounted and every picture in view loaded, so late shifts would show."""
    tab.wait_for_items(count)
    tab.wait_for_pictures()


def test_restaurant_shows_each_feed_with_its_items(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/restaurant.html")
        settle(tab, 20)
        for section, platform, query in RESTAURANT:
            expected = api_items(demo, platform, query)
            assert tab.items(f"{section} [data-item]") == [item["id"] for item in expected]
            texts = shadow_text(tab.page, f"{section} [data-item] .fk-text")
            assert texts == [item["text"] for item in expected if item["text"]]


def test_agency_page_shows_every_widget(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/agency.html")
        settle(tab, AGENCY_ITEMS)
        assert len(tab.items()) == AGENCY_ITEMS
        assert tab.page.locator(".fk-badge .fk-score").count() == 1


def test_react_example_renders_the_json_api(browser: Browser, demo: str) -> None:
    expected = api_items(demo, "instagram", {"limit": "6"})
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/react/")
        settle(tab, 6)
        assert tab.items() == [item["id"] for item in expected]
        assert tab.page.locator(".post p").all_text_contents() == [item["text"] for item in expected]


def test_no_js_page_shows_fragments_without_javascript(browser: Browser, demo: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{demo}/examples/no-js.html")
        expected = api_items(demo, "google_reviews", {"limit": "6"}) + api_items(demo, "instagram", {"limit": "6"})
        ids = [el.get_attribute("data-item") for el in page.locator("[data-item]").all()]
        assert ids == [item["id"] for item in expected]
        assert page.locator("#title").evaluate("e => getComputedStyle(e).fontSize") == "32px"
    finally:
        context.close()


@pytest.mark.parametrize("path,items", [("restaurant.html", 20), ("agency.html", AGENCY_ITEMS),
                                        ("no-js.html", 12)])
def test_example_has_no_layout_shift(browser: Browser, demo: str, path: str, items: int) -> None:
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/{path}")
        settle(tab, items)
        assert tab.cls() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path,items", [("restaurant.html", 20), ("agency.html", AGENCY_ITEMS),
                                        ("no-js.html", 12), ("react/", 6)])
def test_example_has_no_serious_accessibility_violation(browser: Browser, demo: str, path: str, items: int,
                                                        scheme: str) -> None:
    with open_tab(browser, color_scheme=scheme) as tab:
        tab.page.goto(f"{demo}/examples/{path}")
        settle(tab, items)
        assert run_axe(tab.page) == []


def test_screenshots_cover_every_example_in_light_and_dark(browser: Browser, demo: str, tmp_path: Path) -> None:
    written = shoot(browser, demo, tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{name}-{scheme}.png" for name in PAGES
                                                     for scheme in ("light", "dark"))
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 10_000 for p in written)
