"""Debian's Chromium driven by Playwright, for the example pages and the widget.

    chromium()        launches /usr/bin/chromium headless (Playwright's own download does
                      not work here), loopback only
    Tab               a page plus everything its console and error events said
    open_tab()        a new page that records layout shifts from its first paint
    run_axe()         injects axe-core (from npm) and returns serious/critical violations
    another_site()    a page served from 127.0.0.2: another site than the app's 127.0.0.1
    npm_tools()       esbuild, react, react-dom and axe-core installed from npm once
    build_react()     bundles examples/react/app.jsx with esbuild
    live_app()        the real app under uvicorn on 127.0.0.1, in a thread
    demo_app()        the app in demo mode on its own SQLite file, optionally other sources
    StaticSource      a source answering given items (hostile captions, a gated first fetch)

The npm folder is `.state/npm` at the repo root (ignored by git), or FLOWKICK_NPM_DIR.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
NPM_DIR = Path(os.environ.get("FLOWKICK_NPM_DIR") or REPO / ".state" / "npm")
REACT_BUILD = REPO / "examples" / "react" / "build.sh"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1100, "height": 800}

# Sums layout-shift entries that were not caused by input, from the very first one;
# `__flowkickClsNow()` also counts entries recorded but not yet handed to the callback.
CLS_OBSERVER = """
window.__flowkickCls = 0;
const count = (entries) => {
  for (const entry of entries) {
    if (!entry.hadRecentInput) window.__flowkickCls += entry.value;
  }
};
const observer = new PerformanceObserver((list) => count(list.getEntries()));
observer.observe({ type: "layout-shift", buffered: true });
window.__flowkickClsNow = () => { count(observer.takeRecords()); return window.__flowkickCls; };
"""
# True once every picture in view (open shadow roots included) has loaded or failed.
PICTURES_IN_VIEW_LOADED = """() => {
  const pictures = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll("*")) {
      if (element.tagName === "IMG") pictures.push(element);
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
  return pictures.every((picture) => {
    const box = picture.getBoundingClientRect();
    return picture.complete || box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth;
  });
}"""
TWO_FRAMES = "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, once per test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo app under uvicorn, once per test module, with every feed and picture ready."""
    from tests.support.servers import demo_app, live_app, warm

    with live_app(demo_app(tmp_path_factory.mktemp("demo") / "flowkick.db")) as url:
        warm(url)
        yield url


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page and what it said: console messages (type, text) and uncaught errors."""

    page: Page
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def cls(self) -> float:
        """Cumulative layout shift so far, as PerformanceObserver saw it."""
        return float(self.page.evaluate("window.__flowkickClsNow()"))

    def wait_for_pictures(self) -> None:
        """Waits until every picture in view has loaded, then two frames, so a shift they
        cause is recorded: what a layout test needs, without network idle's 500 ms wait."""
        self.page.wait_for_function(PICTURES_IN_VIEW_LOADED, timeout=15_000)
        self.page.evaluate(TWO_FRAMES)

    def items(self, selector: str = "[data-item]") -> list[str]:
        """The data-item ids on the page, shadow roots included."""
        return self.page.locator(selector).evaluate_all("els => els.map(e => e.getAttribute('data-item'))")

    def wait_for_items(self, count: int, within: str = "", timeout: float = 15_000) -> None:
        """Waits until `count` items are mounted (inside `within`, a CSS selector, if given)."""
        self.page.locator(f"{within} [data-item]".strip()).nth(count - 1).wait_for(state="attached", timeout=timeout)


@contextmanager
def open_tab(browser: Browser, color_scheme: str = "light", block: tuple[str, ...] = ()) -> Iterator[Tab]:
    """A fresh page in its own context; `block` lists URL globs that fail as if offline."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=color_scheme)  # type: ignore[arg-type]
    page = context.new_page()
    tab = Tab(page)
    page.add_init_script(CLS_OBSERVER)
    page.on("console", lambda message: _note(tab, message))
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    for pattern in block:
        page.route(pattern, lambda route: route.abort("connectionrefused"))
    try:
        yield tab
    finally:
        context.close()


def _note(tab: Tab, message: ConsoleMessage) -> None:
    tab.console.append((message.type, message.text))


def shadow_text(page: Page, selector: str) -> list[str]:
    """textContent of every match, shadow roots included."""
    return page.locator(selector).evaluate_all("els => els.map(e => e.textContent)")


def computed(page: Page, selector: str, prop: str) -> str:
    """One computed style property of the first match (shadow roots included)."""
    return str(page.locator(selector).first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')"))


def npm_tools() -> Path:
    """node_modules with esbuild, react, react-dom and axe-core, installed once from npm
    (by one test process at a time: the suite's workers share the folder)."""
    modules = NPM_DIR / "node_modules"
    wanted = ("esbuild", "react", "react-dom", "axe-core")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    with (NPM_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all((modules / name / "package.json").is_file() for name in wanted):
            if not (NPM_DIR / "package.json").exists():
                (NPM_DIR / "package.json").write_text('{"private": true}\n')
            subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund", *wanted],
                           check=True, capture_output=True, timeout=600)
    return modules


def build_react() -> Path:
    """examples/react/dist/app.js, bundled from app.jsx by esbuild."""
    npm_tools()
    subprocess.run(["sh", str(REACT_BUILD)], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "FLOWKICK_NPM_DIR": str(NPM_DIR)})
    return REPO / "examples" / "react" / "dist" / "app.js"


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (open shadow roots included)."""
    page.add_script_tag(path=str(npm_tools() / "axe-core" / "axe.min.js"))
    result = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@contextmanager
def another_site(html: str) -> Iterator[str]:
    """`html` served from 127.0.0.2: another site than Flowkick's 127.0.0.1, and like it on
    loopback (Chromium keeps public pages from loading anything from loopback)."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}/luna-cafe.html"
    finally:
        server.shutdown()
        server.server_close()
