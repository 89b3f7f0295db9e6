"""Screenshots of every example page, light and dark, the lightbox and the feed designer,
for the README (docs/screenshots/).

    .venv/bin/python -m scripts.screenshots

Starts the app in demo mode on a temporary database, waits for the demo feeds, and
photographs each example with Debian's Chromium. The browser tests call `shoot`,
`shoot_lightbox` and `shoot_designer` too, so the pictures in the README are the pages the
tests check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page

from flowkick.app import create_app
from flowkick.settings import Settings
from tests.support.browser import VIEWPORT, build_react, chromium, open_tab
from tests.support.servers import live_app, warm

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
# page name -> (path under /examples/, items it shows once loaded)
PAGES = {"restaurant": ("restaurant.html", 20), "agency": ("agency.html", 24),
         "react": ("react/", 6), "no-js": ("no-js.html", 12)}
MAX_HEIGHT = 2400  # px: the top of long pages is what the README needs
ADMIN_PASSWORD = "screenshots only"
DESIGNER = "/admin/designer?source=1:instagram:lunacafe.berlin&layout=grid&columns=4&limit=8&accent=%23e11d48&radius=4"


def _scroll_through(page: Page) -> None:
    """Show every part of the page once, as a visitor scrolling would: Chromium decodes a
    picture when it nears the viewport, and a full-page capture does not scroll."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height, VIEWPORT["height"] // 2):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(100)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")


def shoot(browser: Browser, base_url: str, out: Path = OUT) -> list[Path]:
    """One full-page PNG per example and colour scheme; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (path, items) in PAGES.items():
        for scheme in ("light", "dark"):
            with open_tab(browser, color_scheme=scheme) as tab:
                tab.page.goto(f"{base_url}/examples/{path}")
                tab.wait_for_items(items)
                _scroll_through(tab.page)
                target = out / f"{name}-{scheme}.png"
                height = min(MAX_HEIGHT, tab.page.evaluate("document.documentElement.scrollHeight"))
                tab.page.screenshot(path=str(target), full_page=True, animations="disabled",
                                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
                written.append(target)
    return written


def shoot_lightbox(browser: Browser, base_url: str, out: Path = OUT) -> list[Path]:
    """The restaurant page with its first Instagram post open in the lightbox, light and dark."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for scheme in ("light", "dark"):
        with open_tab(browser, color_scheme=scheme) as tab:
            tab.page.goto(f"{base_url}/examples/restaurant.html")
            tab.wait_for_items(20)
            tab.page.locator("#instagram [data-item] .fk-link").first.click()
            tab.page.locator("dialog.fk-lb[open] .fk-lb-media img").evaluate("img => img.decode()")
            target = out / f"lightbox-{scheme}.png"
            tab.page.screenshot(path=str(target), animations="disabled")
            written.append(target)
    return written


def shoot_designer(browser: Browser, base_url: str, password: str, out: Path = OUT) -> Path:
    """/admin/designer with a 4-column grid chosen, its live preview and the codes to copy."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "designer.png"
    with open_tab(browser) as tab:
        tab.page.goto(f"{base_url}/admin/login")
        tab.page.get_by_label("Password").fill(password)
        tab.page.get_by_role("button", name="Log in").click()
        tab.page.wait_for_url(f"{base_url}/admin")
        tab.page.goto(base_url + DESIGNER)
        tab.page.frame_locator("#preview").locator("[data-item]").nth(7).wait_for(state="attached")
        tab.page.wait_for_load_state("networkidle")
        height = min(MAX_HEIGHT, tab.page.evaluate("document.documentElement.scrollHeight"))
        tab.page.screenshot(path=str(target), full_page=True, animations="disabled",
                            clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    return target


def main() -> None:
    build_react()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'flowkick.db'}",
                                     tick_seconds=0.2, admin_password=ADMIN_PASSWORD)
        with live_app(create_app(settings)) as url, chromium() as browser:
            warm(url)
            written = [*shoot(browser, url), *shoot_lightbox(browser, url), shoot_designer(browser, url, ADMIN_PASSWORD)]
            for path in written:
                print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
