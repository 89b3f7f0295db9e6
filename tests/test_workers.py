"""`flowkick serve --workers N`: the real command, N processes on one port and one database.

Each test starts `flowkick serve --workers 2` on 127.0.0.1 in demo mode on a database of its
own and reads what it did from its JSON log: the parent logs each worker it starts (with its
pid), and every line a worker writes carries its pid, its request lines included.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from flowkick.database import Database
from flowkick.tables import Usage
from tests.support.cli import FLOWKICK, run
from tests.support.logcheck import LOG_LINES

FEED = "/api/v1/social/instagram"
FLUSH_SECONDS = 0.2  # the workers' usage flush interval in the quota tests


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def workers(self) -> dict[int, int]:
        """Each worker's pid (the latest started for its place), as the parent logged them."""
        return {line["worker"]: line["worker_pid"] for line in self.lines() if line["message"] == "worker started"}

    def requests(self, path: str = FEED) -> list[dict[str, Any]]:
        """The workers' request lines for `path` (the feed's, by default)."""
        return [line for line in self.lines() if line["message"] == "request" and line["path"].startswith(path)]

    def ask(self, count: int, key: str = "pk_demo") -> list[int]:
        """`count` feed requests at once, each on a connection of its own (the kernel hands
        each new connection to one worker); their statuses, once the workers logged them."""
        logged = len(self.requests())

        def one(_: int) -> int:
            return httpx.get(self.url + FEED, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(count)))
        self.logged(logged + count)
        return statuses

    def logged(self, count: int, path: str = FEED) -> None:
        """Wait for `count` request lines of `path` (workers write theirs a few times a second)."""
        eventually(lambda: len(self.requests(path)) >= count)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=120)

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to every process of the server's group, workers included."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=120)


@contextmanager
def serving(folder: Path, env: dict[str, str], workers: int = 2) -> Iterator[Server]:
    """`flowkick serve --port 0 --workers N` in `folder`, until the test stops it (or SIGTERM)."""
    log = folder / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen([*FLOWKICK, "serve", "--port", "0", "--workers", str(workers)], cwd=folder,
                                   env=environment(env), stdout=sink, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)  # a process group of its own, as in a terminal
    try:
        eventually(lambda: "http://" in log.read_text() or process.poll() is not None)
        match = re.search(r"http://127\.0\.0\.1:\d+", log.read_text())
        assert match, log.read_text()
        server = Server(match.group(0), process, log)
        eventually(lambda: len(server.workers()) == workers)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=120)
        LOG_LINES.extend(log.read_text())


def environment(env: dict[str, str]) -> dict[str, str]:
    """The test's own settings and nothing of the caller's (no Apify token: demo mode)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))}
    return clean | {"FLOWKICK_LOG_FORMAT": "json"} | env


def eventually(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def flushed_requests(database_url: str) -> int:
    """Requests in the usage table, as written by the workers' flushes."""
    async def read() -> int:
        db = Database(database_url)
        try:
            total = await db.read(lambda s: s.execute(select(func.coalesce(func.sum(Usage.requests), 0))))
            return int(total.scalar_one())
        finally:
            await db.close()

    return asyncio.run(read())


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'flowkick.db'}"


def add_client(folder: Path, env: dict[str, str], *options: str) -> str:
    """A client showing @cafe's Instagram, made with `flowkick clients add`; its publishable key."""
    made = run(folder, "clients", "add", "Café", "--instagram", "cafe", "--json", *options, **env)
    return str(json.loads(made.stdout)["publishable_key"])


def answered_by(server: Server, requests_before: int = 0) -> Counter[int]:
    """How many feed requests each worker answered (not refused), after the first `requests_before`."""
    return Counter(line["pid"] for line in server.requests()[requests_before:] if line["status"] != 429)


# -- processes -----------------------------------------------------------------------------------------

def test_every_worker_answers_on_the_one_port(tmp_path: Path) -> None:
    with serving(tmp_path, {"FLOWKICK_DATABASE_URL": sqlite_url(tmp_path)}) as server:
        pids = set(server.workers().values())
        for _ in range(20):
            assert set(server.ask(16)) <= {200, 202}
            if set(answered_by(server)) == pids:
                break
        assert set(answered_by(server)) == pids and len(pids) == 2


def test_a_worker_that_dies_is_replaced_and_its_replacement_answers(tmp_path: Path) -> None:
    with serving(tmp_path, {"FLOWKICK_DATABASE_URL": sqlite_url(tmp_path)}) as server:
        killed = server.workers()[0]
        os.kill(killed, signal.SIGKILL)
        eventually(lambda: server.workers()[0] != killed)
        replacement, seen = server.workers()[0], len(server.requests())
        for _ in range(20):
            server.ask(16)
            if replacement in answered_by(server, seen):
                break
        assert replacement in answered_by(server, seen) and not alive(killed)


@pytest.mark.parametrize("stop", [Server.stop, Server.interrupt], ids=["sigterm", "ctrl-c"])
def test_a_stop_signal_stops_every_worker_with_its_usage_flushed_and_the_server_exits_0(
        tmp_path: Path, stop: Callable[[Server], int]) -> None:
    url = sqlite_url(tmp_path)
    with serving(tmp_path, {"FLOWKICK_DATABASE_URL": url, "FLOWKICK_USAGE_FLUSH_SECONDS": "3600"}) as server:
        statuses = server.ask(24)
        pids = server.workers().values()
        assert stop(server) == 0
    assert not any(alive(pid) for pid in pids) and "Traceback" not in server.log.read_text()
    assert flushed_requests(url) == len(statuses)  # written by each worker's shutdown, not by a flush


def test_a_worker_that_cannot_start_stops_the_server_instead_of_being_restarted(tmp_path: Path) -> None:
    with serving(tmp_path, {"FLOWKICK_DATABASE_URL": sqlite_url(tmp_path), "FLOWKICK_PLANS": "not json"}) as server:
        assert server.process.wait(timeout=120) == 3
        failed = [line for line in server.lines() if line["message"] == "worker failed to start"]
        assert 1 <= len(failed) <= 2  # each worker at most once: none was started again


def test_an_admin_login_made_on_one_worker_holds_on_the_others(tmp_path: Path) -> None:
    """Without FLOWKICK_SECRET_KEY the workers still sign sessions with one secret."""
    env = {"FLOWKICK_DATABASE_URL": sqlite_url(tmp_path), "FLOWKICK_ADMIN_PASSWORD": "correct horse battery"}
    with serving(tmp_path, env) as server, httpx.Client(  # a connection each; workers still filling the demo are slow
            base_url=server.url, limits=httpx.Limits(max_keepalive_connections=0), timeout=30) as browser:
        form = browser.get("/admin/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf and browser.post("/admin/login", data={"csrf": csrf.group(1),
                                                           "password": "correct horse battery"}).status_code == 303
        statuses: list[int] = []
        for _ in range(20):
            statuses += [browser.get("/admin").status_code for _ in range(5)]
            server.logged(len(statuses) + 1, "/admin")  # the login form's line too
            if len({line["pid"] for line in server.requests("/admin")}) == 2:
                break
        answered_by = {line["pid"] for line in server.requests("/admin")}
    assert set(statuses) == {200} and answered_by == set(server.workers().values())


# -- limits across workers -----------------------------------------------------------------------------

LIMIT = 30
ROUND = 8  # requests sent at once; rounds are a few flush intervals apart


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_block_plans_monthly_quota_holds_across_workers_within_one_rounds_tolerance(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """Between rounds the workers flush and read each other's counts, so only requests of the
    same round (at most one round's) can pass the limit together."""
    url: str = request.getfixturevalue("postgres_database_url") if backend == "postgresql" else sqlite_url(tmp_path)
    plans = {"starter": {"monthly_requests": LIMIT, "over_limit": "block"}}
    env = {"FLOWKICK_DATABASE_URL": url, "FLOWKICK_USAGE_FLUSH_SECONDS": str(FLUSH_SECONDS),
           "FLOWKICK_BURST_PER_SECOND": "0", "FLOWKICK_PLANS": json.dumps(plans)}
    key = add_client(tmp_path, env, "--plan", "starter")
    answered = 0

    def all_flushed() -> bool:
        return flushed_requests(url) == answered

    with serving(tmp_path, env) as server:
        for _ in range(3 * LIMIT // ROUND):
            statuses = server.ask(ROUND, key)
            answered += sum(status != 429 for status in statuses)
            if set(statuses) == {429}:
                break
            eventually(all_flushed)
            time.sleep(5 * FLUSH_SECONDS)  # and every worker read the total after its flush
        assert set(statuses) == {429} and set(answered_by(server)) == set(server.workers().values())
        assert server.stop() == 0
    assert LIMIT <= answered <= LIMIT + ROUND
    assert flushed_requests(url) == answered


def test_the_burst_limit_is_shared_by_the_workers(tmp_path: Path) -> None:
    env = {"FLOWKICK_DATABASE_URL": sqlite_url(tmp_path), "FLOWKICK_BURST_CAPACITY": "4",
           "FLOWKICK_BURST_PER_SECOND": "0.001"}
    key = add_client(tmp_path, env)
    with serving(tmp_path, env) as server:
        statuses = server.ask(24, key)
        by_worker = answered_by(server)
    assert sum(status != 429 for status in statuses) == sum(by_worker.values()) <= 4
    assert max(by_worker.values()) == 2  # each worker's half of the capacity
