"""Logs: one JSON line per event on stdout (or plain text for a person at a terminal).

Every line passes through `redact` before it is written: API keys (`pk_…`, `sk_…`),
`api_key=`/`token=` query values and `Authorization` header values are replaced by a
marker that keeps only the key's kind, so a log shipped to a third party, or read over a
shoulder, never hands anyone a key. Structured fields ride on a record's `fields`
attribute (`log.info("run finished", extra={"fields": {...}})`) and become JSON keys.

The request being served is kept in a context variable (`current()`), so code deep in
the read path can tell the access line which client asked and whether memory answered
without passing the request around.

Access lines have a fast path: `flowkick serve` installs a `LineHandler`, which takes an
access line's fields straight from the middleware (no `LogRecord`, no formatter lookup)
and writes lines in batches, a few times a second, instead of one write and flush per
request. Logging through `logging` per request cost nearly half the throughput; this
keeps the access log within the 15 % the read-path benchmark allows. Any other record
flushes the batch first, so lines stay in order.

Several worker processes (`flowkick serve --workers N`) write to one stdout: each of their
lines carries its process id, and batches go out in writes of whole lines no larger than
PIPE_BUF, which the system never interleaves with another process's writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import select
import sys
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

REDACTED = "***"
# Libraries whose info lines name every URL they fetch: alert and client webhook URLs are
# credentials themselves (a Slack webhook URL is), so these speak up only about problems.
QUIET = ("httpx", "httpcore", "apify_client")

# A key anywhere in a text: the kind prefix stays, the secret part goes.
_KEY = re.compile(r"\b([ps]k_)[A-Za-z0-9_-]+")
# Values of credential-like query parameters, whatever they look like.
_QUERY = re.compile(r"(?i)(\b(?:api_key|token|secret|password)=)([^&\s\"'#]+)")
# An Authorization header as it may show up in a dumped request or an error message.
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*[\"']?(?:bearer |basic )?)([^\s\"',)]+)")
# The secret in Apify's callback address (/webhooks/apify/{secret}): in our access lines and in
# whatever Apify's errors repeat of the webhook we gave it.
_CALLBACK = re.compile(r"(/webhooks/apify/)([^/?#\s\"']+)")


def redact(text: str) -> str:
    """`text` with every key, credential query value and Authorization value masked."""
    if "k_" in text:
        text = _KEY.sub(_masked_key, text)
    if "=" in text:
        text = _QUERY.sub(_masked_value, text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTHORIZATION.sub(_masked_value, text)
    if "/webhooks/apify/" in text:
        text = _CALLBACK.sub(_masked_value, text)
    return text


def masked(key: str) -> str:
    """How a key is shown in a log: its kind and nothing else (`sk_***`)."""
    return key[:3] + REDACTED if key[:3] in ("pk_", "sk_") else REDACTED


def _masked_key(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED


def _masked_value(match: re.Match[str]) -> str:
    return match.group(1) + masked(match.group(2))


# -- the request being served ---------------------------------------------------------------


@dataclass(slots=True)
class RequestFacts:
    """What the access line reports beyond the ASGI messages; filled in while serving."""

    request_id: str
    client_id: int | None = None
    memory: bool = False


_CURRENT: ContextVar[RequestFacts | None] = ContextVar("flowkick_request", default=None)


def current() -> RequestFacts | None:
    return _CURRENT.get()


def note_client(client_id: int, memory: bool) -> None:
    """Called where a feed request is counted: which client it was, and whether memory answered."""
    facts = _CURRENT.get()
    if facts is not None:
        facts.client_id, facts.memory = client_id, memory


def serving(facts: RequestFacts) -> Any:
    """Makes `facts` the current request's; pass the result to `done`."""
    return _CURRENT.set(facts)


def done(token: Any) -> None:
    _CURRENT.reset(token)


# -- formatting ------------------------------------------------------------------------------

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "fields"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's fields."""

    always: dict[str, Any] = {}  # fields of every line (a worker's pid), set by `configure`

    def line(self, logger: str, message: str, fields: dict[str, Any]) -> str:
        """An info line from fields already free of credentials (the access log's fast path)."""
        return orjson.dumps({"time": _timestamp(time.time()), "level": "info", "logger": logger, "message": message,
                             **self.always, **fields}).decode()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _timestamp(record.created), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage(), **self.always}
        line.update(_fields(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(line, default=str).decode())  # the whole line: values nested in lists too


class TextFormatter(logging.Formatter):
    """`time level logger message key=value …`, for a person reading a terminal."""

    always: dict[str, Any] = {}  # fields of every line (a worker's pid), set by `configure`

    def line(self, logger: str, message: str, fields: dict[str, Any]) -> str:
        extra = " ".join(f"{k}={v}" for k, v in {**self.always, **fields}.items() if v is not None)
        return f"{_timestamp(time.time())} INFO    {logger}: {message} {extra}"

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_timestamp(record.created)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extra = " ".join(f"{k}={v}" for k, v in {**self.always, **_fields(record)}.items() if v is not None)
        if extra:
            text += " " + extra
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact(text)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = getattr(record, "fields", None) or {}
    if len(record.__dict__) > len(_STANDARD):  # plain `extra={...}` keys count as fields too
        fields = {**{k: v for k, v in record.__dict__.items() if k not in _STANDARD}, **fields}
    return fields


_second: list[Any] = [0, ""]


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is formatted once a second."""
    whole = int(created)
    if _second[0] != whole:
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


# -- writing ---------------------------------------------------------------------------------


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that also takes access lines in batches (see the module docstring)."""

    BATCH = 512
    INTERVAL = 0.25

    def __init__(self, stream: TextIO, formatter: JsonFormatter | TextFormatter, shared: bool = False) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.lines = formatter
        self.shared = shared  # other processes write to the same stream
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._batch_lock = threading.Lock()

    def add(self, logger: str, message: str, fields: dict[str, Any]) -> None:
        self._pending.append(self.lines.line(logger, message, fields))
        if len(self._pending) >= self.BATCH:
            self.write_pending()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self.INTERVAL, self.write_pending)
            except RuntimeError:  # no event loop in this thread: write at once
                self.write_pending()

    def write_pending(self) -> None:
        with self._batch_lock:
            self._timer, lines, self._pending = None, self._pending, []
            if lines:
                self.acquire()
                try:
                    for piece in _pieces(lines) if self.shared else ["\n".join(lines) + "\n"]:
                        self.stream.write(piece)
                        self.stream.flush()
                finally:
                    self.release()

    def emit(self, record: logging.LogRecord) -> None:
        self.write_pending()
        super().emit(record)

    def flush(self) -> None:
        self.write_pending()
        super().flush()


def _pieces(lines: list[str]) -> list[str]:
    """The lines in runs of at most PIPE_BUF bytes (a longer line goes alone): a write that
    size reaches a pipe or file whole, never cut by another process's write."""
    pieces: list[str] = []
    run: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode()) + 1
        if run and size + length > select.PIPE_BUF:
            pieces.append("\n".join(run) + "\n")
            run, size = [], 0
        run.append(line)
        size += length
    pieces.append("\n".join(run) + "\n")
    return pieces


_installed: list[LineHandler] = []  # the handler `configure` installed, if it is still on the root logger


def fast_handler(logger: logging.Logger) -> LineHandler | None:
    """The handler that takes `logger`'s info lines directly, when `configure` installed one."""
    if not _installed or not logger.isEnabledFor(logging.INFO):
        return None
    handler = _installed[0]
    return handler if handler in logging.getLogger().handlers else None


# -- set-up ----------------------------------------------------------------------------------


def configure(level: str = "info", style: str = "auto", stream: TextIO | None = None,
              worker: bool = False) -> logging.Handler:
    """Sends every logger's records (uvicorn's too) to `stream` as JSON lines or text.

    `style` is `json`, `text`, or `auto`: text when the stream is a terminal, else JSON.
    `worker`: one of several processes writing to the stream (see the module's docstring).
    Returns the handler, so a caller (a test) can remove it again.
    """
    stream = stream or sys.stdout
    if style == "auto":
        style = "text" if stream.isatty() else "json"
    formatter = TextFormatter() if style == "text" else JsonFormatter()
    if worker:
        formatter.always = {"pid": os.getpid()}
    handler = LineHandler(stream, formatter, shared=worker)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LineHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    _installed[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
