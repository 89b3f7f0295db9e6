"""What the access log costs per request, in CPU time, on the warm read path.

The real app (demo mode, SQLite in a temp folder) is driven in-process through ASGI with
the warm GET /api/v1/social/instagram?api_key=pk_demo, in alternating rounds with the
access log off (level warning) and on (JSON lines, batched to a file, as `flowkick serve`
writes them). CPU time of this process is measured, not wall time, so other programs on a
shared machine disturb the figures far less than they disturb bench/read_path.py's
throughput. Prints microseconds per request and the throughput ratio logged/unlogged.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from flowkick import logs
from flowkick.app import create_app
from flowkick.settings import Settings

ROUNDS, REQUESTS = 7, 20_000
SCOPE: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                         "scheme": "http", "path": "/api/v1/social/instagram", "raw_path": b"/api/v1/social/instagram",
                         "query_string": b"api_key=pk_demo", "root_path": "", "server": ("127.0.0.1", 8000),
                         "client": ("127.0.0.1", 50000), "headers": [(b"host", b"127.0.0.1:8000")]}


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'flowkick.db'}")
        app = create_app(settings)
        sink = (Path(folder) / "access.log").open("w")
        logs.configure("warning", "json", sink)
        async with app.router.lifespan_context(app):
            while await one(app) != 200:
                await asyncio.sleep(0.1)
            quiet, logged = [], []
            for _ in range(ROUNDS):
                quiet.append(await per_request(app, "warning"))
                logged.append(await per_request(app, "info"))
        sink.close()
        lines = sum(1 for _ in (Path(folder) / "access.log").open())
    q, lg = statistics.median(quiet), statistics.median(logged)
    print(f"{ROUNDS} alternating rounds of {REQUESTS} warm requests through ASGI, CPU time (medians); "
          f"{lines} access lines written")
    print(f"access log off  {q:7.1f} µs/request")
    print(f"access log on   {lg:7.1f} µs/request  (+{lg - q:.1f} µs)")
    ratios = sorted(a / b for a, b in zip(quiet, logged, strict=True))
    print(f"throughput logged/unlogged: {statistics.median(ratios):.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f})")


async def per_request(app: Any, level: str) -> float:
    logging.getLogger().setLevel(level.upper())
    start = time.process_time()
    for _ in range(REQUESTS):
        await one(app)
    return (time.process_time() - start) / REQUESTS * 1e6


async def one(app: Any) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(SCOPE), receive, send)
    return status


if __name__ == "__main__":
    asyncio.run(main())
