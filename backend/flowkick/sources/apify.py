"""Apify as a source: one actor run per batch of handles, through the official async client.

Starting a run sends the platform spec's input (with its date filter for an incremental
run), two caps on what it may charge (`maxItems` and `maxTotalChargeUsd`), the run timeout
and, when FLOWKICK_PUBLIC_URL is set, ad-hoc webhooks for the run's end. Collecting it
polls the run every `apify_poll_seconds`; a webhook for that run (`wake`) only cuts the
pause short, since a re-read of the run with our own token is what decides. A run that
did not succeed is a failed result, so every handle keeps its items; a successful run's
whole dataset is read (a handle whose rows come last loses nothing), parsed by the
platform spec and cut to `limit` items per handle. Its cost comes from its pricing and
the results it was charged (`flowkick.costs`): pay-per-result runs carry no `usageTotalUsd`.

The client retries Apify's 429 and 5xx answers itself (`apify_retry_delay_seconds`); what
still fails raises, and the refresher records the failure and backs off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flowkick.costs import charged_results, run_cost
from flowkick.settings import Settings
from flowkick.sources import FetchResult, HandleResult, RunStarted
from flowkick.sources.actors import ACTORS

if TYPE_CHECKING:  # the client exports its models only from a private module
    from apify_client import ApifyClientAsync
    from apify_client._models import Run

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})
WEBHOOK_EVENTS = ("ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED", "ACTOR.RUN.TIMED_OUT", "ACTOR.RUN.ABORTED")
# How long past its own timeout a run may take to report its end before we stop waiting.
GRACE_SECONDS = 120.0
_MAX_ERROR_LEN = 300
# Without FLOWKICK_SECRET_KEY the webhook path changes with every process (see `webhook_secret`).
_PROCESS_KEY = secrets.token_bytes(32)


def webhook_secret(settings: Settings) -> str:
    """The secret path segment of Apify's callbacks.

    Derived from FLOWKICK_SECRET_KEY rather than being it: Apify shows webhook URLs in
    its console and logs, and a leaked callback URL must not leak the key that signs
    sessions. Without a secret key it is random per process, so callbacks for runs of an
    earlier process are refused; polling and re-attaching still collect those runs.
    """
    key = settings.secret_key.encode() or _PROCESS_KEY
    return hmac.new(key, b"flowkick apify webhook", hashlib.sha256).hexdigest()[:40]


def webhook_url(settings: Settings) -> str | None:
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}/webhooks/apify/{webhook_secret(settings)}"


class ApifySource:
    """Every platform's actor runs, one client and one set of waiting runs for all of them."""

    name = "apify"

    def __init__(self, settings: Settings) -> None:
        # Imported here, by a server with a token: the client's models take about 0.35 s and
        # 12 MB to import, which the demo, the CLI's other commands and tests never need.
        from apify_client import ApifyClientAsync

        self.settings = settings
        self.client: ApifyClientAsync = ApifyClientAsync(
            settings.apify_token,
            api_url=settings.apify_api_url,
            min_delay_between_retries=timedelta(seconds=settings.apify_retry_delay_seconds),
        )
        self._waiting: dict[str, asyncio.Event] = {}

    async def fetch(self, platform: str, handles: list[str], limit: int) -> FetchResult:
        started = await self.start_run(platform, handles, limit)
        return await self.collect_run(platform, handles, limit, started.run_id)

    async def start_run(self, platform: str, handles: list[str], limit: int,
                        since: datetime | None = None) -> RunStarted:
        spec = ACTORS[platform]
        run = await self.client.actor(self.settings.actor(platform)).start(
            run_input=spec.build_input(handles, limit, since),
            max_items=spec.max_items(handles, limit, since),
            max_total_charge_usd=Decimal(str(round(spec.max_charge_usd(handles, limit, since), 4))),
            run_timeout=timedelta(seconds=self.settings.apify_run_timeout_seconds),
            webhooks=self._webhooks(),
        )
        return RunStarted(run.id, run.default_dataset_id)

    async def collect_run(self, platform: str, handles: list[str], limit: int, run_id: str) -> FetchResult:
        run = await self._finished(run_id)
        if run is None:
            return FetchResult(status="LOST", error=f"Apify does not know run {run_id}", run_id=run_id)
        rows = await self._items(run.default_dataset_id)
        charged = charged_results(run, len(rows))
        audit: dict[str, Any] = {"run_id": run.id, "dataset_id": run.default_dataset_id,
                                 "cost_usd": run_cost(run, charged), "charged": charged}
        if run.status != "SUCCEEDED":
            return FetchResult(status=_failed_status(run), error=_run_error(run), **audit)
        parsed = ACTORS[platform].parse(rows, handles, now=run.finished_at or datetime.now(UTC))
        cut = {handle: _newest(result, limit) for handle, result in parsed.handles.items()}
        return FetchResult(handles=cut, skipped=parsed.skipped, **audit)

    def wake(self, run_id: str) -> bool:
        """A webhook says `run_id` ended: re-read it now. False when no fetch here waits for it."""
        event = self._waiting.get(run_id)
        if event is not None:
            event.set()
        return event is not None

    def _webhooks(self) -> list[dict[str, Any]] | None:
        url = webhook_url(self.settings)
        return [{"event_types": list(WEBHOOK_EVENTS), "request_url": url}] if url else None

    async def _finished(self, run_id: str) -> Run | None:
        """The run once it ended (or our patience did); None when Apify does not know it."""
        woken = self._waiting.setdefault(run_id, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.apify_run_timeout_seconds + GRACE_SECONDS
        try:
            while True:
                woken.clear()  # before the read, so a webhook arriving during it still counts
                run = await self.client.run(run_id).get()
                if run is None or run.status in TERMINAL or loop.time() >= deadline:
                    return run
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self.settings.apify_poll_seconds, deadline - loop.time())):
                        await woken.wait()
        finally:
            self._waiting.pop(run_id, None)

    async def _items(self, dataset_id: str) -> list[Any]:
        """Every row of the dataset: what the run charged for is bounded by its own caps."""
        return [item async for item in self.client.dataset(dataset_id).iterate_items()]


def _failed_status(run: Run) -> str:
    """Apify's terminal status, or TIMED-OUT when the run never reported an end."""
    return run.status if run.status in TERMINAL else "TIMED-OUT"


def _run_error(run: Run) -> str:
    if run.status not in TERMINAL:
        return f"run still {run.status} after its timeout; gave up waiting"
    message = f"run {run.status}: {run.status_message}" if run.status_message else f"run {run.status}"
    return message[:_MAX_ERROR_LEN]


def _newest(result: HandleResult, limit: int) -> HandleResult:
    return replace(result, items=result.items[:limit])
