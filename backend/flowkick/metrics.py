"""Prometheus metrics: what an operator graphs and alerts on.

Request counters come from this process's memory (never a database write per request);
feed, run and cost figures are read from the database when scraped, so every process of
a deployment reports the same shared state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from flowkick.tables import FeedCache, RefreshRun
from flowkick.usage import UsageCounter


async def render(session: AsyncSession, usage: UsageCounter, refresher_alive: bool, now: float) -> str:
    feeds = (await session.execute(select(FeedCache.status, func.count()).group_by(FeedCache.status))).all()
    stale = (await session.execute(select(func.count()).where(FeedCache.expires_at <= now))).scalar_one()
    runs = (await session.execute(select(RefreshRun.platform, RefreshRun.status, func.count(),
                                         func.coalesce(func.sum(RefreshRun.cost_usd), 0.0))
                                  .group_by(RefreshRun.platform, RefreshRun.status))).all()
    requests, hits, errors = usage.totals
    return "".join([
        _metric("flowkick_requests_total", "counter", "Feed requests answered by this process.", [({}, requests)]),
        _metric("flowkick_cache_hits_total", "counter", "Feed requests answered from memory.", [({}, hits)]),
        _metric("flowkick_errors_total", "counter", "Feed requests that ended in an error.", [({}, errors)]),
        _metric("flowkick_feeds", "gauge", "Tracked sources by feed status.", [({"status": s}, n) for s, n in feeds]),
        _metric("flowkick_feeds_stale", "gauge", "Sources whose items are past their freshness time.", [({}, stale)]),
        _metric("flowkick_refresh_runs_total", "counter", "Refresh runs by platform and outcome.",
                [({"platform": p, "status": s}, n) for p, s, n, _ in runs]),
        _metric("flowkick_apify_cost_usd_total", "counter", "Apify's reported cost of the refresh runs.",
                [({"platform": p, "status": s}, cost) for p, s, _, cost in runs]),
        _metric("flowkick_refresher_up", "gauge", "1 while the refresher runs.", [({}, int(refresher_alive))]),
    ])


def _metric(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], Any]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
