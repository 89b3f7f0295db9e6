"""The /admin dashboard over HTTP: sessions, CSRF, login limits, and what its forms do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from flowkick.admin.session import SESSION_COOKIE
from flowkick.clients import create_client
from tests.support.apps import ScriptedSource, running, scripted_app

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
PAGES = ["/admin", "/admin/clients", "/admin/clients/1", "/admin/sources", "/admin/runs", "/admin/usage",
         "/admin/embed", "/admin/embed?source=1:instagram:lunacafe.berlin&key=pk_demo"]


@dataclass
class Rig:
    app: Starlette
    http: httpx.AsyncClient
    source: ScriptedSource

    async def login(self, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/admin/login")
        return await self.http.post("/admin/login", data={"csrf": csrf_of(form.text), "password": password})

    async def post(self, path: str, data: dict[str, Any] | None = None, page: str = "/admin/clients") -> httpx.Response:
        token = csrf_of((await self.http.get(page)).text)
        return await self.http.post(path, data={"csrf": token, **(data or {})})

    async def feed(self, key: str) -> httpx.Response:
        return await self.http.get("/api/v1/social/instagram", headers={"Authorization": f"Bearer {key}"})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source, admin_password=PASSWORD, secret_key="test-secret")
    async with running(app) as http:
        yield Rig(app, http, source)


@pytest.fixture
async def admin(rig: Rig) -> Rig:
    assert (await rig.login()).status_code == 303
    return rig


# -- sessions --------------------------------------------------------------------------------------------

async def test_the_dashboard_does_not_exist_without_a_password(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as http:
        assert (await http.get("/admin")).status_code == 404
        assert (await http.get("/admin/login")).status_code == 404


async def test_pages_send_a_visitor_without_a_session_to_the_login_form(rig: Rig) -> None:
    reply = await rig.http.get("/admin/clients")
    assert reply.status_code == 303 and reply.headers["location"] == "/admin/login"


async def test_the_right_password_opens_the_dashboard(rig: Rig) -> None:
    reply = await rig.login()
    assert reply.status_code == 303 and reply.headers["location"] == "/admin"
    assert (await rig.http.get("/admin")).status_code == 200


async def test_the_session_cookie_is_httponly_and_samesite_lax(rig: Rig) -> None:
    cookie = next(c for c in (await rig.login()).headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie


async def test_a_wrong_password_is_refused(rig: Rig) -> None:
    reply = await rig.login("guess")
    assert reply.status_code == 401 and "Wrong password" in reply.text
    assert (await rig.http.get("/admin")).status_code == 303


async def test_a_login_without_the_forms_token_is_refused(rig: Rig) -> None:
    reply = await rig.http.post("/admin/login", data={"password": PASSWORD})
    assert reply.status_code == 403 and SESSION_COOKIE not in reply.cookies


async def test_logging_out_ends_the_session(admin: Rig) -> None:
    reply = await admin.post("/admin/logout", page="/admin")
    assert reply.status_code == 303
    assert (await admin.http.get("/admin")).status_code == 303


async def test_a_form_without_the_csrf_token_is_refused(admin: Rig) -> None:
    reply = await admin.http.post("/admin/clients", data={"name": "Sneaky", "plan": "free"})
    assert reply.status_code == 403 and "Sneaky" not in (await admin.http.get("/admin/clients")).text


async def test_a_form_with_another_sessions_token_is_refused(admin: Rig) -> None:
    reply = await admin.http.post("/admin/clients", data={"csrf": "x" * 32, "name": "Sneaky", "plan": "free"})
    assert reply.status_code == 403


async def test_a_tampered_session_cookie_counts_as_logged_out(admin: Rig) -> None:
    value = admin.http.cookies[SESSION_COOKIE]
    admin.http.cookies.clear()
    admin.http.cookies.set(SESSION_COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"), path="/admin")
    assert (await admin.http.get("/admin")).status_code == 303


async def test_an_expired_session_cookie_counts_as_logged_out(admin: Rig) -> None:
    admin.source.clock.advance(12 * 3600 - 1)
    assert (await admin.http.get("/admin")).status_code == 200
    admin.source.clock.advance(2)
    assert (await admin.http.get("/admin")).status_code == 303


async def test_failed_logins_are_rate_limited_per_address(rig: Rig) -> None:
    for _ in range(5):
        assert (await rig.login("guess")).status_code == 401
    limited = await rig.login()
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    rig.source.clock.advance(15 * 60 + 1)
    assert (await rig.login()).status_code == 303


# -- pages and forms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders(admin: Rig, path: str) -> None:
    reply = await admin.http.get(path)
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    assert "<h1>" in reply.text


async def test_creating_a_client_shows_working_keys_once(admin: Rig) -> None:
    reply = await admin.post("/admin/clients", {"name": "Luna Bistro", "plan": "starter", "email": "a@b.example"})
    keys = dict(re.findall(r'data-key="(\w+)">([^<]+)<', reply.text))
    assert set(keys) == {"publishable", "secret"} and keys["publishable"].startswith("pk_")
    listing = (await admin.http.get("/admin/clients")).text
    assert "Luna Bistro" in listing and keys["publishable"] not in listing and keys["secret"] not in listing


async def test_editing_a_client_saves_plan_origins_keywords_and_rating(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {}, now=0)
    reply = await admin.post(f"/admin/clients/{new.id}", {
        "name": "Café Luna", "plan": "pro", "active": "on", "origins": "https://Cafe.example/\n*.cafe.example",
        "keywords": "Rude\n", "min_rating": "4"}, page=f"/admin/clients/{new.id}")
    assert reply.status_code == 303
    page = (await admin.http.get(f"/admin/clients/{new.id}")).text
    assert "Café Luna" in page and "https://cafe.example\nhttps://*.cafe.example" in page
    assert '<option value="pro" selected>' in page and '<option value="4" selected>' in page and "rude" in page


async def test_the_demo_clients_own_plan_stays_selected(admin: Rig) -> None:
    assert '<option value="demo" selected>' in (await admin.http.get("/admin/clients/1")).text


async def test_an_invalid_origin_is_shown_and_nothing_is_saved(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {}, now=0)
    reply = await admin.post(f"/admin/clients/{new.id}", {"name": "Renamed", "plan": "free", "origins": "https://a/b"},
                             page=f"/admin/clients/{new.id}")
    assert reply.status_code == 400 and "is not an origin" in reply.text
    assert "Renamed" not in (await admin.http.get("/admin/clients")).text


async def test_deactivating_a_client_makes_its_keys_answer_403(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {"instagram": ["cafe"]}, now=0)
    await admin.post(f"/admin/clients/{new.id}/active", {"active": "0"})
    reply = await admin.feed(new.secret_key)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "client_inactive"


async def test_a_rotated_key_is_replaced_and_the_old_one_works_during_the_grace_period(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {"instagram": ["cafe"]}, now=0)
    reply = await admin.post(f"/admin/clients/{new.id}/rotate", {"kind": "secret"})
    (fresh,) = re.findall(r'data-key="secret">([^<]+)<', reply.text)
    assert fresh != new.secret_key and (await admin.feed(fresh)).status_code in (200, 202)
    admin.source.clock.advance(24 * 3600 - 1)
    assert (await admin.feed(new.secret_key)).status_code in (200, 202)


async def test_a_rotated_key_stops_working_when_the_grace_period_ends(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {"instagram": ["cafe"]}, now=0)
    reply = await admin.post(f"/admin/clients/{new.id}/rotate", {"kind": "publishable"})
    (fresh,) = re.findall(r'data-key="publishable">([^<]+)<', reply.text)
    admin.source.clock.advance(24 * 3600)
    old = await admin.feed(new.publishable_key)
    assert old.status_code == 401 and old.json()["error"]["code"] == "key_expired"
    assert (await admin.feed(fresh)).status_code in (200, 202)


async def test_adding_and_removing_a_source(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {}, now=0)
    page = f"/admin/clients/{new.id}"
    await admin.post(f"{page}/sources", {"platform": "tiktok", "handle": "@Luna.Cafe"}, page=page)
    assert (await admin.http.get("/api/v1/social/tiktok", headers={"Authorization": f"Bearer {new.secret_key}"})).status_code in (200, 202)
    source_id = re.search(r"/sources/(\d+)/remove", (await admin.http.get(page)).text)
    assert source_id
    await admin.post(f"{page}/sources/{source_id.group(1)}/remove", page=page)
    assert (await admin.http.get("/api/v1/social/tiktok", headers={"Authorization": f"Bearer {new.secret_key}"})).status_code == 404


async def test_an_invalid_handle_is_shown_on_the_client_page(admin: Rig) -> None:
    new = await create_client(admin.app.state.db, "Café", {}, now=0)
    page = f"/admin/clients/{new.id}"
    reply = await admin.post(f"{page}/sources", {"platform": "tiktok", "handle": "no spaces/here"}, page=page)
    assert reply.status_code == 400 and "not a valid tiktok handle" in reply.text


async def test_refresh_now_fetches_a_fresh_source_again(admin: Rig) -> None:
    await admin.app.state.refresher.run_once()
    calls = len(admin.source.calls)
    reply = await admin.post("/admin/sources/1/refresh", page="/admin/sources")
    assert reply.status_code == 303 and "queued=1" in reply.headers["location"]
    assert (await admin.app.state.refresher.run_once()).runs + len(admin.source.calls) > calls


async def test_the_usage_page_draws_requests_per_client(admin: Rig) -> None:
    for _ in range(3):
        await admin.feed("pk_demo")
    page = (await admin.http.get("/admin/usage")).text
    assert "<svg" in page and "<rect" in page and "Demo (Luna Café Berlin): " in page


async def test_client_names_are_escaped_on_every_page(admin: Rig) -> None:
    await create_client(admin.app.state.db, "<script>alert(1)</script>", {"instagram": ["cafe"]}, now=0)
    for path in ("/admin/clients", "/admin/usage", "/admin/embed"):
        text = (await admin.http.get(path)).text
        assert "<script>alert(1)" not in text


async def test_the_embed_generator_never_puts_a_secret_key_in_page_code(admin: Rig) -> None:
    reply = await admin.http.get("/admin/embed", params={"source": "1:instagram:lunacafe.berlin", "key": "sk_demo"})
    assert "sk_demo" not in reply.text and "secret key" in reply.text
    assert 'data-key=&#34;pk_YOUR_PUBLISHABLE_KEY&#34;' in reply.text


async def test_the_embed_generator_writes_the_three_snippets(admin: Rig) -> None:
    reply = await admin.http.get("/admin/embed", params={"source": "1:instagram:lunacafe.berlin", "key": "pk_demo"})
    assert 'data-platform="instagram" data-key="pk_demo" data-handle="lunacafe.berlin"' in reply.text.replace("&#34;", '"')
    assert '[flowkick platform="instagram"' in reply.text.replace("&#34;", '"')
    assert "/api/v1/social/instagram?handle=lunacafe.berlin&amp;api_key=pk_demo" in reply.text
