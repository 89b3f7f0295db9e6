"""What refreshing 1,000 tracked accounts costs in Apify runs: one pass against the fake Apify.

    .venv/bin/python bench/refresh_cost.py [--sources 1000] [--rate-limits 0]

Tracks `--sources` accounts spread over Instagram, TikTok and Google reviews (split so each
platform fills whole batches of 25), refreshes them all once through the real refresher,
`ApifySource` and official client against the fake Apify server (started here, on
127.0.0.1), and prints the runs started, items stored, errors, cost and wall time. With
batching, 1,000 sources need 40 runs; `--rate-limits N` answers the first N run starts
with 429 to show the client's retries do not start extra runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake server lives under tests/

from flowkick.app import default_sources  # noqa: E402
from flowkick.clients import create_client  # noqa: E402
from flowkick.clock import SystemClock  # noqa: E402
from flowkick.database import Database  # noqa: E402
from flowkick.refresher import PassSummary, Refresher  # noqa: E402
from flowkick.settings import Settings  # noqa: E402
from tests.support.fake_apify import FakeApify  # noqa: E402

SHARES = {"instagram": 0.35, "tiktok": 0.325, "google_reviews": 0.325}
HANDLES_PER_CLIENT = 20


def handles(count: int) -> dict[str, list[str]]:
    """`count` handles split over the platforms by SHARES (the last platform takes the rest)."""
    split: dict[str, list[str]] = {}
    left = count
    for index, (platform, share) in enumerate(SHARES.items()):
        size = left if index == len(SHARES) - 1 else round(count * share)
        prefix = "ChIJBench" if platform == "google_reviews" else "bench.cafe"
        split[platform] = [f"{prefix}{i:05d}" for i in range(size)]
        left -= size
    return split


async def track(db: Database, wanted: dict[str, list[str]]) -> None:
    """Clients of HANDLES_PER_CLIENT accounts each, as a small agency would have them."""
    flat = [(platform, handle) for platform, names in wanted.items() for handle in names]
    for start in range(0, len(flat), HANDLES_PER_CLIENT):
        chunk: dict[str, list[str]] = {}
        for platform, handle in flat[start:start + HANDLES_PER_CLIENT]:
            chunk.setdefault(platform, []).append(handle)
        await create_client(db, f"Client {start // HANDLES_PER_CLIENT}", chunk, now=time.time())


async def refresh(fake: FakeApify, folder: Path, count: int) -> tuple[PassSummary, float]:
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
                                 apify_token=fake.token, apify_api_url=fake.url, apify_poll_seconds=0.1,
                                 apify_retry_delay_seconds=0.05)
    db = Database(settings.database_url)
    await db.connect()
    try:
        await track(db, handles(count))
        clock = SystemClock()
        refresher = Refresher(db, default_sources(settings, clock), settings, clock, rng=random.Random(1))
        began = time.perf_counter()
        summary = await refresher.run_once()
        return summary, time.perf_counter() - began
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--rate-limits", type=int, default=0, help="429 answers to the first run starts")
    args = parser.parse_args()
    with FakeApify() as fake, tempfile.TemporaryDirectory() as folder:
        if args.rate_limits:
            fake.fail_requests(args.rate_limits, status=429, kind="start")
        summary, seconds = asyncio.run(refresh(fake, Path(folder), args.sources))
        starts = sum(1 for r in fake.requests if r.kind == "start")
        print(f"sources: {args.sources}  batch size: 25  runs started: {fake.run_count()}  "
              f"start requests: {starts}  items: {summary.items}  errors: {summary.errors}  "
              f"cost: ${summary.cost_usd:.2f}  wall time: {seconds:.1f} s")
        for platform, runs in summary.platforms.items():
            print(f"  {platform:<15} runs: {runs}")


if __name__ == "__main__":
    main()
