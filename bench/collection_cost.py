"""What collecting a source costs per month: today's naive full refresh beside the incremental one.

    .venv/bin/python bench/collection_cost.py [--sources 10] [--days 7] [--platform instagram ...]

For each platform, `--sources` active accounts (visited all day long) post at a realistic
rate (a café about three times a week; a place gets about two reviews a week, Poisson
arrivals) while simulated time runs through `--days` at the default TTLs. Every refresh
goes through the real refresher, `ApifySource` and the official client to the fake Apify
server (started here, on 127.0.0.1), whose actors behave like the real ones (date filters,
pinned posts, X's 50-per-query minimum, `noResults` rows) and charge the published prices.

- naive: what the refresher did before incremental collection: the newest 24 items of
  every source at every TTL (one simulated day, times 30);
- incremental: the defaults (only what is new since the stored items, counts renewed daily
  for the last day's items, quiet sources checked less often); the first fill of each
  source is a one-time cost, printed apart.

Results charged and dollars per source per month are what the runs' pricing says (the
refresher's own cost records; the fake's charges are checked against them), scaled from
`--days` to 30. A run holds at most 25 handles and Apify charges per result, so the
per-source figures of a few sources hold for 1,000 (`--sources 1000 --days 30` simulates
them all; each run costs about 0.2 s of wall time here). Targets from issue 10:
Instagram at most $0.10, X at most $1, every platform at least 100x below naive.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake server lives under tests/

from sqlalchemy import func, update  # noqa: E402
from sqlmodel import select  # noqa: E402

from flowkick.app import default_sources  # noqa: E402
from flowkick.clients import create_client  # noqa: E402
from flowkick.database import Database  # noqa: E402
from flowkick.platforms import PLATFORMS  # noqa: E402
from flowkick.refresher import Refresher  # noqa: E402
from flowkick.settings import Settings  # noqa: E402
from flowkick.tables import FeedCache, RefreshRun  # noqa: E402
from tests.support.fake_apify import FakeApify  # noqa: E402
from tests.support.fake_apify.world import BASE_TIME  # noqa: E402

WEEK = 7 * 86400.0
POSTS_PER_WEEK = {"google_reviews": 2.0}  # reviews a place gets; every other platform: a café's posts
CAFE_POSTS_PER_WEEK = 3.0
HISTORY = 40  # posts each account has before the month starts: enough for full fetches
START = (BASE_TIME + timedelta(hours=1)).timestamp()
PER_CLIENT = 25
NAIVE = {"counts_refresh_hours": 0.0, "counts_window_hours": 0.0, "quiet_max_hours": 0.0}
TARGET_INSTAGRAM, TARGET_X, TARGET_RATIO = 0.10, 1.0, 100.0


class SimClock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


@dataclass
class Month:
    """One platform's simulated collection, per source."""

    results: float
    usd: float
    fill_usd: float
    runs: int
    fake_usd: float


def handles(platform: str, count: int) -> list[str]:
    return [f"ChIJBenchPlace{i:05d}" if platform == "google_reviews" else f"bench.cafe{i:05d}" for i in range(count)]


def arrivals(rng: random.Random, platform: str, days: float) -> list[float]:
    """Poisson publication times over the simulated span."""
    rate = POSTS_PER_WEEK.get(platform, CAFE_POSTS_PER_WEEK) / WEEK
    moments, moment = [], START
    while (moment := moment + rng.expovariate(rate)) < START + days * 86400:
        moments.append(moment)
    return moments


async def simulate(fake: FakeApify, folder: Path, platform: str, count: int, days: float, naive: bool) -> Month:
    fake.reset()
    fake.settings.run_duration = 0.002
    fake.world.default_post_count = HISTORY
    fake.world.post_interval = timedelta(seconds=WEEK / POSTS_PER_WEEK.get(platform, CAFE_POSTS_PER_WEEK))
    clock = SimClock(START)
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{folder / f'{platform}-{naive}.db'}",
                                 apify_token=fake.token, apify_api_url=fake.url, apify_poll_seconds=0.005,
                                 apify_retry_delay_seconds=0.01, **(NAIVE if naive else {}))
    db = Database(settings.database_url)
    await db.connect()
    try:
        names = handles(platform, count)
        for start in range(0, count, PER_CLIENT):
            await create_client(db, f"Agency {start}", {platform: names[start:start + PER_CLIENT]}, now=START,
                                plan="enterprise")
        refresher = Refresher(db, default_sources(settings, clock), settings, clock, rng=random.Random(1))
        rng = random.Random(platform)
        posts = sorted((moment, name) for name in names for moment in arrivals(rng, platform, days))
        await run_month(fake, db, refresher, clock, platform, posts, START + days * 86400)
        return await tally(fake, db, count, days)
    finally:
        await db.close()


async def run_month(fake: FakeApify, db: Database, refresher: Refresher, clock: SimClock, platform: str,
                    posts: list[tuple[float, str]], end: float) -> None:
    """Step from event to event: a post going up, a source coming due; refresh what is due."""
    ahead = refresher.settings.refresh_ahead_seconds
    while clock.value < end:
        while posts and posts[0][0] <= clock.value:
            moment, name = posts.pop(0)
            fake.world.clock = lambda moment=moment: datetime.fromtimestamp(moment, UTC)
            fake.world.publish(platform, name)
        await db.write(lambda s: s.execute(update(FeedCache).values(last_requested_at=clock.value)))
        await refresher.run_once()
        due = await db.read(lambda s: s.execute(select(func.min(FeedCache.expires_at))))
        upcoming = [moment for moment in ((due.scalar() or end) - ahead + 1, posts[0][0] if posts else end, end)]
        clock.value = max(clock.value + 1, min(upcoming))


async def tally(fake: FakeApify, db: Database, count: int, days: float) -> Month:
    runs = list((await db.read(lambda s: s.execute(select(RefreshRun)))).scalars())
    steady = [run for run in runs if run.started_at > START]
    fill = [run for run in runs if run.started_at <= START]
    scale = 30 / days / count
    return Month(
        results=sum(run.charged for run in steady) * scale,
        usd=sum(run.cost_usd or 0.0 for run in steady) * scale,
        fill_usd=sum(run.cost_usd or 0.0 for run in fill) / count,
        runs=len(runs),
        fake_usd=sum(run.charged_usd for run in fake.runs),
    )


def verdict(platform: str, naive: Month, incremental: Month) -> str:
    ratio = naive.usd / incremental.usd if incremental.usd else float("inf")
    misses = [f"only {ratio:.0f}x below naive"] if ratio < TARGET_RATIO else []
    if platform == "instagram" and incremental.usd > TARGET_INSTAGRAM:
        misses.append(f"over ${TARGET_INSTAGRAM:.2f}")
    if platform == "twitter" and incremental.usd > TARGET_X:
        misses.append(f"over ${TARGET_X:.2f}")
    if misses and platform == "youtube":
        misses.append("the actor has no date filter: each check reads the newest 2 of both tabs")
    return "MISSED: " + "; ".join(misses) if misses else "ok"


async def bench(platforms: list[str], count: int, days: float) -> None:
    print(f"{count} active sources per platform, {days:g} simulated days (naive: 1 day x 30), default TTLs\n")
    print(f"{'platform':<15}{'naive results':>14}{'naive $':>10}{'incr. results':>15}{'incr. $':>10}"
          f"{'x lower':>9}{'fill $':>9}{'runs':>7}  target")
    with FakeApify() as fake, tempfile.TemporaryDirectory() as folder:
        for platform in platforms:
            began = time.perf_counter()
            naive = await simulate(fake, Path(folder), platform, count, 1.0, naive=True)
            incremental = await simulate(fake, Path(folder), platform, count, days, naive=False)
            assert abs(incremental.fake_usd - (incremental.usd * count * days / 30 + incremental.fill_usd * count)) < 1e-6
            ratio = naive.usd / incremental.usd if incremental.usd else float("inf")
            print(f"{platform:<15}{naive.results:>14,.0f}{naive.usd:>10.2f}{incremental.results:>15,.1f}"
                  f"{incremental.usd:>10.4f}{ratio:>9.0f}{incremental.fill_usd:>9.4f}{incremental.runs:>7}"
                  f"  {verdict(platform, naive, incremental)}  ({time.perf_counter() - began:.0f} s)", flush=True)
    print("\nper source and month; results: what Apify charges for; fill $: one-time first fill per source")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--platform", action="append", choices=PLATFORMS, help="repeatable; default: all six")
    args = parser.parse_args()
    asyncio.run(bench(args.platform or list(PLATFORMS), args.sources, args.days))


if __name__ == "__main__":
    main()
