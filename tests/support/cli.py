"""The `flowkick` command as a real process in a folder: run once, or serve until stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.logcheck import LOG_LINES

FLOWKICK = [sys.executable, "-m", "flowkick"]


def run(folder: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))} | env
    result = subprocess.run([*FLOWKICK, *args], cwd=folder, env=environment, capture_output=True, text=True,
                            timeout=60)
    LOG_LINES.extend(result.stderr)  # stdout is the command's answer (keys, once, by design); stderr is its log
    if check:
        assert result.returncode == 0, result.stderr
    return result



@contextmanager
def serving(folder: Path, **env: str) -> Iterator[str]:
    """`flowkick serve --port 0` in `folder`; yields the URL it printed, stops it with SIGTERM.

    Its output goes to `folder/serve.log`, and into the session's log lines once it stopped.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKICK_", "APIFY_"))} | env
    output = folder / "serve.log"
    with output.open("w") as sink:
        server = subprocess.Popen([*FLOWKICK, "serve", "--port", "0"], cwd=folder, env=environment, stdout=sink,
                                  stderr=subprocess.STDOUT, text=True)
    try:
        line = _first_line(output, server)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match and "demo mode" in line, line
        yield match.group(0)
    finally:
        server.terminate()
        server.wait(timeout=20)
        LOG_LINES.extend(output.read_text())
    assert server.returncode == -signal.SIGTERM  # uvicorn re-raises the signal after a graceful shutdown


def _first_line(output: Path, server: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    while not output.read_text().endswith("\n"):
        assert server.poll() is None and time.monotonic() < deadline, output.read_text()
        time.sleep(0.02)
    return output.read_text().splitlines()[0]
