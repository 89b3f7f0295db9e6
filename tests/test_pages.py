"""Demo mode, the landing page and /healthz."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flowkick import keys
from flowkick.clients import DEMO_HANDLES, create_client, list_clients
from flowkick.platforms import PLATFORMS
from flowkick.sources.demo import demo_items
from tests.support.apps import running, scripted_app
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.anyio


async def test_demo_mode_creates_the_documented_demo_client(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app):
        (demo,) = await list_clients(app.state.db)
    assert {p for p, _ in demo.sources} == set(PLATFORMS)
    assert dict(demo.sources) == DEMO_HANDLES


async def test_outside_demo_mode_no_fixed_key_works(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)):
        pass
    app = scripted_app(tmp_path, apify_token="apify_api_token")
    async with running(app) as client:
        answer = await client.get("/api/v1/social/instagram", params={"api_key": keys.DEMO_PUBLISHABLE_KEY})
        remaining = await list_clients(app.state.db)
    assert answer.status_code == 401 and remaining == []


async def test_outside_demo_mode_other_clients_are_kept(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, apify_token="apify_api_token")
    async with running(app):
        await create_client(app.state.db, "Real", {"instagram": ["real.cafe"]}, now=0)
    again = scripted_app(tmp_path, apify_token="apify_api_token")
    async with running(again):
        assert [c.name for c in await list_clients(again.state.db)] == ["Real"]


async def test_landing_page_shows_the_demo_keys_and_json_links(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "pk_demo" in page.text and "sk_demo" in page.text and 'href="/examples/"' in page.text
    for platform in PLATFORMS:
        assert f'href="/api/v1/social/{platform}?api_key=pk_demo"' in page.text


async def test_landing_page_outside_demo_mode_shows_no_keys(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path, apify_token="t")) as client:
        page = await client.get("/")
    assert "pk_demo" not in page.text and "flowkick clients add" in page.text


async def test_healthz_reports_database_and_refresher(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        health = await client.get("/healthz")
    assert health.status_code == 200
    assert {k: health.json()[k] for k in ("status", "database", "refresher")} == {
        "status": "ok", "database": "ok", "refresher": "ok"}


async def test_healthz_is_503_when_the_refresher_stopped(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        await app.state.refresher.stop()
        health = await client.get("/healthz")
    assert health.status_code == 503 and health.json()["refresher"] == "stopped"


async def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path, postgres_cluster: PostgresCluster,
                                                                 postgres_database_url: str) -> None:
    app = scripted_app(tmp_path, database_url=postgres_database_url)
    async with running(app) as client:
        await app.state.refresher.stop()  # nothing else may hold a connection when the database goes away
        await app.state.db.engine.dispose()
        postgres_cluster.drop_database(postgres_database_url.rsplit("/", 1)[1])
        health = await client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "unreachable"


async def test_demo_items_are_the_same_for_the_same_handle() -> None:
    assert demo_items("instagram", "a.cafe", 6, 1e9) == demo_items("instagram", "a.cafe", 6, 1e9)
    assert demo_items("instagram", "a.cafe", 6, 1e9) != demo_items("instagram", "b.cafe", 6, 1e9)


async def test_demo_reviews_carry_ratings_and_owner_replies() -> None:
    reviews = demo_items("google_reviews", "ChIJx", 12, 1e9)
    assert all(r["type"] == "review" and 1 <= r["rating"] <= 5 for r in reviews)
    assert any(r["reply"] for r in reviews) and any(r["text"] is None for r in reviews)


async def test_every_demo_image_is_served(tmp_path: Path) -> None:
    images = {m["url"] for p in PLATFORMS for i in demo_items(p, "a", 24, 1e9) for m in i["media"]}
    async with running(scripted_app(tmp_path)) as client:
        answers = [await client.get(url) for url in sorted(images)]
    assert len(images) >= 10 and all(a.status_code == 200 for a in answers)


async def test_metrics_report_requests_feeds_and_runs_in_prometheus_text(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        for _ in range(40):
            if (await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})).status_code == 200:
                break
            await asyncio.sleep(0.05)
        await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo"})
        text = (await client.get("/metrics")).text
    samples = {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}
    assert samples["flowkick_requests_total"] >= 2 and samples["flowkick_cache_hits_total"] >= 1
    feeds = {k: v for k, v in samples.items() if k.startswith("flowkick_feeds{")}
    assert sum(feeds.values()) == len(PLATFORMS) and feeds['flowkick_feeds{status="ok"}'] >= 1
    assert samples['flowkick_refresh_runs_total{platform="instagram",status="SUCCEEDED"}'] >= 1
    assert samples["flowkick_refresher_up"] == 1
    assert "# TYPE flowkick_apify_cost_usd_total counter" in text
