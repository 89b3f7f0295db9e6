"""The feed designer and the moderation grid in /admin, in Chromium: the preview (the real
fragment, no key pasted) follows each control, the codes follow the choices, and hide and
pin change the JSON, the fragment, the widget and the preview at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from flowkick import snippets
from flowkick.app import create_app
from flowkick.render import EmbedOptions
from flowkick.settings import Settings
from scripts.screenshots import shoot_designer
from tests.support.browser import Tab, open_tab, run_axe
from tests.support.servers import live_app, warm

PASSWORD = "designer at work"
SOURCE = "1:instagram:lunacafe.berlin"
REVIEWS = "1:google_reviews:ChIJLunaCafeBerlin01"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("designer") / "flowkick.db"
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{database}", tick_seconds=0.2,
                                 admin_password=PASSWORD, secret_key="designer-test-secret", memory_ttl_seconds=0.0)
    with live_app(create_app(settings)) as url:
        warm(url, ("instagram", "google_reviews"))
        yield url


@pytest.fixture
def tab(browser: Browser, server: str) -> Iterator[Tab]:
    with open_tab(browser) as opened:
        opened.page.goto(f"{server}/admin/login")
        opened.page.get_by_label("Password").fill(PASSWORD)
        opened.page.get_by_role("button", name="Log in").click()
        expect(opened.page.get_by_role("heading", level=1)).to_have_text("Overview")
        yield opened
        assert opened.errors == []


def preview(page: Page) -> FrameLocator:
    return page.frame_locator("#preview")


def open_designer(tab: Tab, server: str, source: str = SOURCE) -> None:
    tab.page.goto(f"{server}/admin/designer")
    tab.page.get_by_label("Client and account").select_option(source)
    expect(preview(tab.page).locator("[data-item]").first).to_be_attached()


def api_ids(server: str, **query: str) -> list[str]:
    reply = httpx.get(f"{server}/api/v1/social/instagram", params={"api_key": "pk_demo", **query})
    return [i["id"] for i in reply.json()["items"]]


# Each control, a value, and what the preview's fragment shows for it.
CONTROLS = [
    ("Layout", "list", ".flowkick.fk-layout-list"),
    ("Theme", "dark", ".flowkick.fk-theme-dark"),
    ("Language", "de", '.flowkick[lang="de"]'),
    ("Header", "0", ".flowkick.fk-no-header"),
    ("Load more", "1", ".fk-foot .fk-load"),
]
NUMBERS = [("Columns", "5", "--fk-cols:5"), ("Gap (px)", "20", "--fk-gap:20px"), ("Corner radius (px)", "3", "--fk-radius:3px")]


@pytest.mark.parametrize("label,value,shows", CONTROLS)
def test_the_preview_follows_each_choice(tab: Tab, server: str, label: str, value: str, shows: str) -> None:
    open_designer(tab, server)
    tab.page.get_by_label(label, exact=True).select_option(value)
    expect(preview(tab.page).locator(shows)).to_be_attached()


@pytest.mark.parametrize("label,value,style", NUMBERS)
def test_the_preview_follows_each_number(tab: Tab, server: str, label: str, value: str, style: str) -> None:
    open_designer(tab, server)
    tab.page.get_by_label(label, exact=True).fill(value)
    tab.page.get_by_label(label, exact=True).dispatch_event("change")
    expect(preview(tab.page).locator(".flowkick")).to_have_attribute("style", re.compile(re.escape(style)))


def test_the_preview_follows_the_accent_and_the_limit(tab: Tab, server: str) -> None:
    open_designer(tab, server)
    tab.page.get_by_label("Accent").fill("#e11d48")
    tab.page.get_by_label("Accent").dispatch_event("change")
    expect(preview(tab.page).locator(".flowkick")).to_have_attribute("style", re.compile("--fk-accent:#e11d48"))
    tab.page.get_by_label("Posts").fill("5")
    tab.page.get_by_label("Posts").dispatch_event("change")
    expect(preview(tab.page).locator("[data-item]")).to_have_count(5)
    assert preview(tab.page).locator("[data-item]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-item'))") == api_ids(server, limit="5")


def test_the_codes_follow_the_choices_without_a_key(tab: Tab, server: str) -> None:
    open_designer(tab, server)
    tab.page.get_by_label("Layout").select_option("carousel")
    tab.page.get_by_label("Posts").fill("8")
    tab.page.get_by_label("Posts").dispatch_event("change")
    expected = snippets.snippet(server, "instagram", "pk_YOUR_PUBLISHABLE_KEY",
                                {"handle": "lunacafe.berlin", "layout": "carousel", "limit": "8"})
    expect(tab.page.locator("#code-script")).to_have_text(expected)
    expect(tab.page.locator("#code-shortcode")).to_contain_text('layout="carousel"')
    expect(tab.page.locator("#code-react")).to_contain_text("/api/v1/social/instagram?handle=lunacafe.berlin&limit=8")


def test_the_snippet_reserves_the_space_of_the_chosen_layout(tab: Tab, server: str) -> None:
    open_designer(tab, server)
    tab.page.get_by_label("Columns").fill("4")
    tab.page.get_by_label("Columns").dispatch_event("change")
    style = snippets.spacer_style("instagram", EmbedOptions(columns=4))
    expect(tab.page.locator("#code-script")).to_contain_text(style)


def test_the_designer_works_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server}/admin/login")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{server}/admin/designer")
        page.get_by_label("Client and account").select_option(SOURCE)
        page.get_by_label("Theme").select_option("dark")
        page.get_by_role("button", name="Show").click()
        expect(preview(page).locator(".flowkick.fk-theme-dark")).to_be_attached()
    finally:
        context.close()


def grid_button(tab: Tab, action: str, item: str) -> None:
    tab.page.get_by_role("button", name=f"{action} {item}").click()
    expect(tab.page.get_by_role("heading", name=re.compile("Posts of"))).to_be_visible()


def test_hide_in_the_grid_changes_the_json_the_fragment_the_widget_and_the_preview(tab: Tab, server: str) -> None:
    first = api_ids(server)[0]
    tab.page.goto(f"{server}/admin/moderation?source={SOURCE}")
    grid_button(tab, "Hide", first)
    try:
        assert first not in api_ids(server)
        fragment = httpx.get(f"{server}/embed/instagram", params={"api_key": "pk_demo"}).text
        assert f'data-item="{first}"' not in fragment
        expect(preview(tab.page).locator("[data-item]").first).to_be_attached()
        assert preview(tab.page).locator(f'[data-item="{first}"]').count() == 0
        with open_tab(tab.page.context.browser) as visitor:  # type: ignore[arg-type]
            visitor.page.route(f"{server}/host.html", lambda route: route.fulfill(
                body=snippets.snippet(server, "instagram", "pk_demo"), content_type="text/html"))
            visitor.page.goto(f"{server}/host.html")
            visitor.wait_for_items(12)
            assert first not in visitor.items()
    finally:
        grid_button(tab, "Show", first)
    assert first in api_ids(server)


def test_pin_in_the_grid_puts_the_post_first(tab: Tab, server: str) -> None:
    last = api_ids(server, limit="50")[-1]
    tab.page.goto(f"{server}/admin/moderation?source={SOURCE}")
    grid_button(tab, "Pin", last)
    try:
        assert api_ids(server)[0] == last
        expect(preview(tab.page).locator("[data-item]").first).to_have_attribute("data-item", last)
    finally:
        grid_button(tab, "Unpin", last)
    assert api_ids(server)[0] != last


def test_a_keyword_rule_hides_the_posts_that_mention_it(tab: Tab, server: str) -> None:
    items = httpx.get(f"{server}/api/v1/social/instagram", params={"api_key": "pk_demo"}).json()["items"]
    word = next(w for w in re.findall(r"[A-Za-z]{6,}", items[0]["text"]))
    tab.page.goto(f"{server}/admin/moderation?source={SOURCE}")
    tab.page.get_by_label("Hide posts mentioning").fill(word)
    tab.page.get_by_role("button", name="Save rules").click()
    try:
        assert items[0]["id"] not in api_ids(server, limit="50")
        expect(preview(tab.page).locator(f'[data-item="{items[0]["id"]}"]')).to_have_count(0)
    finally:
        tab.page.get_by_label("Hide posts mentioning").fill("")
        tab.page.get_by_role("button", name="Save rules").click()
    assert items[0]["id"] in api_ids(server, limit="50")


def test_a_minimum_rating_rule_applies_at_once(tab: Tab, server: str) -> None:
    reviews = httpx.get(f"{server}/api/v1/social/google_reviews", params={"api_key": "pk_demo"}).json()["items"]
    low = min(r["rating"] for r in reviews)
    tab.page.goto(f"{server}/admin/moderation?source={REVIEWS}")
    tab.page.get_by_label("Minimum review rating").select_option(str(low + 1))
    tab.page.get_by_role("button", name="Save rules").click()
    try:
        after = httpx.get(f"{server}/api/v1/social/google_reviews", params={"api_key": "pk_demo"}).json()["items"]
        assert after and all(r["rating"] > low for r in after)
        expect(preview(tab.page).locator(".fk-card").first).to_be_attached()
    finally:
        tab.page.get_by_label("Minimum review rating").select_option("")
        tab.page.get_by_role("button", name="Save rules").click()


def test_the_grid_shows_every_post_with_its_thumbnail(tab: Tab, server: str) -> None:
    tab.page.goto(f"{server}/admin/moderation?source={SOURCE}")
    posts = tab.page.locator("li.post")
    expect(posts).to_have_count(len(api_ids(server, limit="50")))
    thumbnail = posts.locator("img").first
    thumbnail.scroll_into_view_if_needed()
    assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0


def test_a_screenshot_shows_the_designer(browser: Browser, server: str, tmp_path: Path) -> None:
    written = shoot_designer(browser, server, PASSWORD, tmp_path)
    assert written.name == "designer.png" and written.stat().st_size > 10_000


@pytest.mark.parametrize("path", [f"/admin/designer?source={SOURCE}&more=1", f"/admin/moderation?source={SOURCE}",
                                  "/admin/analytics"])
def test_axe_finds_nothing_serious_on_the_new_pages(tab: Tab, server: str, path: str) -> None:
    tab.page.goto(server + path)
    tab.page.wait_for_load_state("networkidle")
    assert run_axe(tab.page) == []
