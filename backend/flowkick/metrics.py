"""Prometheus metrics, from `prometheus_client`: what an operator graphs and alerts on.

Each app has its own `CollectorRegistry` (tests build many apps in one process). Three
kinds of figures share it:

- this process's live figures, updated as things happen: request latency per route,
  refresh run durations, alerts opened and recovered (the latency in plain counters of our
  own, `RequestLatency`: it is observed on every request, and a `prometheus_client`
  histogram takes two locks per observation, 4 % of a busy server's time);
- this process's request counters, read from `UsageCounter.totals` when scraped (the
  hot path only bumps integers, never a metric object);
- the deployment's shared state, read from the database when scraped (`database_figures`),
  so every process of a deployment reports the same feeds, runs and cost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from flowkick.media import catalog as media_catalog
from flowkick.memory import Memory
from flowkick.tables import FeedCache, RefreshRun
from flowkick.usage import UsageCounter

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600)
_BOUNDS = (*map(floatToGoString, LATENCY_BUCKETS), "+Inf")  # the latency buckets' `le` labels


class Metrics:
    """One app's registry and the live figures the app updates."""

    def __init__(self, usage: UsageCounter, refresher_alive: Callable[[], bool], memory: Memory | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = RequestLatency()
        self.run_duration = Histogram("flowkick_refresh_run_duration_seconds",
                                      "Time from starting a refresh run to storing its result.",
                                      ["platform", "status"], buckets=RUN_BUCKETS, registry=self.registry)
        self.alerts = Counter("flowkick_alerts", "Alert notices, by kind and event (opened, recovered).",
                              ["kind", "event"], registry=self.registry)
        self.media_downloads = Counter("flowkick_media_downloads", "Picture downloads by this process, by outcome "
                                       "(stored, or why it failed).", ["outcome"], registry=self.registry)
        self._process = _ProcessFigures(usage, refresher_alive, memory)
        self._database = _DatabaseFigures()
        for collector in (self.latency, self._process, self._database):
            self.registry.register(collector)

    def observe_request(self, route: str, seconds: float) -> None:
        self.latency.observe(route, seconds)

    def observe_run(self, platform: str, status: str, seconds: float) -> None:
        self.run_duration.labels(platform, status).observe(seconds)

    def observe_download(self, outcome: str) -> None:
        self.media_downloads.labels(outcome).inc()

    async def render(self, session: AsyncSession, now: float) -> bytes:
        """The exposition text: the database is read first (async), then everything is written."""
        self._database.figures = await database_figures(session, now)
        return generate_latest(self.registry)


class RequestLatency(Collector):
    """`flowkick_request_duration_seconds`, a histogram by route, kept in plain lists: only
    the event loop's thread observes it, so it needs none of the locks a
    `prometheus_client.Histogram` takes."""

    def __init__(self) -> None:
        self._routes: dict[str, list[float]] = {}  # per route: a count per bucket (+Inf last), then the sum

    def observe(self, route: str, seconds: float) -> None:
        counts = self._routes.get(route)
        if counts is None:
            counts = self._routes[route] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily("flowkick_request_duration_seconds", "Time to answer a request, by route.",
                                       labels=["route"])
        for route, counts in self._routes.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip(_BOUNDS, counts[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            family.add_metric([route], buckets, sum_value=counts[-1])
        yield family


class _ProcessFigures(Collector):
    def __init__(self, usage: UsageCounter, refresher_alive: Callable[[], bool], memory: Memory | None) -> None:
        self.usage = usage
        self.refresher_alive = refresher_alive
        self.memory = memory

    def collect(self) -> Iterator[Metric]:
        requests, hits, errors = self.usage.totals
        yield CounterMetricFamily("flowkick_requests", "Feed requests answered by this process.", value=requests)
        yield CounterMetricFamily("flowkick_cache_hits", "Feed requests answered from memory.", value=hits)
        yield CounterMetricFamily("flowkick_errors", "Feed requests that ended in an error.", value=errors)
        yield GaugeMetricFamily("flowkick_refresher_up", "1 while the refresher runs.", value=int(self.refresher_alive()))
        if self.memory is not None:
            yield from _memory_figures(self.memory)


def _memory_figures(memory: Memory) -> Iterator[Metric]:
    """Per read-path cache: lookups that found their entry or not, bytes kept and the share of the budget."""
    hits = CounterMetricFamily("flowkick_memory_hits", "Read-path cache lookups that found their entry, by cache "
                               "(answers: repeats sent whole).", labels=["cache"])
    misses = CounterMetricFamily("flowkick_memory_misses", "Read-path cache lookups that missed, by cache.",
                                 labels=["cache"])
    kept = GaugeMetricFamily("flowkick_memory_bytes", "Bytes a read-path cache keeps (estimated), by cache.",
                             labels=["cache"])
    budget = GaugeMetricFamily("flowkick_memory_budget_bytes", "A read-path cache's share of "
                               "FLOWKICK_MEMORY_CACHE_MB, by cache.", labels=["cache"])
    for figures in memory.figures():
        hits.add_metric([figures.name], figures.hits)
        misses.add_metric([figures.name], figures.misses)
        kept.add_metric([figures.name], figures.bytes)
        budget.add_metric([figures.name], figures.budget)
    yield from (hits, misses, kept, budget)


class _DatabaseFigures(Collector):
    """Hands out what `Metrics.render` just read from the database."""

    def __init__(self) -> None:
        self.figures: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        yield from self.figures


async def database_figures(session: AsyncSession, now: float) -> list[Metric]:
    """The deployment's shared state. Add a figure here: query it, append a metric family."""
    feeds = GaugeMetricFamily("flowkick_feeds", "Tracked sources by feed status.", labels=["status"])
    for status, count in (await session.execute(select(FeedCache.status, func.count())
                                                .group_by(FeedCache.status))).all():
        feeds.add_metric([status], count)
    stale = (await session.execute(select(func.count()).where(FeedCache.expires_at <= now))).scalar_one()
    runs = CounterMetricFamily("flowkick_refresh_runs", "Refresh runs by platform and outcome.",
                               labels=["platform", "status"])
    cost = CounterMetricFamily("flowkick_apify_cost_usd", "Apify's reported cost of the refresh runs.",
                               labels=["platform", "status"])
    for platform, status, count, usd in (await session.execute(
            select(RefreshRun.platform, RefreshRun.status, func.count(), func.coalesce(func.sum(RefreshRun.cost_usd), 0.0))
            .group_by(RefreshRun.platform, RefreshRun.status))).all():
        runs.add_metric([platform, status], count)
        cost.add_metric([platform, status], usd)
    pictures, picture_bytes, picture_failures = await media_catalog.totals(session)
    return [feeds, GaugeMetricFamily("flowkick_feeds_stale", "Sources whose items are past their freshness time.",
                                     value=stale), runs, cost,
            GaugeMetricFamily("flowkick_media_pictures", "Pictures (and videos) in the media store.", value=pictures),
            GaugeMetricFamily("flowkick_media_bytes", "Bytes in the media store.", value=picture_bytes),
            GaugeMetricFamily("flowkick_media_failures", "Pictures of tracked feeds whose download failed "
                                                         "(retried later).", value=picture_failures)]
