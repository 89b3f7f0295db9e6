"""The admin dashboard in Chromium: every page renders, every form works, with or without JavaScript."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from flowkick.app import create_app
from flowkick.settings import Settings
from tests.support.browser import Tab, open_tab
from tests.support.servers import live_app

PASSWORD = "open sesame, said the café owner"
NAV = [("Overview", "Overview"), ("Clients", "Clients"), ("Sources", "Sources"), ("Refresh runs", "Refresh runs"),
       ("Usage", "Usage"), ("Embed code", "Embed code")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("admin") / "flowkick.db"
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{database}", tick_seconds=0.2,
                                 admin_password=PASSWORD, secret_key="browser-test-secret")
    with live_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def tab(browser: Browser, server: str) -> Iterator[Tab]:
    """A tab logged in to the dashboard."""
    with open_tab(browser) as opened:
        log_in(opened.page, server)
        yield opened
        assert opened.errors == []


def log_in(page: Page, server: str) -> None:
    page.goto(f"{server}/admin/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def create_client(page: Page, server: str, name: str) -> str:
    """Creates a client through the form; returns its page's URL."""
    page.goto(f"{server}/admin/clients")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Plan").select_option("starter")
    page.get_by_role("button", name="Create client").click()
    expect(page.locator('[data-key="publishable"]')).to_contain_text("pk_")
    page.get_by_role("link", name="Continue to the client").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    return page.url


def test_every_page_renders_from_the_navigation(tab: Tab) -> None:
    for link, heading in NAV:
        tab.page.get_by_role("banner").get_by_role("link", name=link, exact=True).click()
        expect(tab.page.get_by_role("heading", level=1)).to_have_text(heading)
    assert [t for t, _ in tab.console if t == "error"] == []


def test_a_wrong_password_shows_an_error(browser: Browser, server: str) -> None:
    with open_tab(browser) as fresh:
        fresh.page.goto(f"{server}/admin/login")
        fresh.page.get_by_label("Password").fill("not it")
        fresh.page.get_by_role("button", name="Log in").click()
        expect(fresh.page.get_by_role("alert")).to_have_text("Wrong password.")


def test_creating_a_client_shows_both_keys(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Trattoria Uno")
    tab.page.goto(f"{server}/admin/clients")
    expect(tab.page.get_by_role("link", name="Trattoria Uno")).to_be_visible()


def test_the_client_form_saves_origins_keywords_and_rating(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Bistro Deux")
    page = tab.page
    page.get_by_label("Allowed origins").fill("https://Bistro.example/\n*.bistro.example")
    page.get_by_label("Hide items mentioning").fill("rude")
    page.get_by_label("Minimum review rating").select_option("4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Allowed origins")).to_have_value("https://bistro.example\nhttps://*.bistro.example")


def test_an_invalid_origin_is_explained_next_to_the_field(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Café Trois")
    tab.page.get_by_label("Allowed origins").fill("https://bistro.example/menu")
    tab.page.get_by_role("button", name="Save").click()
    expect(tab.page.get_by_role("alert")).to_contain_text("is not an origin")


def test_sources_are_added_and_removed(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Quatre Saisons")
    page = tab.page
    page.get_by_label("Platform").select_option("tiktok")
    page.get_by_label("Account").fill("@quatre.saisons")
    page.get_by_role("button", name="Add source").click()
    expect(page.get_by_role("cell", name="quatre.saisons", exact=True)).to_be_visible()
    page.get_by_role("button", name="Remove tiktok quatre.saisons").click()
    expect(page.get_by_text("This client shows no account yet.")).to_be_visible()


def test_rotating_a_key_shows_the_new_one_once(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Cinq Étoiles")
    tab.page.get_by_role("button", name="Rotate secret key").click()
    expect(tab.page.locator('[data-key="secret"]')).to_contain_text("sk_")
    expect(tab.page.locator('[data-key="publishable"]')).to_have_count(0)
    expect(tab.page.get_by_text("keeps working for 24.0 hours")).to_be_visible()


def test_deactivating_and_activating_a_client(tab: Tab, server: str) -> None:
    create_client(tab.page, server, "Six Tables")
    tab.page.get_by_role("button", name="Deactivate client").click()
    expect(tab.page.get_by_role("heading", level=1)).to_contain_text("inactive")
    tab.page.get_by_role("button", name="Activate client").click()
    expect(tab.page.get_by_role("heading", level=1)).to_contain_text("active")


def test_refresh_now_queues_a_source(tab: Tab, server: str) -> None:
    tab.page.goto(f"{server}/admin/sources")
    tab.page.get_by_role("button", name="Refresh instagram lunacafe.berlin now").click()
    expect(tab.page.get_by_role("status")).to_contain_text("will be refreshed now")


def test_the_usage_page_draws_its_chart(tab: Tab, server: str) -> None:
    tab.page.goto(f"{server}/api/v1/social/instagram?api_key=pk_demo")
    tab.page.goto(f"{server}/admin/usage")
    expect(tab.page.get_by_role("img", name="Requests per day per client, last 30 days")).to_be_visible()
    expect(tab.page.locator("svg rect").first).to_be_attached()


def test_the_embed_generator_writes_code_for_the_chosen_source(tab: Tab, server: str) -> None:
    tab.page.goto(f"{server}/admin/embed")
    tab.page.get_by_label("Client and account").select_option(label="Demo (Luna Café Berlin) — youtube: lunacafeberlin")
    tab.page.get_by_label("Publishable key").fill("pk_demo")
    tab.page.get_by_role("button", name="Show embed code").click()
    expect(tab.page.locator("#code-script")).to_contain_text('data-platform="youtube" data-key="pk_demo"')
    expect(tab.page.locator("#code-react")).to_contain_text("/api/v1/social/youtube?handle=lunacafeberlin")


def test_logging_out_returns_to_the_login_form(tab: Tab, server: str) -> None:
    tab.page.get_by_role("button", name="Log out").click()
    expect(tab.page.get_by_label("Password")).to_be_visible()
    tab.page.goto(f"{server}/admin/clients")
    expect(tab.page.get_by_label("Password")).to_be_visible()


def test_the_dashboard_works_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, server)
        create_client(page, server, "No Script Diner")
        page.get_by_label("Hide items mentioning").fill("spam")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
    finally:
        context.close()
