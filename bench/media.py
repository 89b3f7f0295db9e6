"""What a visitor downloads for the pictures of the restaurant example, against the same feeds
shown with the platforms' original 1080-pixel JPEGs; and what storing them costs.

    .venv/bin/python bench/media.py

Starts the fake Apify and a fake image CDN that behaves like Instagram's (tests/support, on
127.0.0.1), Flowkick in Apify mode on their scrapes, and the restaurant example page on another
site (127.0.0.2) in Debian's Chromium, at 1280x900 (DPR 1) and 390x844 (DPR 3). For each it
prints the picture bytes the browser downloaded from Flowkick, the bytes of the original JPEGs
of the same pictures (what a widget linking the platform's addresses would download, had the
CDN allowed it), their ratio, and the requests that went to hosts other than Flowkick and the
page (must be 0). Then the same for a 12-tile Instagram grid (target: at most 25 % of the
originals at 1280 px), ingest throughput on one core (target: 20 images a second), and the
bytes stored per source.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live under tests/

import httpx  # noqa: E402
from playwright.sync_api import Browser  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from bench.media_ingest import measure  # noqa: E402
from flowkick.app import create_app  # noqa: E402
from flowkick.database import Database  # noqa: E402
from flowkick.media.resolve import origin_key  # noqa: E402
from flowkick.settings import Settings  # noqa: E402
from flowkick.tables import FeedCache, MediaAsset  # noqa: E402
from tests.support.browser import another_site, chromium  # noqa: E402
from tests.support.fake_apify import FakeApify  # noqa: E402
from tests.support.fake_apify.cdn_urls import attach  # noqa: E402
from tests.support.fake_cdn import FakeCdn  # noqa: E402
from tests.support.servers import live_app, new_client, warm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HANDLES = {"instagram": "lunacafe.berlin", "tiktok": "lunacafe.berlin", "google_reviews": "ChIJN1t_tDeuEmsRUsoyG83frY4"}
SCREENS = {"1280x900 DPR 1": ({"width": 1280, "height": 900}, 1.0), "390x844 DPR 3": ({"width": 390, "height": 844}, 3.0)}
MEDIA_RE = re.compile(r"/media/[0-9a-f]{2}/([0-9a-f]{32})-\d+\.(?:avif|webp)$")


@dataclass
class Visit:
    ours: int = 0
    pictures: int = 0
    others: int = 0
    digests: frozenset[str] = frozenset()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, FakeApify() as fake, FakeCdn() as cdn:
        attach(fake.world, cdn)
        settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{folder}/flowkick.db",
                                     apify_token=fake.token, apify_api_url=fake.url, apify_poll_seconds=0.05,
                                     media_allow_private_hosts=1, tick_seconds=0.2)
        made = new_client(settings.database_url, HANDLES)
        key, secret = made.publishable_key, made.secret_key
        with live_app(create_app(settings)) as url, chromium() as browser:
            warm(url, tuple(HANDLES), headers={"Authorization": f"Bearer {secret}"})
            originals = _run(_originals(settings))
            print("pictures a visitor downloads, Flowkick's copies against the original JPEGs:")
            for title, page in (("restaurant example", _restaurant(url, key)), ("12-tile Instagram grid", _grid(url, key))):
                for screen, (viewport, scale) in SCREENS.items():
                    visit = _visit(browser, page, viewport, scale, url)
                    before = sum(originals[d] for d in visit.digests)
                    print(f"  {title:<23} {screen:<14} {visit.pictures:>3} pictures  {visit.ours / 1000:>7.1f} KB  "
                          f"originals {before / 1000:>7.1f} KB  = {visit.ours / before:>5.1%}  "
                          f"requests to other hosts: {visit.others}")
            stored, sources = _run(_stored(settings))
    ingest = measure(images=20, rounds=2)
    print(f"ingest: {ingest.images_per_second:.1f} images/s on one core ({ingest.ms_per_image:.0f} ms each; "
          f"target 20/s), 1080x1350 photo-like JPEGs")
    print(f"stored: {stored / sources / 1000:.0f} KB per source ({stored / 1e6:.1f} MB for {sources} sources "
          f"of up to 24 posts, every size and format)")


def _restaurant(url: str, key: str) -> str:
    html = (ROOT / "examples" / "restaurant.html").read_text(encoding="utf-8")
    return html.replace('src="/widget.js"', f'src="{url}/widget.js"').replace("pk_demo", key)


def _grid(url: str, key: str) -> str:
    return (f"<!doctype html><html lang='en'><title>Grid</title><body style='max-width:1100px;margin:0 auto;"
            f"padding:0 16px'><div data-flowkick data-platform='instagram' data-key='{key}' data-limit='12'>"
            f"</div><script src='{url}/widget.js'></script></body></html>")


def _visit(browser: Browser, html: str, viewport: dict[str, int], scale: float, flowkick: str) -> Visit:
    """Load the page, scroll through it, and add up the pictures that came from Flowkick."""
    context = browser.new_context(viewport=viewport, device_scale_factor=scale)  # type: ignore[arg-type]
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    with another_site(html) as host:
        page.goto(host)
        page.locator("[data-item]").first.wait_for(timeout=20_000)
        height = page.evaluate("document.documentElement.scrollHeight")
        for top in range(0, height + viewport["height"], viewport["height"] // 2):
            page.evaluate(f"window.scrollTo(0, {top})")
            page.wait_for_timeout(150)
        page.wait_for_load_state("networkidle")
        visit = Visit()
        ours = {urlsplit(flowkick).netloc, urlsplit(host).netloc}
        digests = set()
        for response in responses:
            match = MEDIA_RE.search(urlsplit(response.url).path)
            visit.others += urlsplit(response.url).netloc not in ours
            if match and response.status == 200:
                visit.ours += len(response.body())
                visit.pictures += 1
                digests.add(match.group(1))
        visit.digests = frozenset(digests)
    context.close()
    return visit


async def _originals(settings: Settings) -> dict[str, int]:
    """Each stored picture's digest -> the size of the platform file it was made from."""
    db = Database(settings.database_url)
    await db.connect()
    try:
        rows = (await db.read(lambda s: s.execute(select(FeedCache.items, FeedCache.profile, FeedCache.media)))).all()
    finally:
        await db.close()
    urls: dict[str, str] = {}
    for items, profile, media in rows:
        for url in _addresses(items, profile):
            record = media.get(origin_key(url))
            if isinstance(record, dict) and record.get("d"):
                urls[record["d"]] = url
    async with httpx.AsyncClient() as web:
        return {d: len((await web.get(u)).content) for d, u in urls.items()}


def _addresses(items: list[dict], profile: dict) -> list[str]:
    found = [profile.get("avatar_url")]
    for item in items:
        found += [item.get("image"), (item.get("author") or {}).get("avatar_url")]
        found += [m.get("url") for m in item.get("media") or []]
    return [u for u in found if isinstance(u, str)]


async def _stored(settings: Settings) -> tuple[int, int]:
    db = Database(settings.database_url)
    await db.connect()
    try:
        size = await db.read(lambda s: s.execute(select(func.coalesce(func.sum(MediaAsset.bytes), 0))))
        sources = await db.read(lambda s: s.execute(select(func.count()).select_from(FeedCache)))
        return int(size.scalar_one()), int(sources.scalar_one())
    finally:
        await db.close()


def _run(work: object) -> object:
    """Run a coroutine to its end from anywhere (Playwright's sync API holds an event loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
