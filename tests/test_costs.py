"""What collection costs: each run's price from its pricing info (pay-per-result runs carry no
`usageTotalUsd`), shared among the sources and clients it served, and the monthly budgets
that stop refreshing. Runs come from the fake Apify through the official client.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from apify_client._models import Run

from flowkick.budgets import parse_plan_budgets
from flowkick.clients import create_client
from flowkick.costs import charged_results, client_costs, month_total, plan_costs, run_cost, source_costs
from flowkick.quotas import month_of
from tests.support.apify_rig import ApifyRig, apify_rig
from tests.support.fake_apify import FakeApify
from tests.support.samples import SAMPLES

pytestmark = pytest.mark.anyio

POSTS = 20
LUNA, SOL = "lunacafe.berlin", "panaderia.sol"
RUN: dict[str, Any] = json.loads((SAMPLES / "run-succeeded.json").read_text())["data"]


def run_with(**changes: Any) -> Run:
    data = copy.deepcopy(RUN)
    data.update(changes)
    return Run.model_validate(data)


@pytest.fixture
async def rig(tmp_path: Path, fake_apify: FakeApify) -> AsyncIterator[ApifyRig]:
    async with apify_rig(tmp_path, fake_apify) as made:
        yield made


# --- one run's cost -------------------------------------------------------------------------


def test_pay_per_result_cost_is_price_times_results_whatever_usage_total_says() -> None:
    assert run_cost(run_with(usageTotalUsd=99.0), 8) == pytest.approx(0.0027 * 8)


def test_results_charged_are_the_dataset_rows_up_to_max_items() -> None:
    assert (charged_results(run_with(), 200), charged_results(run_with(), 30)) == (80, 30)


def test_apifys_own_count_of_dataset_items_wins_when_the_run_reports_it() -> None:
    assert charged_results(run_with(chargedEventCounts={"apify-default-dataset-item": 7}), 30) == 7


def test_pay_per_event_cost_sums_the_charged_events_at_their_prices() -> None:
    pricing = {**RUN["pricingInfo"], "pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": {
        "actor-start": {"eventTitle": "Start", "eventDescription": "-", "eventPriceUsd": 0.02},
        "post": {"eventTitle": "Post", "eventDescription": "-", "eventPriceUsd": 0.001},
    }}}
    run = run_with(pricingInfo=pricing, chargedEventCounts={"actor-start": 1, "post": 30})
    assert run_cost(run, 30) == pytest.approx(0.02 + 0.03)


def test_a_run_without_pricing_costs_the_usage_it_reports() -> None:
    assert run_cost(run_with(pricingInfo=None, usageTotalUsd=0.12), 8) == 0.12


def test_cost_never_exceeds_the_runs_charge_cap() -> None:
    run = run_with(options={**RUN["options"], "maxTotalChargeUsd": 0.05})
    assert run_cost(run, 80) == 0.05


# --- who it was for ---------------------------------------------------------------------------


async def test_a_runs_cost_is_shared_by_its_sources_by_the_rows_each_accounted_for(rig: ApifyRig) -> None:
    rig.fake.world.set_post_count("instagram", SOL, 5)
    await rig.track("instagram", LUNA, SOL)
    await rig.refresher.run_once()
    (run,) = await rig.runs()
    luna, sol = await rig.feed("instagram", LUNA), await rig.feed("instagram", SOL)
    costs = await source_costs(rig.db, month_of(rig.clock.now()))
    assert costs == {luna.source_id: pytest.approx(POSTS * 0.0027), sol.source_id: pytest.approx(5 * 0.0027)}
    assert sum(costs.values()) == pytest.approx(run.cost_usd)


async def test_clients_sharing_a_source_share_its_cost(rig: ApifyRig) -> None:
    await create_client(rig.db, "Café", {"instagram": [LUNA]}, now=rig.clock.now(), plan="starter")
    await create_client(rig.db, "Agency", {"instagram": [LUNA, SOL]}, now=rig.clock.now(), plan="pro")
    await rig.refresher.run_once()
    period = month_of(rig.clock.now())
    half = POSTS * 0.0027 / 2
    assert sorted((await client_costs(rig.db, period)).values()) == [pytest.approx(half), pytest.approx(3 * half)]
    assert await plan_costs(rig.db, period) == {"starter": pytest.approx(half), "pro": pytest.approx(3 * half)}


async def test_pay_per_event_runs_are_costed_from_their_charged_events(rig: ApifyRig) -> None:
    await rig.track("youtube", "lunacafeberlin")
    await rig.refresher.run_once()
    (run,) = await rig.runs()
    assert run.cost_usd == pytest.approx(0.001 + 0.005 * POSTS) == rig.fake.runs[0].charged_usd


async def test_a_failed_runs_cost_is_still_recorded_and_shared(rig: ApifyRig) -> None:
    rig.fake.plan_runs(status="FAILED", items=rig.fake.make_items("instagram", LUNA, 3))
    await rig.track("instagram", LUNA, SOL)
    await rig.refresher.run_once()
    assert await month_total(rig.db, month_of(rig.clock.now())) == pytest.approx(3 * 0.0027)


# --- budgets ------------------------------------------------------------------------------------


async def test_a_spent_monthly_budget_stops_refreshing_and_keeps_serving(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, apify_budget_usd=0.01) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        fake_apify.world.publish("instagram", LUNA)
        await rig.make_due("instagram", LUNA)
        summary = await rig.refresher.run_once()
        row, state = await rig.feed("instagram", LUNA), await rig.refresher.budgets.state()
    assert (summary.runs, fake_apify.run_count(), row.item_count, row.status) == (0, 1, POSTS, "ok")
    assert state.exhausted and state.to_json()["spent_usd"] == pytest.approx(POSTS * 0.0027)


async def test_an_operator_can_still_force_a_refresh_past_the_budget(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, apify_budget_usd=0.01) as rig:
        await rig.track("instagram", LUNA)
        await rig.refresher.run_once()
        rig.clock.advance(120)
        rig.refresher.refresh_now((await rig.feed("instagram", LUNA)).source_id)
        assert (await rig.refresher.run_once()).runs == 1


async def test_a_spent_plan_budget_holds_only_sources_no_other_plan_shows(tmp_path: Path, fake_apify: FakeApify) -> None:
    async with apify_rig(tmp_path, fake_apify, apify_plan_budgets='{"free": 0.01}') as rig:
        await create_client(rig.db, "Free café", {"instagram": [LUNA, SOL]}, now=rig.clock.now(), plan="free")
        await create_client(rig.db, "Pro café", {"instagram": [SOL]}, now=rig.clock.now(), plan="pro")
        await rig.refresher.run_once()
        await rig.make_due("instagram", LUNA, SOL)
        await rig.refresher.run_once()
        asked = [url for run in fake_apify.runs[1:] for url in run.input["directUrls"]]
        state = await rig.refresher.budgets.state()
    assert asked == [f"https://www.instagram.com/{SOL}/"] and state.exhausted_plans == ["free"]


def test_plan_budgets_must_be_amounts_per_plan() -> None:
    assert parse_plan_budgets('{"free": 5}') == {"free": 5.0}
    with pytest.raises(ValueError, match="FLOWKICK_APIFY_PLAN_BUDGETS"):
        parse_plan_budgets('{"free": "five"}')
