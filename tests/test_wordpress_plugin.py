"""The WordPress plugin in a real WordPress (Debian's packages, private MariaDB, php -S).

The plugin is installed from the zip a live Flowkick server serves, pointed at that
server, and judged by the HTML a visitor gets without JavaScript.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from flowkick import snippets
from flowkick.clients import NewClient, create_client
from flowkick.database import Database
from flowkick.render import EmbedOptions
from tests.support.logcheck import LogLines
from tests.support.servers import StaticSource, demo_app, free_port, live_app
from tests.support.wordpress import ADMIN, WordPress

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "wordpress-plugin" / "flowkick"
OPTIONS = ("flowkick_server_url", "flowkick_default_key", "flowkick_cache_minutes")
EDITOR = ("editor-emma", "editor-test-password")
SUBSCRIBER = ("subscriber-sam", "subscriber-test-password")


HOSTILE_CAPTION = "Fresh croissants <script>alert('caption')</script><img src=x onerror=alert(1)> & \"quotes\""
ITEMS = [
    {"id": f"instagram:wp{n}", "platform": "instagram", "type": "image", "url": f"https://example.com/p/{n}",
     "title": None, "text": text, "image": f"https://example.com/p/{n}.jpg", "media": [],
     "published_at": f"2026-11-{20 - n:02d}T18:03:00Z", "author": {"name": "Luna Café", "handle": "wp.cafe"},
     "likes": 3, "comments": 1, "views": None, "shares": None, "rating": None, "reply": None}
    for n, text in enumerate([HOSTILE_CAPTION, "Latte art", "Sunday brunch"])
]


@dataclass(frozen=True)
class FlowkickFeed:
    """A live Flowkick server and the client whose Instagram feed the pages show."""

    url: str
    secret_key: str
    publishable_key: str
    item_ids: list[str]
    hostile_caption: str = HOSTILE_CAPTION


@contextmanager
def running_flowkick(folder: Path) -> Iterator[FlowkickFeed]:
    """The real app in demo mode with a static Instagram source, a client of its own
    (created through the Python API) and that client's feed already fetched."""
    database = folder / "flowkick.db"
    app = demo_app(database, {"instagram": StaticSource({"instagram": ITEMS})})
    with live_app(app) as url:
        with ThreadPoolExecutor(1) as thread:  # Playwright may own this thread's event loop
            client = thread.submit(asyncio.run, _create_client(f"sqlite+aiosqlite:///{database}")).result()
        _wait_until_fetched(url, client.secret_key)
        yield FlowkickFeed(url, client.secret_key, client.publishable_key, [item["id"] for item in ITEMS])


async def _create_client(database_url: str) -> NewClient:
    database = Database(database_url)
    await database.connect()
    try:
        return await create_client(database, "WordPress agency", {"instagram": ["wp.cafe"]}, now=time.time())
    finally:
        await database.close()


def _wait_until_fetched(url: str, key: str) -> None:
    """Asks for the feed until the refresher has filled it (the first ask starts the fetch)."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=url) as client:
        while client.get("/api/v1/social/instagram", headers={"Authorization": f"Bearer {key}"}).status_code == 202:
            assert time.monotonic() < deadline, "the feed stayed pending"
            time.sleep(0.1)


@dataclass(frozen=True)
class Pages:
    shortcode: str
    block: str
    attributes: str
    wrong_key: str
    unknown_platform: str
    no_platform: str


@pytest.fixture(scope="module")
def flowkick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowkickFeed]:
    with running_flowkick(tmp_path_factory.mktemp("flowkick")) as feed:
        yield feed


@pytest.fixture(scope="module")
def site(wordpress_site: WordPress, flowkick: FlowkickFeed) -> WordPress:
    """WordPress with the plugin installed from the served zip and pointed at the server."""
    wordpress_site.install_plugin(httpx.get(f"{flowkick.url}/wordpress-plugin.zip").raise_for_status().content)
    wordpress_site.set_option("flowkick_server_url", flowkick.url)
    wordpress_site.set_option("flowkick_default_key", flowkick.secret_key)
    wordpress_site.set_option("flowkick_cache_minutes", 10)
    wordpress_site.create_user(*EDITOR, "editor")
    wordpress_site.create_user(*SUBSCRIBER, "subscriber")
    return wordpress_site


@pytest.fixture(scope="module")
def pages(site: WordPress, flowkick: FlowkickFeed) -> Pages:
    return Pages(
        shortcode=site.create_page("Shortcode feed", '[flowkick platform="instagram"]'),
        block=site.create_page("Block feed", '<!-- wp:flowkick/feed {"platform":"instagram"} /-->'),
        attributes=site.create_page("One item", '[flowkick platform="instagram" layout="list" limit="1" lang="es"]'),
        wrong_key=site.create_page("Wrong key", '<p>Opening hours</p>[flowkick platform="instagram" key="sk_wrong"]'),
        unknown_platform=site.create_page("Unknown platform", '<p>Opening hours</p>[flowkick platform="myspace"]'),
        no_platform=site.create_page("No platform", "<p>Opening hours</p>[flowkick]"),
    )


@pytest.fixture(scope="module")
def visitor() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def editor(site: WordPress) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        site.login(client, *EDITOR)
        yield client


@pytest.fixture(autouse=True)
def plugin_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Prints what the plugin wrote to debug.log during a test (pytest shows it on failure)."""
    if "site" not in request.fixturenames:
        yield
        return
    site: WordPress = request.getfixturevalue("site")
    start = site.log_size()
    yield
    for line in site.plugin_log_lines(start):
        print(line)


@pytest.fixture
def restore_options(site: WordPress) -> Iterator[None]:
    """Puts the plugin's options back after a test that changes them."""
    saved = {name: site.option(name) for name in OPTIONS}
    yield
    for name, value in saved.items():
        site.set_option(name, value)


@pytest.fixture
def server_down(site: WordPress, restore_options: None) -> None:
    """Points the plugin at a loopback port where nothing listens."""
    site.set_option("flowkick_server_url", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def admin_page(browser: Browser, site: WordPress) -> Iterator[Page]:
    """A browser tab logged in as the administrator."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/wp-login.php")
    page.fill("#user_login", ADMIN[0])
    page.fill("#user_pass", ADMIN[1])
    page.click("#wp-submit")
    # The first admin page php -S renders is slow on a loaded machine: it once took over
    # Playwright's default 30 s at the end of a full suite run.
    page.wait_for_url(re.compile(r"/wp-admin/"), timeout=90_000)
    yield page
    context.close()


def items_in(page_html: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r'data-item="([^"]+)"', page_html)]


# Install


def test_plugin_installs_from_the_served_zip_and_is_active(site: WordPress) -> None:
    assert site.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; return is_plugin_active( 'flowkick/flowkick.php' );")


@pytest.mark.parametrize("path", sorted(PLUGIN_DIR.rglob("*.php")), ids=lambda p: str(p.relative_to(PLUGIN_DIR)))
def test_php_file_passes_php_lint(path: Path) -> None:
    done = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# The feed in the page's HTML


def test_shortcode_page_html_contains_every_feed_item(pages: Pages, visitor: httpx.Client, flowkick: FlowkickFeed) -> None:
    assert items_in(visitor.get(pages.shortcode).text) == flowkick.item_ids


def test_block_page_html_contains_every_feed_item(pages: Pages, visitor: httpx.Client, flowkick: FlowkickFeed) -> None:
    assert items_in(visitor.get(pages.block).text) == flowkick.item_ids


def test_shortcode_attributes_reach_the_server(pages: Pages, visitor: httpx.Client, flowkick: FlowkickFeed) -> None:
    page = visitor.get(pages.attributes).text
    assert items_in(page) == flowkick.item_ids[:1]
    assert 'data-layout="list"' in page and 'lang="es"' in page


def test_the_plugin_sends_its_key_in_a_header_and_the_log_shows_it_masked(
        pages: Pages, visitor: httpx.Client, log_lines: LogLines) -> None:
    visitor.get(pages.shortcode)
    asked = [json.loads(line) for line in log_lines.lines
             if '"logger":"flowkick.access"' in line and "/embed/instagram?css=none" in line]
    assert asked and all(line["key"] == "sk_***" and "api_key" not in line["path"] for line in asked)


def test_hostile_caption_is_escaped(pages: Pages, visitor: httpx.Client, flowkick: FlowkickFeed) -> None:
    page = visitor.get(pages.shortcode).text
    shown = [html.unescape(text) for text in re.findall(r'<span class="fk-text">([^<]*)</span>', page)]
    assert flowkick.hostile_caption in shown
    assert flowkick.hostile_caption not in page


def test_feed_keeps_the_servers_theme_properties(pages: Pages, visitor: httpx.Client) -> None:
    root_style = re.search(r'<div class="flowkick [^>]*style="([^"]*)"', visitor.get(pages.shortcode).text)
    assert root_style and "--fk-" in root_style.group(1)


def test_server_stylesheet_is_enqueued(pages: Pages, visitor: httpx.Client, flowkick: FlowkickFeed) -> None:
    link = re.search(r"<link[^>]*id='flowkick-embed-css'[^>]*>", visitor.get(pages.shortcode).text)
    assert link and f"href='{flowkick.url}/embed.css" in link.group(0)


def test_fetched_feed_puts_no_script_on_the_page(pages: Pages, visitor: httpx.Client) -> None:
    page = visitor.get(pages.shortcode).text
    assert "widget.js" not in page and "jquery" not in page.lower()


def test_block_preview_in_the_editor_shows_the_feed(admin_page: Page, site: WordPress, flowkick: FlowkickFeed) -> None:
    admin_page.goto(f"{site.url}/wp-admin/post-new.php?post_type=page")
    admin_page.wait_for_function("() => window.wp && wp.blocks && wp.blocks.getBlockType('flowkick/feed')")
    admin_page.evaluate("() => wp.data.dispatch('core/block-editor').insertBlocks("
                        "wp.blocks.createBlock('flowkick/feed', {platform: 'instagram'}))")
    preview = admin_page.locator(".wp-block-flowkick-feed [data-item]")
    preview.first.wait_for()
    assert [item.get_attribute("data-item") for item in preview.all()] == flowkick.item_ids


def test_fragment_sanitizer_strips_active_content(site: WordPress) -> None:
    clean = site.php("return Flowkick_Fragment::sanitize( $args[0] );",
                     '<div class="flowkick"><script>alert(1)</script><a href="javascript:alert(2)" onclick="alert(3)">x</a>'
                     '<img src="https://example.com/a.jpg" onerror="alert(4)" alt="a"><iframe src="https://example.com"></iframe></div>')
    assert clean == '<div class="flowkick">alert(1)<a href="alert(2)">x</a><img src="https://example.com/a.jpg" alt="a"></div>'


def test_fragment_sanitizer_keeps_data_attributes_and_theme_properties(site: WordPress) -> None:
    fragment = '<div class="flowkick" style="--fk-accent:#e11d48;--fk-ratio:9/16"><ul><li data-item="instagram:1">x</li></ul></div>'
    assert site.php("return Flowkick_Fragment::sanitize( $args[0] );", fragment) == fragment


# Errors: quiet for visitors, a notice for editors


@pytest.mark.parametrize("name", ["wrong_key", "unknown_platform", "no_platform"])
def test_visitors_get_the_page_without_a_broken_feed(name: str, pages: Pages, visitor: httpx.Client) -> None:
    answer = visitor.get(getattr(pages, name))
    assert answer.status_code == 200
    assert "Opening hours" in answer.text
    assert "flowkick-notice" not in answer.text and "data-item" not in answer.text
    assert "critical error" not in answer.text


@pytest.mark.parametrize(("name", "code"), [
    ("wrong_key", "unknown_key"), ("unknown_platform", "unknown_platform"), ("no_platform", "not_configured")])
def test_editors_get_a_notice_naming_the_problem(name: str, code: str, pages: Pages, editor: httpx.Client) -> None:
    answer = editor.get(getattr(pages, name))
    assert f'<p class="flowkick-notice" role="status" data-flowkick-error="{code}">' in answer.text
    assert "Opening hours" in answer.text


# When the Flowkick server is down


@pytest.fixture
def stopped_server(site: WordPress, visitor: httpx.Client, restore_options: None, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A page whose feed was fetched once from a Flowkick server that has since stopped."""
    with running_flowkick(tmp_path) as other:
        site.set_option("flowkick_server_url", other.url)
        site.set_option("flowkick_default_key", other.secret_key)
        url = site.create_page("Survives", '[flowkick platform="instagram"]')
        assert items_in(visitor.get(url).text) == other.item_ids
    yield url, other.item_ids


def test_feed_stays_visible_after_the_server_stops(stopped_server: tuple[str, list[str]], visitor: httpx.Client) -> None:
    url, item_ids = stopped_server
    assert items_in(visitor.get(url).text) == item_ids


def test_last_good_copy_outlives_the_cache_period_while_the_server_is_down(
        stopped_server: tuple[str, list[str]], site: WordPress, visitor: httpx.Client) -> None:
    url, item_ids = stopped_server
    site.delete_transients("flowkick_feed_")  # the cache period is over: only the last good copy is left
    assert items_in(visitor.get(url).text) == item_ids


def test_widget_is_the_fallback_for_a_publishable_key_never_fetched(
        site: WordPress, visitor: httpx.Client, flowkick: FlowkickFeed, server_down: None) -> None:
    url = site.create_page("Widget fallback", f'[flowkick platform="instagram" key="{flowkick.publishable_key}" layout="list"]')
    page = visitor.get(url).text
    script = re.search(r"<script[^>]*widget\.js[^>]*>", page)
    assert script and " async" in script.group(0)
    placeholder = f'<div data-flowkick data-platform="instagram" data-key="{flowkick.publishable_key}" data-layout="list">'
    assert placeholder in page


@pytest.mark.parametrize("attributes", ['platform="instagram"', 'platform="tiktok" layout="carousel" limit="8"',
                                        'platform="youtube" limit="5"', 'platform="google" limit="4"',
                                        'platform="x" limit="3"', 'platform="google_reviews" layout="badge"'])
def test_widget_fallback_reserves_the_space_the_server_would(
        site: WordPress, visitor: httpx.Client, flowkick: FlowkickFeed, server_down: None, attributes: str) -> None:
    url = site.create_page("Widget fallback", f'[flowkick {attributes} key="{flowkick.publishable_key}"]')
    options = dict(re.findall(r'(\w+)="([^"]*)"', attributes))
    expected = snippets.spacer_style(options.pop("platform"), EmbedOptions.from_query(options))
    assert f'<div style="{expected}"></div></div>' in visitor.get(url).text


def test_secret_key_never_reaches_the_page_when_nothing_was_fetched(
        site: WordPress, visitor: httpx.Client, flowkick: FlowkickFeed, server_down: None) -> None:
    url = site.create_page("Nothing cached", '<p>Opening hours</p>[flowkick platform="instagram"]')
    page = visitor.get(url).text
    assert "Opening hours" in page
    assert flowkick.secret_key not in page and "widget.js" not in page


# Settings → Flowkick


def _save_settings(page: Page, site: WordPress, **values: str) -> None:
    """Fills the settings form as typed (browser validation off) and submits it."""
    page.goto(f"{site.url}/wp-admin/options-general.php?page=flowkick")
    page.eval_on_selector("form[action$='options.php']", "form => form.noValidate = true")
    for name, value in values.items():
        page.fill(f"#{name}", value)
    page.click("#submit")
    page.wait_for_load_state()


def test_settings_page_saves_the_options(admin_page: Page, site: WordPress, restore_options: None) -> None:
    _save_settings(admin_page, site, flowkick_server_url="https://feeds.example.com/", flowkick_default_key="sk_live_123",
                   flowkick_cache_minutes="15")
    assert admin_page.locator("#setting-error-settings_updated").is_visible()
    assert [site.option(name) for name in OPTIONS] == ["https://feeds.example.com", "sk_live_123", "15"]


def test_settings_page_refuses_a_server_url_that_is_not_http(admin_page: Page, site: WordPress, restore_options: None) -> None:
    before = site.option("flowkick_server_url")
    _save_settings(admin_page, site, flowkick_server_url="javascript:alert(1)")
    assert admin_page.locator("#setting-error-flowkick_server_url_invalid").is_visible()
    assert site.option("flowkick_server_url") == before


def test_settings_page_refuses_a_malformed_key(admin_page: Page, site: WordPress, restore_options: None) -> None:
    before = site.option("flowkick_default_key")
    _save_settings(admin_page, site, flowkick_default_key='sk_"><script>alert(1)</script>')
    assert admin_page.locator("#setting-error-flowkick_default_key_invalid").is_visible()
    assert site.option("flowkick_default_key") == before


def test_settings_page_clamps_cache_minutes_to_a_day(admin_page: Page, site: WordPress, restore_options: None) -> None:
    _save_settings(admin_page, site, flowkick_cache_minutes="99999")
    assert site.option("flowkick_cache_minutes") == "1440"


def test_settings_page_is_closed_to_non_admins(site: WordPress) -> None:
    with httpx.Client(timeout=30) as subscriber:
        site.login(subscriber, *SUBSCRIBER)
        answer = subscriber.get(f"{site.url}/wp-admin/options-general.php?page=flowkick")
    assert answer.status_code == 403
    assert 'name="flowkick_server_url"' not in answer.text


def test_settings_save_without_a_nonce_is_refused(site: WordPress, restore_options: None) -> None:
    before = site.option("flowkick_server_url")
    with httpx.Client(timeout=30) as admin:
        site.login(admin, *ADMIN)
        answer = admin.post(f"{site.url}/wp-admin/options.php", data={
            "option_page": "flowkick", "action": "update", "flowkick_server_url": "https://evil.example"})
    assert answer.status_code == 403
    assert site.option("flowkick_server_url") == before


# Housekeeping


def test_uninstall_removes_options_and_cached_feeds(site: WordPress, pages: Pages, visitor: httpx.Client,
                                                   restore_options: None) -> None:
    visitor.get(pages.shortcode)
    site.php("require_once ABSPATH . 'wp-admin/includes/plugin.php'; uninstall_plugin( 'flowkick/flowkick.php' ); return true;")
    assert [site.option(name) for name in OPTIONS] == [False, False, False]
    assert site.delete_transients("flowkick_") == 0


def test_plugin_writes_nothing_to_the_debug_log(site: WordPress, pages: Pages, visitor: httpx.Client,
                                               editor: httpx.Client) -> None:
    for url in (pages.shortcode, pages.block, pages.wrong_key, pages.unknown_platform, pages.no_platform):
        visitor.get(url)
        editor.get(url)
    assert site.plugin_log_lines() == []
