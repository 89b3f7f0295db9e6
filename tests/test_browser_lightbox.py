"""The widget's lightbox, "read more" and "load more" in Chromium, on a host page of another
origin: the keyboard alone opens, moves and closes it with focus kept inside and returned,
axe finds nothing serious with it open, and the fragment without JavaScript keeps its links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from flowkick import snippets
from flowkick.render import EmbedOptions, render_fragment
from scripts.screenshots import shoot_lightbox
from tests.support.browser import Tab, another_site, open_tab, run_axe
from tests.support.servers import StaticSource, demo_app, live_app, warm

DIALOG = "dialog.fk-lb"
LONG_REVIEW = "The flat white was perfect.\nThe cheesecake even better. " + "We stayed all afternoon. " * 12


def api_items(base: str, platform: str, **query: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{base}/api/v1/social/{platform}", params={"api_key": "pk_demo", **query})
    return list(reply.json()["items"])


def embed(tab: Tab, base: str, platform: str, options: dict[str, str], count: int) -> None:
    """A host page of another origin (127.0.0.2) with one published snippet, its items mounted."""
    page = ("<!doctype html><html lang='en'><head><title>Café</title></head><body><h1>Menu</h1>"
            f"{snippets.snippet(base, platform, 'pk_demo', options)}<p>Open daily</p></body></html>")
    with another_site(page) as url:
        tab.page.goto(url)
        tab.wait_for_items(count)


def focused(tab: Tab) -> dict[str, Any]:
    """What has focus inside the widget: whether it is in the dialog, and its post's id."""
    return dict(tab.page.evaluate("""() => {
      const root = document.querySelector('[data-flowkick]').shadowRoot, el = root.activeElement;
      return {inDialog: !!(el && el.closest('dialog')), item: el && el.closest('[data-item]') &&
              el.closest('[data-item]').getAttribute('data-item'), tag: el && el.tagName};
    }"""))


def tab_to_first_post(tab: Tab) -> None:
    for _ in range(12):
        tab.page.keyboard.press("Tab")
        if focused(tab)["item"]:
            return
    raise AssertionError("Tab never reached a post")


def dialog_text(tab: Tab) -> str:
    return str(tab.page.locator(f"{DIALOG} .fk-lb-text").text_content())


def test_keyboard_alone_opens_moves_and_closes_the_lightbox(browser: Browser, demo: str) -> None:
    items = api_items(demo, "instagram", limit="6")
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "6"}, 6)
        tab_to_first_post(tab)
        assert focused(tab)["item"] == items[0]["id"]
        tab.page.keyboard.press("Enter")
        tab.page.locator(f"{DIALOG}[open]").wait_for()
        assert focused(tab)["inDialog"]
        assert dialog_text(tab) == items[0]["text"]
        tab.page.keyboard.press("ArrowRight")
        assert dialog_text(tab) == items[1]["text"]
        for _ in range(8):
            tab.page.keyboard.press("Tab")
            assert focused(tab)["inDialog"]
        for _ in range(3):
            tab.page.keyboard.press("Shift+Tab")
            assert focused(tab)["inDialog"]
        tab.page.keyboard.press("ArrowLeft")
        tab.page.keyboard.press("ArrowRight")
        tab.page.keyboard.press("Escape")
        assert tab.page.locator(f"{DIALOG}[open]").count() == 0
        assert focused(tab) == {"inDialog": False, "item": items[1]["id"], "tag": "A"}
        assert tab.errors == []


def test_close_button_closes_and_returns_focus_to_the_post(browser: Browser, demo: str) -> None:
    items = api_items(demo, "instagram", limit="3")
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "3"}, 3)
        tab.page.locator("[data-item] .fk-link").nth(2).click()
        tab.page.locator(f"{DIALOG}[open]").wait_for()
        assert tab.page.locator(f"{DIALOG} .fk-lb-next").is_hidden()  # the last post: nothing after it
        tab.page.locator(f"{DIALOG} .fk-lb-close").click()
        assert tab.page.locator(f"{DIALOG}[open]").count() == 0
        assert focused(tab)["item"] == items[2]["id"]


def test_lightbox_shows_the_whole_post(browser: Browser, demo: str) -> None:
    item = api_items(demo, "instagram", limit="1")[0]
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "1"}, 1)
        tab.page.locator("[data-item] .fk-link").first.click()
        dialog = tab.page.locator(f"{DIALOG}[open]")
        dialog.wait_for()
        assert dialog.locator(".fk-lb-text").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line"
        assert dialog.locator(".fk-lb-by").text_content() == "Luna Café Berlin"
        assert dialog.locator("time").get_attribute("datetime") == item["published_at"]
        assert dialog.locator(".fk-stat").count() == sum(item[k] is not None for k in ("likes", "comments", "views"))
        link = dialog.locator("a.fk-lb-link")
        assert link.get_attribute("href") == item["url"] and link.text_content() == "View on Instagram"
        picture = dialog.locator(".fk-lb-media img")
        picture.evaluate("img => img.decode()")
        assert picture.evaluate("img => img.naturalWidth") > 0


def test_carousel_post_shows_all_its_pictures(browser: Browser, demo: str) -> None:
    items = api_items(demo, "instagram", limit="12")
    index, carousel = next((n, i) for n, i in enumerate(items) if i["type"] == "carousel")
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "12"}, 12)
        tab.page.locator("[data-item] .fk-link").nth(index).click()
        strip = tab.page.locator(f"{DIALOG}[open] .fk-lb-strip img")
        strip.first.wait_for()
        assert strip.evaluate_all("els => els.map(e => e.getAttribute('src'))") == [m["url"] for m in carousel["media"]]


def test_a_video_without_a_stored_file_shows_its_poster_and_links_to_the_post(browser: Browser, demo: str) -> None:
    items = api_items(demo, "tiktok", limit="2")
    with open_tab(browser) as tab:
        embed(tab, demo, "tiktok", {"layout": "carousel", "limit": "2"}, 2)
        tab.page.locator("[data-item] .fk-link").first.click()
        dialog = tab.page.locator(f"{DIALOG}[open]")
        dialog.wait_for()
        assert dialog.locator("video").count() == 0 and dialog.locator(".fk-lb-media img").count() == 1
        assert dialog.locator("a.fk-lb-link").get_attribute("href") == items[0]["url"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_with_the_lightbox_open(browser: Browser, demo: str, scheme: str) -> None:
    with open_tab(browser, color_scheme=scheme) as tab:
        embed(tab, demo, "instagram", {"limit": "6", "theme": "auto", "more": "1"}, 6)
        tab.page.locator("[data-item] .fk-link").first.click()
        tab.page.locator(f"{DIALOG}[open] .fk-lb-media img").evaluate("img => img.decode()")
        assert run_axe(tab.page) == []


def test_a_modified_click_keeps_the_plain_link(browser: Browser, demo: str) -> None:
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "3"}, 3)
        tab.page.context.route("https://**", lambda route: route.fulfill(body="elsewhere"))
        with tab.page.context.expect_page() as opened:
            tab.page.locator("[data-item] .fk-link").first.click(modifiers=["Control"])
        opened.value.close()
        assert tab.page.locator(f"{DIALOG}[open]").count() == 0


def test_without_javascript_posts_keep_their_plain_links(browser: Browser, demo: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{demo}/examples/no-js.html")
        hrefs = page.locator("[data-item] a.fk-link").evaluate_all("els => els.map(e => e.href)")
        assert hrefs and all(h.startswith("https://") for h in hrefs)
        assert page.locator(".fk-read, .fk-load").evaluate_all("els => els.filter(e => e.offsetParent).length") == 0
    finally:
        context.close()


def review(n: int, text: str) -> dict[str, Any]:
    return {"id": f"google_reviews:r{n}", "platform": "google_reviews", "type": "review",
            "url": f"https://maps.example.com/r{n}", "title": None, "text": text, "image": None, "media": [],
            "published_at": f"2026-11-{20 - n:02d}T10:00:00Z", "author": {"name": f"Guest {n}", "handle": None},
            "likes": None, "comments": None, "views": None, "shares": None, "rating": 5, "reply": None}


def test_a_long_review_gets_read_more_which_shows_all_of_it(browser: Browser, tmp_path: Path) -> None:
    reviews = [review(1, LONG_REVIEW), review(2, "Short and sweet.")]
    sources = {p: StaticSource({"google_reviews": reviews}) for p in
               ("instagram", "tiktok", "google_reviews", "twitter", "youtube", "facebook")}
    with live_app(demo_app(tmp_path / "f.db", sources)) as url, open_tab(browser) as tab:
        warm(url, ("google_reviews",))
        embed(tab, url, "google_reviews", {"limit": "2"}, 2)
        read_more = tab.page.locator(".fk-read")
        assert read_more.count() == 1
        read_more.click()
        dialog = tab.page.locator(f"{DIALOG}[open]")
        dialog.wait_for()
        assert dialog.locator(".fk-lb-text").text_content() == LONG_REVIEW.strip()
        assert dialog.locator(".fk-lb-by").text_content() == "Guest 1"
        tab.page.keyboard.press("Escape")
        assert focused(tab)["tag"] == "BUTTON"


def test_load_more_appends_the_next_pages_in_order_below_the_first(browser: Browser, demo: str) -> None:
    expected = [i["id"] for i in api_items(demo, "instagram", limit="12")]
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": "4", "more": "1"}, 4)
        first_top = tab.page.locator("[data-item]").first.evaluate("e => e.getBoundingClientRect().top + scrollY")
        for shown in (8, 12):
            tab.page.locator(".fk-load").click()
            tab.wait_for_items(shown)
            assert tab.items() == expected[:shown]
        assert tab.page.locator("[data-item]").first.evaluate("e => e.getBoundingClientRect().top + scrollY") == first_top
        assert focused(tab)["item"] == expected[8]  # focus moved to the first post added
        assert tab.cls() == 0


def test_load_more_disappears_after_the_last_page(browser: Browser, demo: str) -> None:
    total = len(api_items(demo, "instagram", limit="50"))
    with open_tab(browser) as tab:
        embed(tab, demo, "instagram", {"limit": str(total - 2), "more": "1"}, total - 2)
        tab.page.locator(".fk-load").click()
        tab.wait_for_items(total)
        assert tab.page.locator(".fk-load").count() == 0
        assert len(tab.items()) == total


# A real, playable WebM made by Chromium itself (a canvas recorded for a moment): no video file
# ships with the tests and no encoder is installed.
RECORD_WEBM = """async () => {
  const canvas = Object.assign(document.createElement('canvas'), {width: 64, height: 64});
  const paint = canvas.getContext('2d'), recorder = new MediaRecorder(canvas.captureStream(25), {mimeType: 'video/webm'});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise((resolve) => recorder.onstop = resolve);
  recorder.start();
  for (let frame = 0; frame < 25; frame++) {
    paint.fillStyle = `hsl(${frame * 14}, 80%, 50%)`;
    paint.fillRect(0, 0, 64, 64);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  recorder.stop();
  await done;
  return [...new Uint8Array(await new Blob(chunks).arrayBuffer())];
}"""


def video_item(n: int, url: str) -> dict[str, Any]:
    return {"id": f"tiktok:v{n}", "platform": "tiktok", "type": "video", "url": f"https://www.tiktok.com/@c/video/{n}",
            "title": None, "text": f"Clip {n}", "image": None, "media": [{"type": "video", "url": url}],
            "published_at": f"2026-11-2{n}T10:00:00Z", "author": {"name": "Luna Café", "handle": "c"},
            "likes": 3, "comments": None, "views": 40, "shares": None, "rating": None, "reply": None}


def test_a_stored_video_plays_inline_muted_with_controls_on_click_only(browser: Browser, demo: str) -> None:
    clip = f"{demo}/media/clip.webm"
    envelope = {"platform": "tiktok", "profile": {"name": "Luna Café"}, "status": "ok",
                "items": [video_item(1, clip), video_item(2, clip)]}
    fragment = render_fragment(envelope, EmbedOptions(limit=2), datetime(2026, 11, 30, tzinfo=UTC))
    with open_tab(browser) as tab:
        tab.page.goto(f"{demo}/examples/")
        webm = bytes(tab.page.evaluate(RECORD_WEBM))
        tab.page.route(f"{demo}/embed/tiktok*", lambda route: route.fulfill(
            body=fragment, content_type="text/html", headers={"access-control-allow-origin": "*"}))
        tab.page.route(clip, lambda route: route.fulfill(body=webm, content_type="video/webm"))
        embed(tab, demo, "tiktok", {"limit": "2"}, 2)
        assert tab.page.locator("video").count() == 0  # nothing plays by itself
        tab.page.locator("[data-item] .fk-link").first.click()
        video = tab.page.locator(f"{DIALOG}[open] video")
        video.wait_for()
        assert video.evaluate("v => [v.muted, v.controls, v.autoplay, v.src]") == [True, True, False, clip]
        tab.page.wait_for_function("v => v.currentTime > 0 && !v.paused", arg=video.element_handle())
        tab.page.keyboard.press("ArrowRight")  # the next video waits for its own click
        assert tab.page.locator(f"{DIALOG} video").evaluate("v => v.paused") is True
        tab.page.keyboard.press("Escape")
        assert tab.page.locator(f"{DIALOG} video").evaluate("v => v.paused") is True


def test_screenshots_show_the_lightbox_in_light_and_dark(browser: Browser, demo: str, tmp_path: Path) -> None:
    written = shoot_lightbox(browser, demo, tmp_path)
    assert sorted(p.name for p in written) == ["lightbox-dark.png", "lightbox-light.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 10_000 for p in written)
