"""Where collection costs show: `/admin` (budget state, cost per source and per client) and
the management API (a client's share of each source, and whether a budget holds it).
The app is real; the month's ledger is written as the refresher writes it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from flowkick import costs
from flowkick.clients import NewClient, create_client
from flowkick.quotas import month_of
from tests.support.apps import running, scripted_app

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = scripted_app(tmp_path, admin_password=PASSWORD, secret_key="test-secret",
                       apify_budget_usd=1.0, apify_plan_budgets='{"free": 0.5, "pro": 100}')
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def spend(http: httpx.AsyncClient, shares: dict[int, float]) -> None:
    """A month's runs as the refresher records them."""
    state = http.app.state  # type: ignore[attr-defined]
    await state.db.write(lambda s: costs.record(s, state.clock.now(), shares, dict.fromkeys(shares, 10)))


async def two_clients_sharing_a_cafe(http: httpx.AsyncClient) -> tuple[NewClient, NewClient]:
    state = http.app.state  # type: ignore[attr-defined]
    now = state.clock.now()
    free = await create_client(state.db, "Free café", {"instagram": ["shared.cafe"]}, now=now, plan="free")
    pro = await create_client(state.db, "Agency", {"instagram": ["shared.cafe", "own.cafe"]}, now=now, plan="pro")
    return free, pro


async def signed_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    await http.post("/admin/login", data={"csrf": csrf.group(1), "password": PASSWORD})


async def source_ids(http: httpx.AsyncClient, key: str) -> dict[str, int]:
    body = (await http.get("/api/v1/sources", headers={"Authorization": f"Bearer {key}"})).json()
    return {source["handle"]: source["id"] for source in body["sources"]}


async def test_the_api_lists_each_sources_cost_as_the_clients_share(http: httpx.AsyncClient) -> None:
    free, pro = await two_clients_sharing_a_cafe(http)
    ids = await source_ids(http, pro.secret_key)
    await spend(http, {ids["shared.cafe"]: 0.8, ids["own.cafe"]: 0.1})
    body = (await http.get("/api/v1/sources", headers={"Authorization": f"Bearer {pro.secret_key}"})).json()
    assert {s["handle"]: s["cost_usd_month"] for s in body["sources"]} == {"shared.cafe": 0.4, "own.cafe": 0.1}


async def test_usage_reports_the_months_cost_and_the_budget_hold(http: httpx.AsyncClient) -> None:
    free, pro = await two_clients_sharing_a_cafe(http)
    ids = await source_ids(http, pro.secret_key)
    await spend(http, {ids["shared.cafe"]: 1.2})
    state = http.app.state  # type: ignore[attr-defined]
    await state.refresher.budgets.state(fresh=True)
    usage = (await http.get("/api/v1/usage", headers={"Authorization": f"Bearer {free.secret_key}"})).json()
    assert usage["apify"] == {"month": month_of(state.clock.now()), "cost_usd": 0.6, "refresh_held": True}


async def test_admin_overview_says_when_budgets_stop_refreshing(http: httpx.AsyncClient) -> None:
    free, pro = await two_clients_sharing_a_cafe(http)
    ids = await source_ids(http, pro.secret_key)
    await spend(http, {ids["shared.cafe"]: 1.2})
    await signed_in(http)
    page = (await http.get("/admin")).text
    assert 'data-budget="exhausted"' in page and "refreshing stopped" in page
    assert 'data-plan-budget="free"' in page and 'data-plan-budget="pro"' not in page


async def test_admin_lists_the_cost_of_each_source_and_client(http: httpx.AsyncClient) -> None:
    free, pro = await two_clients_sharing_a_cafe(http)
    ids = await source_ids(http, pro.secret_key)
    await spend(http, {ids["shared.cafe"]: 0.8, ids["own.cafe"]: 0.1})
    await signed_in(http)
    sources, clients = (await http.get("/admin/sources")).text, (await http.get("/admin/clients")).text
    assert "$0.8000" in sources and "$0.1000" in sources
    assert "$0.4000" in clients and "$0.5000" in clients
