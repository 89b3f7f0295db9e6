"""Ad-hoc webhooks as Apify sends them (api-notes §5), delivered to loopback targets only.

A run's `webhooks` query parameter is decoded and checked at run start; when the run
reaches an event, each matching webhook gets one dispatch: a POST of the rendered
payload template with Apify's fixed headers, retried on non-2xx after short delays (the
real schedule starts at one minute). Tests can make a dispatch arrive twice (same
dispatch id, as Apify warns may happen) or not at all.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from .ids import new_id
from .recording import Recording
from .settings import Settings

DEFAULT_PAYLOAD_TEMPLATE = (
    '{"userId": {{userId}}, "createdAt": {{createdAt}}, "eventType": {{eventType}}, '
    '"eventData": {{eventData}}, "resource": {{resource}}}'
)
_FIXED_HEADERS = {
    "host", "content-type", "content-length", "x-apify-webhook", "x-apify-webhook-dispatch-id", "x-apify-request-origin",
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# A JSON string literal (skipped or interpolated) or a {{variable}} outside strings.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\{\{\s*([\w.]+)\s*\}\}')
_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
_EXAMPLE_VARIABLES = {
    "userId": "u", "createdAt": "t", "eventType": "e", "eventData": {}, "resource": {},
    "globals": {"dateISO": "t", "dateUnix": 0},
}


@dataclass(frozen=True)
class Webhook:
    """One ad-hoc webhook of a run, as the client encoded it."""

    event_types: tuple[str, ...]
    request_url: str
    payload_template: str = DEFAULT_PAYLOAD_TEMPLATE
    headers_template: str | None = None
    interpolate_strings: bool = False
    do_not_retry: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class Delivery:
    """One HTTP attempt to deliver a dispatch (retries and duplicates share the dispatch id)."""

    dispatch_id: str
    run_id: str
    event_type: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    headers: dict[str, str]
    payload: Any


def decode_webhooks(encoded: str) -> list[Webhook]:
    """The `webhooks` query parameter: base64 of a JSON array. Raises ValueError when invalid."""
    try:
        entries = json.loads(base64.b64decode(encoded, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"webhooks is not base64-encoded JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise ValueError("webhooks must be a JSON array")
    return [_webhook(entry) for entry in entries]


def _webhook(entry: Any) -> Webhook:
    if not isinstance(entry, dict) or not isinstance(entry.get("requestUrl"), str):
        raise ValueError("each webhook needs a requestUrl")
    events = entry.get("eventTypes")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ValueError("each webhook needs a non-empty eventTypes array")
    hook = Webhook(
        event_types=tuple(events),
        request_url=entry["requestUrl"],
        payload_template=entry.get("payloadTemplate") or DEFAULT_PAYLOAD_TEMPLATE,
        headers_template=entry.get("headersTemplate"),
        interpolate_strings=bool(entry.get("shouldInterpolateStrings")),
        do_not_retry=bool(entry.get("doNotRetry")),
        raw=entry,
    )
    _payload(hook, _EXAMPLE_VARIABLES)
    _headers(hook, _EXAMPLE_VARIABLES)
    return hook


def render(template: str, variables: dict[str, Any], interpolate_strings: bool = False) -> str:
    """Fill `{{var}}` with JSON values; inside string literals only when `interpolate_strings`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return json.dumps(_lookup(variables, match.group(1)), ensure_ascii=False)
        if not interpolate_strings:
            return match.group(0)
        return _VARIABLE.sub(lambda inner: _in_string(_lookup(variables, inner.group(1))), match.group(0))

    return _TOKEN.sub(replace, template)


def _in_string(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _lookup(variables: dict[str, Any], path: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _payload(hook: Webhook, variables: dict[str, Any]) -> str:
    body = render(hook.payload_template, variables, hook.interpolate_strings)
    try:
        json.loads(body)
    except ValueError as exc:
        raise ValueError(f"payloadTemplate does not render to JSON: {exc}") from exc
    return body


def _headers(hook: Webhook, variables: dict[str, Any]) -> dict[str, str]:
    if not hook.headers_template:
        return {}
    try:
        headers = json.loads(render(hook.headers_template, variables, hook.interpolate_strings))
    except ValueError as exc:
        raise ValueError(f"headersTemplate does not render to JSON: {exc}") from exc
    if not isinstance(headers, dict):
        raise ValueError("headersTemplate must render to a JSON object")
    return {str(k): str(v) for k, v in headers.items() if str(k).lower() not in _FIXED_HEADERS}


def event_variables(user_id: str, event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    iso = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return {
        "userId": user_id,
        "createdAt": iso,
        "eventType": event_type,
        "eventData": {"actorId": resource["actId"], "actorRunId": resource["id"]},
        "resource": resource,
        "globals": {"dateISO": iso, "dateUnix": int(now.timestamp())},
    }


class Dispatcher:
    """Sends dispatches from the server's event loop and records every attempt."""

    def __init__(self, deliveries: Recording[Delivery], settings: Settings) -> None:
        self.deliveries = deliveries
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self._client = httpx.AsyncClient(timeout=5.0, trust_env=False)

    async def cancel_in_flight(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.cancel_in_flight()
        if self._client is not None:
            await self._client.aclose()

    def dispatch(self, hooks: list[Webhook], event_type: str, variables: dict[str, Any], mode: str) -> None:
        """Start one dispatch per webhook listening for `event_type` (`mode`: deliver, duplicate, drop)."""
        if mode == "drop":
            return
        for hook in hooks:
            if event_type in hook.event_types:
                copies = 2 if mode == "duplicate" else 1
                task = asyncio.get_running_loop().create_task(self._send(hook, event_type, variables, copies))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(self, hook: Webhook, event_type: str, variables: dict[str, Any], copies: int) -> None:
        dispatch_id = new_id()
        body = _payload(hook, variables)
        headers = {
            **_headers(hook, variables),
            "Content-Type": "application/json",
            "X-Apify-Webhook": hook.id,
            "X-Apify-Webhook-Dispatch-Id": dispatch_id,
            "X-Apify-Request-Origin": "WEBHOOK",
        }
        attempt = _Attempt(dispatch_id, variables["resource"]["id"], event_type, hook.request_url, headers, json.loads(body))
        for _ in range(copies):
            await self._deliver(hook, body, attempt)

    async def _deliver(self, hook: Webhook, body: str, attempt: _Attempt) -> None:
        """One delivery with its retries; loopback targets only, so tests never reach the internet."""
        if urlsplit(hook.request_url).hostname not in _LOOPBACK:
            self.deliveries.append(attempt.record(1, None, "refused: the fake Apify only calls 127.0.0.1"))
            return
        delays = () if hook.do_not_retry else self.settings.webhook_retry_delays
        for number, delay in enumerate((0.0, *delays), start=1):
            await asyncio.sleep(delay)
            status, error = await self._post(hook.request_url, body, attempt.headers)
            self.deliveries.append(attempt.record(number, status, error))
            if status is not None and 200 <= status < 300:
                return

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str | None]:
        assert self._client is not None, "dispatcher not opened"
        try:
            response = await self._client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None


@dataclass(frozen=True)
class _Attempt:
    """What every attempt of one dispatch shares."""

    dispatch_id: str
    run_id: str
    event_type: str
    url: str
    headers: dict[str, str]
    payload: Any

    def record(self, number: int, status: int | None, error: str | None) -> Delivery:
        return Delivery(
            self.dispatch_id, self.run_id, self.event_type, self.url, number, status, error, dict(self.headers), self.payload
        )
