"""Pictures in Chromium on a host page of another origin, with feeds scraped through the fake
Apify from a fake CDN that refuses cross-site embedding and signs expiring addresses: every
picture shows, from Flowkick, in about the size it is shown at, and the CDN never hears of
the visitor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from flowkick.app import create_app
from flowkick.platforms import PLATFORMS
from tests.support.apify_rig import apify_settings
from tests.support.browser import another_site
from tests.support.fake_apify import FakeApify
from tests.support.fake_cdn import FakeCdn
from tests.support.servers import live_app, new_client, warm

HANDLES = {"instagram": "lunacafe.berlin", "tiktok": "lunacafe.berlin", "facebook": "lunacafe.berlin",
           "twitter": "lunacafe", "youtube": "lunacafe", "google_reviews": "ChIJN1t_tDeuEmsRUsoyG83frY4"}
LAYOUTS = {"instagram": "grid", "tiktok": "grid", "youtube": "grid", "facebook": "list", "twitter": "list",
           "google_reviews": "cards"}
# Every <img> of every widget: loaded, its natural width and how wide it shows, in CSS pixels.
IMAGES = """() => [...document.querySelectorAll('[data-flowkick]')].flatMap(host =>
  [...host.shadowRoot.querySelectorAll('img')].map(img => ({src: img.currentSrc, complete: img.complete,
    natural: img.naturalWidth, shown: img.getBoundingClientRect().width})))"""


@pytest.fixture
def served(tmp_path: Path, fake_apify: FakeApify, fake_cdn: FakeCdn) -> Iterator[tuple[str, str]]:
    """Flowkick in Apify mode on 127.0.0.1 with every feed scraped and its pictures stored; (url, key)."""
    settings = apify_settings(tmp_path, fake_apify, media_allow_private_hosts=1)
    key = new_client(settings.database_url, HANDLES).publishable_key
    with live_app(create_app(settings)) as url:
        warm(url, PLATFORMS, headers={"Authorization": f"Bearer {key}"})
        yield url, key


def cafe_page(url: str, key: str) -> str:
    widgets = "".join(f'<div data-flowkick data-platform="{p}" data-key="{key}" data-layout="{LAYOUTS[p]}"></div>'
                      for p in PLATFORMS)
    return (f"<!doctype html><html lang='en'><head><title>Luna Café</title></head><body style='margin:0 auto;"
            f"max-width:1100px;padding:0 16px'>{widgets}<script src='{url}/widget.js'></script></body></html>")


def open_host(browser: Browser, host: str, width: int, scale: float) -> tuple[Page, list[str]]:
    """The café's page on its own site, with one widget per platform; and every URL it asked for."""
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=scale)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(host)
    page.locator("[data-flowkick] [data-item]").nth(40).wait_for(state="attached", timeout=20_000)
    _scroll_through(page)
    page.wait_for_function(f"({IMAGES})().every(i => i.complete)", timeout=20_000)
    return page, asked


def _scroll_through(page: Page) -> None:
    """Down the page a screen at a time, so every lazy picture comes into view once."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height + 900, 600):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(50)


@pytest.mark.parametrize(("width", "scale"), [(1280, 1.0), (390, 3.0)])
def test_every_picture_shows_from_flowkick_at_about_its_size(
        browser: Browser, served: tuple[str, str], fake_cdn: FakeCdn, width: int, scale: float) -> None:
    url, key = served
    cdn_hits = fake_cdn.hits()
    with another_site(cafe_page(url, key)) as host:
        page, asked = open_host(browser, host, width, scale)
        images = page.evaluate(IMAGES)
        page.context.close()
    flowkick = urlsplit(url).netloc
    assert len(images) >= 50
    assert all(i["natural"] > 0 for i in images), [i["src"] for i in images if not i["natural"]]
    assert all(urlsplit(i["src"]).netloc == flowkick for i in images)
    # naturalWidth is corrected by the srcset's density; the file's own width is in its name.
    oversized = [i for i in images if _file_width(i["src"]) > 2 * i["shown"] * scale]
    assert oversized == []
    assert {urlsplit(a).netloc for a in asked} <= {urlsplit(host).netloc, flowkick}
    assert fake_cdn.hits() == cdn_hits


def _file_width(src: str) -> int:
    match = re.search(r"-(\d+)\.(?:avif|webp)$", src)
    assert match, src
    return int(match.group(1))


def test_the_cdn_itself_is_refused_on_another_site(browser: Browser, fake_cdn: FakeCdn) -> None:
    """What every widget that links the platform's own address suffers: the picture stays empty."""
    picture = fake_cdn.mint("instagram", "refused-elsewhere")
    context = browser.new_context()
    page = context.new_page()
    with another_site(f"<!doctype html><title>x</title><img src='{picture}' alt=''>") as host:
        page.goto(host)
        page.wait_for_function("document.images[0].complete")
        natural = page.evaluate("document.images[0].naturalWidth")
    context.close()
    assert natural == 0
