"""Read-path benchmark: Flowkick's warm GET /api/v1/social/instagram against a bare app.

Starts `flowkick serve` (demo mode, SQLite in a temp folder) and bench/bare_app.py serving
the same bytes with the same uvicorn settings, pins each server to one core and the load
generator to the other, and measures in the same run:
- requests/s and latency percentiles under load (wrk when installed, else a Python client);
- p50/p99 latency at one connection, sequential keep-alive requests.
Prints the figures and the Flowkick/bare ratio. A benchmark, not a test: it asserts nothing.
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
def server(command: list[str], folder: Path) -> Iterator[str]:
    """A server process pinned to one core; yields the URL it prints first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))}
    process = subprocess.Popen(_pinned(SERVER_CPU, command), cwd=folder, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert match, "the server did not print its URL"
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()


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


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        flowkick = [sys.executable, "-m", "flowkick", "serve", "--port", "0", "--log-level", "warning"]
        with server(flowkick, work) as fk_url:
            body = warm(fk_url)
            (work / "body.json").write_bytes(body)
            with server([sys.executable, str(HERE / "bare_app.py"), str(work / "body.json")], work) as bare_url:
                warm(bare_url)
                rounds = [(under_load(fk_url), under_load(bare_url)) for _ in range(ROUNDS)]
                single = {name: one_connection(url) for name, url in (("flowkick", fk_url), ("bare", bare_url))}
    print(f"body: {len(body)} bytes; wrk -t1 -c32, {ROUNDS} alternating rounds of {SECONDS} s (medians); "
          "one connection: 5000 sequential requests")
    for index, name in enumerate(("flowkick", "bare")):
        rps, p50, p99 = (statistics.median(r[index][i] for r in rounds) for i in range(3))
        s50, s99 = single[name]
        print(f"{name:9} {rps:9.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms  |  one connection: "
              f"p50 {s50:.3f} ms  p99 {s99:.3f} ms")
    ratios = sorted(fk[0] / bare[0] for fk, bare in rounds)
    print(f"ratio flowkick/bare: {statistics.median(ratios):.2f} (median of paired rounds; "
          f"range {ratios[0]:.2f}-{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
