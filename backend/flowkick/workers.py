"""`flowkick serve --workers N`: N server processes on one port and one database.

The parent binds the socket once and starts N workers, each a fresh interpreter (spawn:
nothing forked from the parent) running uvicorn with the whole app on that socket; the
kernel hands each new connection to one of them. The parent readies the database first
and then only watches: a worker that dies is started again, one that fails its start-up
(its app or lifespan raises) stops the server instead of looping, and SIGTERM or SIGINT
stops every worker the way a single server stops (its lifespan shutdown flushes the usage
counts) before the parent exits 0.

Everything the workers share goes through the database: the refresher claims sources with
leases, each worker's version watch sees the feeds the others wrote, usage is flushed and
monthly quotas read every process's totals (quotas.py), alerts are opened and resolved
once (alerts.py) and client webhook deliveries are claimed (client_webhooks.py). The
workers are handed one secret key. What stays in one process's memory is the burst
limit's token buckets: each worker enforces its share of the limit (`share`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE

from flowkick import collector, heap, logs
from flowkick.app import create_app
from flowkick.clients import ensure_demo_client, remove_demo_client
from flowkick.clock import SystemClock
from flowkick.database import Database
from flowkick.settings import Settings

log = logging.getLogger("flowkick.workers")

WATCH_SECONDS = 0.5  # how soon a dead worker is replaced and a stop signal acted on
STOP_SECONDS = 90.0  # a worker still running this long after SIGTERM is killed (its parts get 10 s each)


def run(app: Starlette, sock: socket.socket, level: str) -> None:
    """One server process: the app under uvicorn on the bound socket until a signal stops it."""
    collector.space_out_full_collections()
    heap.limit_arenas()  # before the database's threads start: each keeps the arena it first used
    heap.keep_trimmed()
    # uvicorn's own access log is off: flowkick.access writes one line per request, keys masked.
    config = uvicorn.Config(app, log_config=None, log_level=level.lower(), access_log=False, proxy_headers=True,
                            server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


def share(settings: Settings, workers: int) -> Settings:
    """One worker's part of the per-key burst limit.

    Token buckets live in a process's memory and a key's connections reach any worker, so
    N full buckets would let a key burst N times over. Each worker keeps 1/N of the rate
    and of the capacity (rounded down, at least one request): together the workers never
    allow more than the limit (more only when the capacity is below N). A key whose
    requests all reach one worker (one kept-alive connection) gets 1/N: the safe side.
    """
    if workers == 1:
        return settings
    return replace(settings, burst_per_second=settings.burst_per_second / workers,
                   burst_capacity=max(1, settings.burst_capacity // workers))


def supervise(settings: Settings, sock: socket.socket, workers: int, level: str) -> int:
    """Run `workers` worker processes on `sock` until SIGTERM or SIGINT; the exit status.

    Without FLOWKICK_SECRET_KEY every process would make up its own secret, and a session
    or an Apify callback signed by one worker would be refused by the next: the workers
    share one made up here instead.
    """
    settings = replace(settings, secret_key=settings.secret_key or secrets.token_urlsafe(32))
    try:
        asyncio.run(_prepare(settings))
    except Exception:
        log.exception("the database could not be prepared; not starting")
        return STARTUP_FAILURE
    stopping = _stop_signals()
    processes = [_start(settings, sock, workers, level, index) for index in range(workers)]
    try:
        return _watch(processes, stopping, lambda index: _start(settings, sock, workers, level, index))
    finally:
        _stop(processes)


def _stop_signals() -> list[int]:
    """SIGTERM and SIGINT, noted for the watch loop to act on instead of interrupting it."""
    received: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: received.append(number))
    return received


def _watch(processes: list[BaseProcess], stopping: list[int], start: Callable[[int], BaseProcess]) -> int:
    """Start a worker again whenever one dies, until a stop signal; the exit status."""
    while not stopping:
        wait([p.sentinel for p in processes], timeout=WATCH_SECONDS)
        for index, process in enumerate(processes):
            if stopping or process.exitcode is None:
                continue
            fields = {"worker": index, "worker_pid": process.pid, "exit_code": process.exitcode}
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker failed to start; stopping the server", extra={"fields": fields})
                return STARTUP_FAILURE
            log.warning("worker stopped; starting another", extra={"fields": fields})
            processes[index] = start(index)
    return 0


async def _prepare(settings: Settings) -> None:
    """Create or migrate the schema and set up the demo client once, before the workers
    start: their lifespans then find both done, instead of racing to create them at once."""
    db = Database(settings.database_url)
    try:
        await db.connect()
        if settings.demo_mode:
            await ensure_demo_client(db, now=SystemClock().now())
        else:
            await remove_demo_client(db)
    finally:
        await db.close()


def _start(settings: Settings, sock: socket.socket, workers: int, level: str, index: int) -> BaseProcess:
    process = multiprocessing.get_context("spawn").Process(
        target=_worker, args=(settings, sock, workers, level), name=f"flowkick-worker-{index}")
    process.start()
    log.info("worker started", extra={"fields": {"worker": index, "worker_pid": process.pid}})
    return process


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM to every worker, then wait for each to finish its shutdown."""
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)
        if process.exitcode is None:
            log.warning("worker did not stop; killing it", extra={"fields": {"worker_pid": process.pid}})
            process.kill()
            process.join()


def _worker(settings: Settings, sock: socket.socket, workers: int, level: str) -> None:
    """A worker process's life. An app that cannot even be built is a failed start-up, as a
    lifespan that fails is to uvicorn, so the parent stops instead of starting it again."""
    # Ctrl-C reaches every process of the terminal's group: uvicorn shuts a worker down on it
    # as on SIGTERM, then raises it again, which must end the worker quietly, not with a
    # KeyboardInterrupt's traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.configure(level, settings.log_format, worker=True)
    try:
        app = create_app(share(settings, workers))
    except Exception:
        log.exception("worker failed to start")
        sys.exit(STARTUP_FAILURE)
    run(app, sock, level)
