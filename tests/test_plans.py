"""Plans: the default table, overrides from FLOWKICK_PLANS, and the minimum refresh interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowkick.clients import create_client
from flowkick.plans import DEFAULT_PLANS, SOLD, Plans
from tests.support.apps import ScriptedSource, running, scripted_app, until


def test_the_four_sold_plans_exist_by_default() -> None:
    assert set(SOLD) <= set(Plans().names())


def test_the_demo_plan_is_not_offered_to_clients() -> None:
    assert "demo" not in Plans().names() and "demo" in Plans()


def test_plans_grow_in_every_limit() -> None:
    free, starter, pro = (DEFAULT_PLANS[p] for p in ("free", "starter", "pro"))
    assert free.monthly_requests < starter.monthly_requests < pro.monthly_requests  # type: ignore[operator]
    assert free.max_sources < starter.max_sources < pro.max_sources  # type: ignore[operator]
    assert free.min_refresh_seconds > starter.min_refresh_seconds > pro.min_refresh_seconds


def test_an_unknown_plan_name_gets_the_free_limits_never_unlimited() -> None:
    assert Plans()["gold"] == DEFAULT_PLANS["free"]


def test_overrides_change_only_the_numbers_given() -> None:
    starter = Plans(json.dumps({"starter": {"monthly_requests": 50, "over_limit": "block"}}))["starter"]
    assert (starter.monthly_requests, starter.over_limit) == (50, "block")
    assert starter.max_sources == DEFAULT_PLANS["starter"].max_sources


def test_overrides_can_add_a_plan() -> None:
    agency = Plans(json.dumps({"agency": {"max_sources": 200}}))["agency"]
    assert (agency.name, agency.max_sources) == ("agency", 200)


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"free": {"monthly_requestz": 1}}',
                                 '{"free": {"monthly_requests": -1}}', '{"free": {"over_limit": "explode"}}'])
def test_bad_overrides_are_refused_with_a_message(raw: str) -> None:
    with pytest.raises(ValueError, match="FLOWKICK_PLANS|plan"):
        Plans(raw)


def test_a_plan_is_spent_at_its_limit_and_over_past_it() -> None:
    plan = Plans(json.dumps({"free": {"monthly_requests": 3}}))["free"]
    assert (plan.spent(2), plan.spent(3), plan.over(3), plan.over(4)) == (False, True, False, True)


@pytest.mark.anyio
async def test_a_source_is_not_refreshed_sooner_than_its_plans_minimum_interval(tmp_path: Path) -> None:
    source = ScriptedSource()
    app = scripted_app(tmp_path, source, ttl_instagram=60,
                       plans=json.dumps({"free": {"min_refresh_seconds": 600}}))
    async with running(app) as http:
        new = await create_client(app.state.db, "Café", {"instagram": ["cafe"]}, now=0)

        async def fetched_at() -> str | None:
            body = (await http.get("/api/v1/social/instagram", headers={"Authorization": f"Bearer {new.secret_key}"})).json()
            return body["fetched_at"]  # type: ignore[no-any-return]

        await app.state.refresher.run_once(["instagram"])
        first = await fetched_at()
        source.clock.advance(300)  # expired (ttl 60) but within the plan's 10 minutes
        await fetched_at()
        await app.state.refresher.run_once(["instagram"])
        assert await fetched_at() == first
        source.clock.advance(301)
        await until(lambda: _changed(fetched_at, first))


async def _changed(fetched_at: Any, first: str | None) -> bool:
    return await fetched_at() != first
