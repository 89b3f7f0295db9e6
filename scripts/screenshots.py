"""Screenshots of every example page, light and dark, for the README (docs/screenshots/).

    .venv/bin/python -m scripts.screenshots

Starts the app in demo mode on a temporary database, waits for the demo feeds, and
photographs each example with Debian's Chromium. The browser tests call `shoot` too, so
the pictures in the README are the pages the tests check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Browser

from tests.support.browser import VIEWPORT, build_react, chromium, open_tab
from tests.support.servers import demo_app, live_app, warm

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
# page name -> (path under /examples/, items it shows once loaded)
PAGES = {"restaurant": ("restaurant.html", 20), "agency": ("agency.html", 24),
         "react": ("react/", 6), "no-js": ("no-js.html", 12)}
MAX_HEIGHT = 2400  # px: the top of long pages is what the README needs


def shoot(browser: Browser, base_url: str, out: Path = OUT) -> list[Path]:
    """One full-page PNG per example and colour scheme; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (path, items) in PAGES.items():
        for scheme in ("light", "dark"):
            with open_tab(browser, color_scheme=scheme) as tab:
                tab.page.goto(f"{base_url}/examples/{path}")
                tab.wait_for_items(items)
                tab.page.wait_for_load_state("networkidle")
                target = out / f"{name}-{scheme}.png"
                height = min(MAX_HEIGHT, tab.page.evaluate("document.documentElement.scrollHeight"))
                tab.page.screenshot(path=str(target), full_page=True, animations="disabled",
                                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
                written.append(target)
    return written


def main() -> None:
    build_react()
    with tempfile.TemporaryDirectory() as folder, live_app(demo_app(Path(folder) / "flowkick.db")) as url:
        warm(url)
        with chromium() as browser:
            for path in shoot(browser, url):
                print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
