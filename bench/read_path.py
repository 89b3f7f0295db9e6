"""Read-path benchmark: Flowkick's warm GET /api/v1/social/instagram against a bare app.

Starts `flowkick serve` twice (demo mode, SQLite in a temp folder): once with the access
log off (`--log-level warning`) and once writing its JSON line per request to a file, as
in production; and bench/bare_app.py serving the same bytes with the same uvicorn settings.
Pins each server to one core and the load generator to the other, and measures in the same
run:
- requests/s and latency percentiles under load (wrk when installed, else a Python client);
- p50/p99 latency at one connection, sequential keep-alive requests.
Prints the figures, the Flowkick/bare ratio and what the access log costs (logged/unlogged).
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
PATH = "/api/v1/social/instagram?api_key=pk_demo"
SERVER_CPU, CLIENT_CPU = "0", "1"
ROUNDS, SECONDS = 5, 5


@contextmanager
def server(command: list[str], folder: Path, output: Path) -> Iterator[str]:
    """A server process pinned to one core, its stdout going to `output`; yields the URL it prints first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))}
    with output.open("w") as sink:
        process = subprocess.Popen(_pinned(SERVER_CPU, command), cwd=folder, env=env, stdout=sink, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"http://127\.0\.0\.1:\d+", output.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, "the server did not print its URL"
            time.sleep(0.05)
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else command


def warm(url: str) -> bytes:
    """Waits until the demo feed is filled, then returns its bytes."""
    deadline = time.monotonic() + 60
    with httpx.Client() as client:
        while True:
            answer = client.get(url + PATH)
            if answer.status_code == 200:
                for _ in range(200):
                    client.get(url + PATH)
                return answer.content
            assert time.monotonic() < deadline, "the feed never filled"
            time.sleep(0.2)


def one_connection(url: str, requests: int = 5000) -> tuple[float, float]:
    """p50 and p99 in ms of sequential requests on one keep-alive connection."""
    host, port = url.removeprefix("http://").split(":")
    request = f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    timings = []
    with socket.create_connection((host, int(port))) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(requests):
            start = time.perf_counter()
            conn.sendall(request)
            _read_response(conn)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99)]


def _read_response(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += conn.recv(65536)


def under_load(url: str, seconds: int = SECONDS, connections: int = 32) -> tuple[float, float, float]:
    """requests/s, p50 ms, p99 ms with `connections` concurrent keep-alive connections."""
    if not shutil.which("wrk"):
        sys.exit("install wrk (apt-get install wrk) to measure throughput")
    out = subprocess.run(_pinned(CLIENT_CPU, ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                                              url + PATH]), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


NAMES = ("flowkick", "logged", "bare")  # flowkick without the access log, with it, and the bare app


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "quiet").mkdir(), (work / "logged").mkdir()
        flowkick = [sys.executable, "-m", "flowkick", "serve", "--port", "0"]
        with server([*flowkick, "--log-level", "warning"], work / "quiet", work / "quiet.log") as fk_url, \
                server([*flowkick, "--log-level", "info"], work / "logged", work / "logged.log") as logged_url:
            body = warm(fk_url)
            warm(logged_url)
            (work / "body.json").write_bytes(body)
            bare = [sys.executable, str(HERE / "bare_app.py"), str(work / "body.json")]
            with server(bare, work, work / "bare.log") as bare_url:
                warm(bare_url)
                urls = (fk_url, logged_url, bare_url)
                rounds = [tuple(under_load(url) for url in urls) for _ in range(ROUNDS)]
                single = {name: one_connection(url) for name, url in zip(NAMES, urls, strict=True)}
            lines = sum(1 for _ in (work / "logged.log").open())
    print(f"body: {len(body)} bytes; wrk -t1 -c32, {ROUNDS} alternating rounds of {SECONDS} s (medians); "
          f"one connection: 5000 sequential requests; the logged server wrote {lines} lines")
    for index, name in enumerate(NAMES):
        rps, p50, p99 = (statistics.median(r[index][i] for r in rounds) for i in range(3))
        s50, s99 = single[name]
        print(f"{name:9} {rps:9.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms  |  one connection: "
              f"p50 {s50:.3f} ms  p99 {s99:.3f} ms")
    _ratio("flowkick/bare", [r[0][0] / r[2][0] for r in rounds])
    _ratio("logged/flowkick (the access log's cost)", [r[1][0] / r[0][0] for r in rounds])


def _ratio(name: str, values: list[float]) -> None:
    values.sort()
    print(f"ratio {name}: {statistics.median(values):.2f} (median of paired rounds; "
          f"range {values[0]:.2f}-{values[-1]:.2f})")


if __name__ == "__main__":
    main()
