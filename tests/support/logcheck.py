"""Every log line of the test session, kept to prove that no key ever reaches a log.

`LogLines` is a logging handler on the root logger for the whole session, formatting each
record with Flowkick's own JSON formatter (what `flowkick serve` writes). Output of
servers run as subprocesses is added with `LOG_LINES.extend(text)`. When the session
ends, `leaks()` lists the lines that still hold a key value.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator

import pytest

from flowkick.logs import JsonFormatter

# A key's value: the demo keys, or a generated key (prefix + 32 URL-safe characters).
KEY_VALUE = re.compile(r"\b(?:[ps]k_demo\b|[ps]k_[A-Za-z0-9_-]{32})")


class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._guard:
            self.lines.append(line)

    def extend(self, text: str) -> None:
        """Adds a subprocess's output (a server's stdout and stderr), line by line."""
        with self._guard:
            self.lines.extend(text.splitlines())

    def since(self, mark: int) -> list[str]:
        return self.lines[mark:]

    def leaks(self) -> list[str]:
        return [line for line in self.lines if KEY_VALUE.search(line)]


LOG_LINES = LogLines()


@pytest.fixture(scope="session", autouse=True)
def no_key_in_any_log_line() -> Iterator[LogLines]:
    """The whole session's log lines; fails the session's last teardown if one holds a key."""
    root, flowkick = logging.getLogger(), logging.getLogger("flowkick")
    previous = flowkick.level
    flowkick.setLevel(logging.INFO)  # access lines and refresher runs, as `flowkick serve` logs them
    root.addHandler(LOG_LINES)
    try:
        yield LOG_LINES
    finally:
        root.removeHandler(LOG_LINES)
        flowkick.setLevel(previous)
    leaks = LOG_LINES.leaks()
    shown = "\n".join(KEY_VALUE.sub("<KEY>", line)[:300] for line in leaks[:10])
    assert not leaks, f"{len(leaks)} of {len(LOG_LINES.lines)} log lines hold a key value:\n{shown}"


@pytest.fixture
def log_lines(no_key_in_any_log_line: LogLines) -> LogLines:
    return no_key_in_any_log_line
