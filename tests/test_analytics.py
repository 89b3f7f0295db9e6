"""Analytics without cookies: a view and an opened post are counted once each, flushed with
the usage counters, kept across restarts, refused beyond each limit, and leave neither a
cookie nor an address behind; in Chromium the widget sends them with sendBeacon, and
nothing at all under Global Privacy Control."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Request
from sqlmodel import select
from starlette.applications import Starlette

from flowkick import snippets
from flowkick.tables import ItemClicks
from tests.support.apps import ScriptedSource, scripted_app, until
from tests.support.browser import Tab, another_site, open_tab
from tests.support.servers import demo_app, live_app, warm

SENDER = "203.0.113.77"
SECRET = {"authorization": "Bearer sk_demo"}


@asynccontextmanager
async def events_app(tmp_path: Path, source: ScriptedSource | None = None,
                     **settings: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The demo app with its lifespan, called from the address SENDER, its feeds fetched."""
    app = scripted_app(tmp_path, source, usage_flush_seconds=3600, **settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(SENDER, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await until(lambda: _instagram_ids(client))
            yield app, client


async def _instagram_ids(client: httpx.AsyncClient) -> list[str]:
    reply = await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
    return [i["id"] for i in reply.json()["items"]] if reply.status_code == 200 else []


async def send(client: httpx.AsyncClient, body: str, key: str = "pk_demo") -> httpx.Response:
    """What navigator.sendBeacon sends: a text/plain POST with the key in the URL."""
    return await client.post("/api/v1/events", params={"api_key": key}, content=body,
                             headers={"content-type": "text/plain;charset=UTF-8"})


async def today(client: httpx.AsyncClient) -> dict[str, Any]:
    days = (await client.get("/api/v1/usage", headers=SECRET)).json()["days"]
    return dict(days[-1]) if days else {}


@pytest.mark.anyio
async def test_a_view_and_a_click_are_counted_once_each_in_the_usage_api(tmp_path: Path) -> None:
    async with events_app(tmp_path) as (_, client):
        item = (await _instagram_ids(client))[0]
        assert (await send(client, '{"type": "view"}')).status_code == 204
        assert (await send(client, f'{{"type": "click", "item": "{item}"}}')).status_code == 204
        counted = await today(client)
    assert (counted["views"], counted["clicks"]) == (1, 1)


@pytest.mark.anyio
async def test_events_answer_without_a_cookie_or_a_body(tmp_path: Path) -> None:
    async with events_app(tmp_path) as (_, client):
        reply = await send(client, '{"type": "view"}')
    assert reply.status_code == 204 and reply.content == b""
    assert "set-cookie" not in reply.headers


@pytest.mark.anyio
async def test_counts_survive_a_restart(tmp_path: Path) -> None:
    source = ScriptedSource()
    async with events_app(tmp_path, source) as (_, client):
        item = (await _instagram_ids(client))[0]
        for body in ('{"type": "view"}', '{"type": "view"}', f'{{"type": "click", "item": "{item}"}}'):
            await send(client, body)
    async with events_app(tmp_path, source) as (_, client):
        counted = await today(client)
    assert (counted["views"], counted["clicks"]) == (2, 1)


@pytest.mark.anyio
async def test_opened_posts_are_counted_per_post_and_day(tmp_path: Path) -> None:
    async with events_app(tmp_path) as (app, client):
        first, second = (await _instagram_ids(client))[:2]
        for item in (first, second, first):
            await send(client, f'{{"type": "click", "item": "{item}"}}')
        await app.state.usage.flush()
        rows = (await app.state.db.read(lambda s: s.execute(select(ItemClicks)))).scalars().all()
    assert {(r.client_id, r.item_id): r.clicks for r in rows} == {(1, first): 2, (1, second): 1}


@pytest.mark.anyio
async def test_no_address_is_written_anywhere(tmp_path: Path) -> None:
    async with events_app(tmp_path) as (_, client):
        item = (await _instagram_ids(client))[0]
        await send(client, '{"type": "view"}')
        await send(client, f'{{"type": "click", "item": "{item}"}}')
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("flowkick.db*"))
    assert b"item_clicks" in stored and SENDER.encode() not in stored


@pytest.mark.anyio
async def test_a_sender_beyond_its_rate_is_refused(tmp_path: Path) -> None:
    async with events_app(tmp_path, analytics_per_minute=3) as (_, client):
        answers = [(await send(client, '{"type": "view"}')) for _ in range(4)]
        counted = await today(client)
    assert [a.status_code for a in answers] == [204, 204, 204, 429]
    assert int(answers[-1].headers["retry-after"]) > 0 and answers[-1].json()["error"]["code"] == "events_rate_limited"
    assert counted["views"] == 3


@pytest.mark.anyio
async def test_a_post_beyond_its_daily_clicks_is_refused(tmp_path: Path) -> None:
    async with events_app(tmp_path, analytics_item_clicks=2) as (_, client):
        first, second = (await _instagram_ids(client))[:2]
        answers = [(await send(client, f'{{"type": "click", "item": "{first}"}}')).status_code for _ in range(3)]
        other = (await send(client, f'{{"type": "click", "item": "{second}"}}')).status_code
    assert answers == [204, 204, 429] and other == 204


@pytest.mark.anyio
async def test_a_client_beyond_its_daily_events_is_refused_until_the_next_day(tmp_path: Path) -> None:
    source = ScriptedSource()
    async with events_app(tmp_path, source, analytics_daily_events=2) as (_, client):
        answers = [(await send(client, '{"type": "view"}')).status_code for _ in range(3)]
        source.clock.advance(86400)
        next_day = (await send(client, '{"type": "view"}')).status_code
    assert answers == [204, 204, 429] and next_day == 204


@pytest.mark.anyio
@pytest.mark.parametrize("body", ["", "not json", '{"type": "like"}', '{"type": "click"}',
                                  '{"type": "click", "item": "<script>"}', '{"type": "click", "item": "myspace:1"}',
                                  '["view"]', '{"type": "view", "pad": "' + "x" * 2000 + '"}'])
async def test_malformed_events_are_refused(tmp_path: Path, body: str) -> None:
    async with events_app(tmp_path) as (_, client):
        reply = await send(client, body)
        counted = await today(client)
    assert reply.status_code in (400, 413)
    assert counted.get("views", 0) == counted.get("clicks", 0) == 0


@pytest.mark.anyio
async def test_unknown_and_secret_keys_are_refused(tmp_path: Path) -> None:
    async with events_app(tmp_path) as (_, client):
        assert (await send(client, '{"type": "view"}', key="pk_nobody")).status_code == 401
        assert (await send(client, '{"type": "view"}', key="sk_demo")).status_code == 400


@pytest.mark.anyio
async def test_admin_charts_views_and_clicks_and_lists_the_most_opened_posts(tmp_path: Path) -> None:
    async with events_app(tmp_path, admin_password="pw", secret_key="s") as (_, client):
        first, second = (await _instagram_ids(client))[:2]
        for body in ('{"type": "view"}', '{"type": "view"}', f'{{"type": "click", "item": "{second}"}}',
                     f'{{"type": "click", "item": "{first}"}}', f'{{"type": "click", "item": "{second}"}}'):
            await send(client, body)
        form = (await client.get("/admin/login")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]  # type: ignore[index]
        await client.post("/admin/login", data={"csrf": csrf, "password": "pw"})
        page = (await client.get("/admin/analytics")).text
    assert 'aria-label="Feed views per day, last 30 days"' in page and ": 2</title>" in page
    top = re.findall(r"<tr><td><code>([^<]+)</code></td><td>[^<]*</td><td>(\d+)</td>", page)
    assert top == [(second, "2"), (first, "1")]


# -- in Chromium -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_app(demo_app(tmp_path_factory.mktemp("analytics") / "flowkick.db")) as url:
        warm(url, ("instagram",))
        yield url


def counted(url: str) -> tuple[int, int]:
    """Today's views and clicks, from the usage API (which flushes the counters first)."""
    days = httpx.get(f"{url}/api/v1/usage", headers=SECRET).json()["days"]
    return (days[-1]["views"], days[-1]["clicks"]) if days else (0, 0)


def wait_for(tab: Tab, condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        tab.page.wait_for_timeout(50)
    raise AssertionError("the condition never held")


def cafe_page(url: str) -> str:
    code = snippets.snippet(url, "instagram", "pk_demo", {"limit": "6"})
    return f"<!doctype html><html lang='en'><head><title>Café</title></head><body>{code}</body></html>"


def test_the_widget_reports_one_view_and_one_click_without_cookies(browser: Browser, demo: str) -> None:
    url = demo
    views, clicks = counted(url)
    beacons: list[Request] = []
    with open_tab(browser) as tab, another_site(cafe_page(url)) as host:
        tab.page.on("request", lambda r: beacons.append(r) if "/api/v1/events" in r.url else None)
        tab.page.goto(host)
        tab.wait_for_items(6)
        wait_for(tab, lambda: counted(url) == (views + 1, clicks))
        tab.page.locator("[data-item] .fk-link").nth(1).click()
        tab.page.locator("dialog.fk-lb[open]").wait_for()
        wait_for(tab, lambda: counted(url) == (views + 1, clicks + 1))
        tab.page.keyboard.press("Escape")
        tab.page.mouse.wheel(0, 400)
        tab.page.wait_for_load_state("networkidle")
        assert counted(url) == (views + 1, clicks + 1)
        assert tab.page.context.cookies() == [] and tab.page.evaluate("document.cookie") == ""
    assert [b.method for b in beacons] == ["POST", "POST"]
    assert all("cookie" not in b.headers for b in beacons)


def test_global_privacy_control_sends_nothing(browser: Browser, demo: str) -> None:
    url = demo
    requests: list[str] = []
    with open_tab(browser) as tab, another_site(cafe_page(url)) as host:
        tab.page.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
        tab.page.on("request", lambda r: requests.append(r.url))
        tab.page.goto(host)
        tab.wait_for_items(6)
        tab.page.locator("[data-item] .fk-link").first.click()
        tab.page.locator("dialog.fk-lb[open]").wait_for()
        tab.page.wait_for_load_state("networkidle")
    assert [u for u in requests if "/api/v1/events" in u or "analytics.js" in u] == []
    assert any("lightbox.js" in u for u in requests)

