"""Read path at scale: many clients, a Zipf mix of keys, JSON and fragments, against a bare app.

1. Builds `--clients` clients with three platforms each (instagram, tiktok, google_reviews)
   directly in a fresh SQLite database, and fills their feeds with the demo source (the
   server's own refresher, or `--fill refresh`; pictures and publishing included), timed,
   with the filling process's peak RSS.
2. Starts `flowkick serve` on it (pinned to one core, the burst limit off: one key asked
   thousands of times a second is the point here, not a client to slow down) and spreads
   the feeds' expiry over each platform's TTL, so the refresher renews sources while the
   load runs at the rate a long-running server does (30,000 sources: ~12 a second).
3. Asks every URL once with `Accept-Encoding: br, gzip` (the cold pass) and records the
   bytes sent.
4. Drives the server with wrk (pinned to the other core) through a Lua script that walks a
   Zipf-distributed (s = `--zipf`) sequence of keys: JSON feeds, then fragments (asked as
   widget.js asks them), then one hot fragment. Each mix runs twice: first straight after
   the others (the answers in memory are the other mix's: a cold start), then again (a
   server that has served this mix a while: the steady state the targets are about). Then
   stops it and drives a bare Starlette app serving exactly the recorded bytes at the same
   URLs (bench/bare_bodies.py) on the same core, alone on it. Prints req/s, p50, p99, bytes
   per answer on the wire, and the server's RSS after the fill, after the cold pass and
   after the load.

    .venv/bin/python bench/scale.py                   # 2,000 clients (6,000 sources): a few minutes
    .venv/bin/python bench/scale.py --clients 10000   # the issue's 30,000 sources: ~10 minutes here
    .venv/bin/python bench/scale.py --postgres        # the same on a PostgreSQL started for the run
    .venv/bin/python bench/scale.py --workers 2       # `flowkick serve --workers 2`, on every core

With `--workers N` the server is not pinned (its workers share every core with wrk) and
the RSS printed is the sum over its processes.

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from sqlalchemy import text

from flowkick.clients import create_client
from flowkick.database import Database
from flowkick.settings import Settings

HERE = Path(__file__).resolve().parent
SERVER_CPU, CLIENT_CPU = "0", "1"
PLATFORMS = ("instagram", "tiktok", "google_reviews")
ACCEPT = "br, gzip"
WIDGET_QUERY = "&css=none"  # fragments asked as widget.js asks them: it loads /embed.css once per page
SEQUENCE = 200_000  # requests in the Lua script's Zipf sequence, walked round and round
BENCH_ENV = {"FLOWKICK_BURST_PER_SECOND": "0", "FLOWKICK_LOG_LEVEL": "warning"}

Recorded = dict[str, tuple[int, dict[str, str], bytes]]


def main() -> None:
    options = _options()
    if options.memory_mb:
        BENCH_ENV["FLOWKICK_MEMORY_CACHE_MB"] = str(options.memory_mb)
    with tempfile.TemporaryDirectory() as folder, database(Path(folder), options.postgres) as url:
        work = Path(folder)
        BENCH_ENV["FLOWKICK_DATABASE_URL"] = url
        print(f"database {url.split(':')[0]}, flowkick serve --workers {options.workers}")
        started = time.monotonic()
        keys = asyncio.run(build(url, options.clients))
        print(f"built {options.clients} clients, {options.clients * 3} sources in {time.monotonic() - started:.0f} s")
        fill, peak = fill_by_server(work, url, options) if options.fill == "serve" else fill_by_cli(work)
        print(f"filled {options.clients * 3} sources by `flowkick {options.fill}` in {fill:.0f} s "
              f"({options.clients * 3 / fill:.0f} sources/s, pictures and publishing included), "
              f"peak RSS {peak / 2**20:.0f} MB")
        asyncio.run(_spread_expiry(url, options.renew_minutes))
        measure(work, keys, options)


@contextmanager
def database(folder: Path, postgres: bool) -> Iterator[str]:
    """A fresh SQLite file in `folder`, or a PostgreSQL server started for the run (as the tests start it)."""
    if not postgres:
        yield f"sqlite+aiosqlite:///{folder / 'flowkick.db'}"
        return
    sys.path.insert(0, str(HERE.parent))
    from tests.support.postgres import PostgresCluster

    root = Path(tempfile.mkdtemp(prefix="flowkick-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PostgresCluster(root)
    cluster.start()
    try:
        cluster.sql("CREATE DATABASE flowkick")
        yield cluster.url("flowkick")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def fill_by_cli(work: Path) -> tuple[float, int]:
    """`flowkick refresh` on the new sources: seconds taken and its peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "flowkick", "refresh"], cwd=work, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        with suppress(FileNotFoundError, ProcessLookupError):
            peak = max(peak, _rss(process.pid))
        time.sleep(0.2)
    assert process.returncode == 0, "flowkick refresh failed"
    return time.monotonic() - started, peak


def fill_by_server(work: Path, url: str, options: argparse.Namespace) -> tuple[float, int]:
    """`flowkick serve` started on the new sources, until every feed is fetched, its pictures
    gathered and published: seconds taken and the server's peak RSS."""
    serve = [sys.executable, "-m", "flowkick", "serve", "--port", "0", "--workers", str(options.workers)]
    started = time.monotonic()
    peak = 0
    with server(serve, work, work / "fill.log", _cores(options)) as (_, pid):
        while asyncio.run(_unfilled(url)):
            peak = max(peak, _rss(pid))
            time.sleep(0.5)
        return time.monotonic() - started, max(peak, _rss(pid))


async def _unfilled(url: str) -> int:
    """Feeds not fetched yet, or whose pictures or published copy lag their items."""
    db = Database(url)
    try:
        rows = await db.read(lambda s: s.execute(text(
            "SELECT count(*) FROM feed_cache f LEFT JOIN feed_public p ON p.source_id = f.source_id "
            "WHERE f.status <> 'ok' OR f.media_hash <> f.content_hash OR p.version IS NULL OR p.version <> f.version")))
        return int(rows.scalar_one())
    finally:
        await db.close()


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000, help="clients, three sources each")
    parser.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent of the key mix")
    parser.add_argument("--seconds", type=int, default=15, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--memory-mb", type=float, help="FLOWKICK_MEMORY_CACHE_MB of the server (default: its own)")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--workers", type=int, default=1, help="flowkick serve --workers N")
    parser.add_argument("--fill", choices=("serve", "refresh"), default="serve",
                        help="fill the new sources by the server's own refresher, or by `flowkick refresh`")
    parser.add_argument("--renew-minutes", type=float,
                        help="spread the feeds' expiry over this many minutes (default: over each platform's TTL, "
                             "the steady-state renewal rate), so the refresher renews them during the load")
    return parser.parse_args()


async def build(url: str, clients: int) -> list[str]:
    """The clients, written straight into the database; their publishable keys."""
    db = Database(url)
    await db.connect()
    try:
        now = time.time()
        return [(await create_client(db, f"Bench {n}", {p: [f"bench{n:05d}"] for p in PLATFORMS}, now=now,
                                     plan="enterprise")).publishable_key for n in range(clients)]
    finally:
        await db.close()


async def _spread_expiry(url: str, minutes: float | None) -> None:
    """Feeds expire one after another, as they would in a long-running server: over each
    platform's TTL (its renewal rate in a steady state), or over `minutes`."""
    db = Database(url)
    settings = Settings.from_env()
    spans = {p: max(1, int(minutes * 60)) if minutes else settings.ttl(p) for p in PLATFORMS}
    try:
        for platform, span in spans.items():
            await db.write(lambda s, p=platform, n=span: s.execute(text(
                "UPDATE feed_cache SET expires_at = :now + (source_id * 7919) % :span WHERE source_id IN "
                "(SELECT id FROM source WHERE platform = :platform)"), {"now": time.time() + 60, "span": n, "platform": p}))
    finally:
        await db.close()


def measure(work: Path, keys: list[str], options: argparse.Namespace) -> None:
    order = random.Random(11).sample(range(len(keys) * len(PLATFORMS)), len(keys) * len(PLATFORMS))
    json_paths = [_path("/api/v1/social", keys, k) for k in order]
    fragment_paths = [_path("/embed", keys, k) + WIDGET_QUERY for k in order]
    sequence = _zipf(len(order), options.zipf, SEQUENCE)
    serve = [sys.executable, "-m", "flowkick", "serve", "--port", "0", "--workers", str(options.workers)]
    loads = (("JSON, Zipf", json_paths, sequence), ("fragments, Zipf", fragment_paths, sequence),
             ("one hot fragment", fragment_paths[:1], [1]))
    scripts = [_lua(work / f"{n}.lua", paths, seq) for n, (_, paths, seq) in enumerate(loads)]
    with server(serve, work, work / "server.log", _cores(options)) as (url, pid):
        rss = {"after the fill": _rss(pid)}
        started = time.monotonic()
        recorded = record(url, [*json_paths, *fragment_paths])
        cold = time.monotonic() - started
        rss["after the cold pass"] = _rss(pid)
        firsts, flowkick = zip(*[(load(url, script, options), load(url, script, options)) for script in scripts],
                               strict=True)
        rss["after the load"] = _rss(pid)
        caches = _memory_figures(url)
    # The bare app runs once Flowkick has stopped: its refresher would take a share of the core.
    (work / "bodies.pickle").write_bytes(pickle.dumps(recorded))
    bare_command = [sys.executable, str(HERE / "bare_bodies.py"), str(work / "bodies.pickle")]
    with server(bare_command, work, work / "bare.log", SERVER_CPU) as (bare_url, _):
        bare = [load(bare_url, script, options) for script in scripts]
    runs = {name: trio for (name, _, _), trio in zip(loads, zip(firsts, flowkick, bare, strict=True), strict=True)}
    print(f"cold pass: {len(recorded)} URLs, each asked once, in {cold:.1f} s ({len(recorded) / cold:.0f} req/s)")
    _sizes(recorded, json_paths, fragment_paths)
    print(f"wrk -t1 -c{options.connections} -d{options.seconds}s, Accept-Encoding: {ACCEPT}, Zipf s={options.zipf} "
          f"over {len(order)} keys; server and bare app on core {SERVER_CPU}, wrk on core {CLIENT_CPU}")
    for name, (first, ours, theirs) in runs.items():
        print(f"  {name:17} flowkick, first run {_figures(first)}\n"
              f"  {'':17} flowkick, again     {_figures(ours)}\n  {'':17} bare                {_figures(theirs)}\n"
              f"  {'':17} ratio flowkick/bare {ours['rps'] / theirs['rps']:.2f} (first run {first['rps'] / theirs['rps']:.2f})")
    print("RSS of the server: " + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in rss.items()))
    print("memory after the load: " + ", ".join(caches))


def _memory_figures(url: str) -> list[str]:
    """Each read-path cache's hit rate and bytes kept, from /metrics."""
    found: dict[tuple[str, str], float] = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if match := re.match(r'flowkick_memory_(hits_total|misses_total|bytes)\{cache="(\w+)"\} (\S+)', line):
            found[match.group(2), match.group(1)] = float(match.group(3))
    names = sorted({name for name, _ in found})
    return [f"{n} {found[n, 'hits_total'] / max(1.0, found[n, 'hits_total'] + found[n, 'misses_total']):.1%} hits "
            f"{found[n, 'bytes'] / 2**20:.0f} MB" for n in names]


def _path(prefix: str, keys: list[str], key_index: int) -> str:
    client, platform = divmod(key_index, len(PLATFORMS))
    return f"{prefix}/{PLATFORMS[platform]}?api_key={keys[client]}"


def _zipf(keys: int, s: float, length: int) -> list[int]:
    """`length` 1-based key numbers drawn with P(rank r) ~ 1 / r^s."""
    cumulative = list(itertools.accumulate(1 / rank**s for rank in range(1, keys + 1)))
    draw = random.Random(7).random
    return [bisect.bisect(cumulative, draw() * cumulative[-1]) + 1 for _ in range(length)]


def record(url: str, paths: list[str]) -> Recorded:
    """Every URL asked once (compressed as a browser would take it), its answer as sent."""
    recorded: Recorded = {}
    with httpx.Client(base_url=url, headers={"Accept-Encoding": ACCEPT}, timeout=60) as client:
        _until_filled(client, paths[0])
        for path in paths:
            with client.stream("GET", path) as answer:
                body = b"".join(answer.iter_raw())
                kept = {k: v for k, v in answer.headers.items() if k in ("content-type", "content-encoding", "etag",
                                                                        "cache-control", "vary")}
                recorded[path] = (answer.status_code, kept, body)
    return recorded


def _until_filled(client: httpx.Client, path: str) -> None:
    deadline = time.monotonic() + 120
    while client.get(path).status_code != 200:
        assert time.monotonic() < deadline, "the feeds never filled"
        time.sleep(0.5)


def _lua(file: Path, paths: list[str], sequence: list[int]) -> Path:
    """A wrk script walking `sequence` (1-based indexes into `paths`) round and round."""
    file.write_text(f"""
wrk.headers["Accept-Encoding"] = "{ACCEPT}"
local paths, sequence, i = {{}}, {{}}, 0
for p in string.gmatch([[{chr(10).join(paths)}]], "[^\\n]+") do paths[#paths + 1] = p end
for n in string.gmatch("{' '.join(map(str, sequence))}", "%d+") do sequence[#sequence + 1] = tonumber(n) end
request = function()
  i = i % #sequence + 1
  return wrk.format("GET", paths[sequence[i]])
end
""")
    return file


def load(url: str, script: Path, options: argparse.Namespace) -> dict[str, float]:
    """requests/s, p50 and p99 in ms, and bytes read per request, from one wrk run."""
    out = subprocess.run(_pinned(CLIENT_CPU, ["wrk", "-t1", f"-c{options.connections}", f"-d{options.seconds}s",
                                              "--latency", "-s", str(script), url]),
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"([\d.]+)(B|KB|MB|GB) read", out).groups()  # type: ignore[union-attr]
    read = float(value) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": _ms(out, "50%"), "p99": _ms(out, "99%"), "bytes": read / max(1, requests),
            "errors": int(errors.group(1)) if errors else 0}


def _ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _figures(run: dict[str, float]) -> str:
    errors = f", {run['errors']:.0f} non-2xx" if run["errors"] else ""
    return (f"{run['rps']:8.0f} req/s  p50 {run['p50']:6.2f} ms  p99 {run['p99']:6.2f} ms  "
            f"{run['bytes']:6.0f} B/answer on the wire{errors}")


def _sizes(recorded: Recorded, json_paths: list[str], fragment_paths: list[str]) -> None:
    for name, paths in (("JSON", json_paths), ("fragments", fragment_paths)):
        sent = [recorded[p] for p in paths]
        codings = {h.get("content-encoding", "identity") for _, h, _ in sent}
        print(f"{name}: {sum(len(b) for _, _, b in sent) / len(sent):.0f} bytes per answer as sent "
              f"({', '.join(sorted(codings))}); statuses {sorted({s for s, _, _ in sent})}")


@contextmanager
def server(command: list[str], folder: Path, output: Path, cores: str) -> Iterator[tuple[str, int]]:
    """A server pinned to `cores`; yields the URL it prints first and its process id."""
    with output.open("w") as sink:
        process = subprocess.Popen(_pinned(cores, command), cwd=folder, env=_env(), stdout=sink, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (match := re.search(r"http://127\.0\.0\.1:\d+", output.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, "the server did not print its URL"
            time.sleep(0.05)
        yield match.group(0), process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))}
    return {**clean, **BENCH_ENV}


def _cores(options: argparse.Namespace) -> str:
    """One core for one server process, wrk on the other; several workers get every core."""
    return SERVER_CPU if options.workers == 1 else f"{SERVER_CPU},{CLIENT_CPU}"


def _pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else command


def _rss(pid: int) -> int:
    """The resident memory of a process and of its children (the workers of --workers N)."""
    status = Path(f"/proc/{pid}/status").read_text()
    own = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(_rss(int(child)) for child in children)


if __name__ == "__main__":
    if not shutil.which("wrk"):
        sys.exit("install wrk (apt-get install wrk) to measure throughput")
    main()
