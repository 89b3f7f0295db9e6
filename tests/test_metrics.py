"""GET /metrics from prometheus_client: latency per route, run durations, an optional token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flowkick.metrics import RequestLatency
from tests.support.apps import demo_api, running, scripted_app, until

pytestmark = pytest.mark.anyio


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_latency_is_a_histogram_per_route_template(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        for _ in range(3):
            await api.get("/api/v1/social/youtube", params={"api_key": "pk_demo"})
        await api.get("/healthz")
        found = samples((await api.get("/metrics")).text)
    count = found[("flowkick_request_duration_seconds_count", (("route", "/api/v1/social/{platform}"),))]
    assert count >= 3 + 6  # these three, and the six the demo_api helper made while waiting for the feeds
    assert found[("flowkick_request_duration_seconds_count", (("route", "/healthz"),))] == 1


def test_latency_buckets_count_each_request_at_or_under_their_bound() -> None:
    latency = RequestLatency()
    for seconds in (0.0003, 0.0005, 0.002, 7.0):
        latency.observe("/healthz", seconds)
    registry = CollectorRegistry()
    registry.register(latency)
    found = samples(generate_latest(registry).decode())
    buckets = [found[("flowkick_request_duration_seconds_bucket", (("le", le), ("route", "/healthz")))]
               for le in ("0.0005", "0.001", "0.0025", "5.0", "+Inf")]
    assert buckets == [2, 2, 3, 3, 4]
    assert found[("flowkick_request_duration_seconds_count", (("route", "/healthz"),))] == 4
    assert found[("flowkick_request_duration_seconds_sum", (("route", "/healthz"),))] == pytest.approx(7.0028)


async def test_refresh_runs_are_timed_by_platform_and_outcome(tmp_path: Path) -> None:
    async with demo_api(tmp_path, own_fill=True) as api:
        found = samples((await api.get("/metrics")).text)
    runs = {labels: n for (name, labels), n in found.items() if name == "flowkick_refresh_run_duration_seconds_count"}
    assert runs[(("platform", "instagram"), ("status", "SUCCEEDED"))] >= 1


async def test_every_app_has_its_own_registry(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    async with demo_api(tmp_path / "one") as one, demo_api(tmp_path / "two") as two:
        await one.get("/healthz")
        first = samples((await one.get("/metrics")).text)
        second = samples((await two.get("/metrics")).text)
    healthz = ("flowkick_request_duration_seconds_count", (("route", "/healthz"),))
    assert first[healthz] == 1 and healthz not in second


async def test_a_metrics_token_keeps_strangers_out(tmp_path: Path) -> None:
    app = scripted_app(tmp_path, metrics_token="scrape-me")
    async with running(app) as http:
        await until(lambda: app.state.refresher.alive)
        stranger = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer guess"})
        scraper = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert (stranger.status_code, wrong.status_code, scraper.status_code) == (401, 401, 200)
    assert "flowkick_feeds" in scraper.text and "scrape-me" not in scraper.text


async def test_metrics_are_open_without_a_token(api_text: str) -> None:
    assert "# TYPE flowkick_requests_total counter" in api_text


@pytest.fixture
async def api_text(tmp_path: Path) -> str:
    async with demo_api(tmp_path) as api:
        answer: httpx.Response = await api.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text
