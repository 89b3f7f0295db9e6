"""Actor runs of the fake: their lifecycle, datasets, and the faults tests inject into them.

The `Engine` is shared by the server thread (which creates and advances runs on its event
loop) and the test thread (which plans faults and reads records). Every piece of shared
state is touched under one lock; asyncio objects are only touched on the server loop.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.samples import SAMPLES

from .actors import ActorSpec
from .ids import new_id
from .recording import Recording
from .settings import Settings
from .webhooks import Delivery, Dispatcher, Webhook, event_variables

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")
EVENT_TYPES = {
    "SUCCEEDED": "ACTOR.RUN.SUCCEEDED",
    "FAILED": "ACTOR.RUN.FAILED",
    "TIMED-OUT": "ACTOR.RUN.TIMED_OUT",
    "ABORTED": "ACTOR.RUN.ABORTED",
}
_STATUS_MESSAGES = {
    "SUCCEEDED": "Finished! Total {n} requests: {n} succeeded, 0 failed.",
    "FAILED": "The Actor process exited with code 1 (simulated failure).",
    "TIMED-OUT": "The Actor run timed out.",
    "ABORTED": "The Actor run was aborted.",
}
_RUN_TEMPLATE: dict[str, Any] = json.loads((SAMPLES / "run-succeeded.json").read_text())["data"]
WEBHOOK_MODES = ("deliver", "duplicate", "drop")


@dataclass(frozen=True)
class RunPlan:
    """How the next matching run goes. Unset fields fall back to `Settings` and the actor.

    `items` replaces the dataset verbatim whatever the status (`[]` for an empty dataset,
    a list of junk for a malformed one); otherwise a SUCCEEDED run gets what the actor
    built and any other outcome an empty dataset.
    """

    status: str = "SUCCEEDED"
    duration: float | None = None
    items: list[Any] | None = None
    webhooks: str = "deliver"
    actor: str | None = None

    def __post_init__(self) -> None:
        if self.status not in TERMINAL:
            raise ValueError(f"status must be one of {TERMINAL}")
        if self.webhooks not in WEBHOOK_MODES:
            raise ValueError(f"webhooks must be one of {WEBHOOK_MODES}")


@dataclass(frozen=True)
class RunOptions:
    """What the start request's query string asked for."""

    build: str = "latest"
    timeout_secs: int = 3600
    memory_mbytes: int = 1024
    max_items: int | None = None
    max_total_charge_usd: float | None = None
    wait_for_finish: int = 0
    webhooks: tuple[Webhook, ...] = ()


@dataclass(frozen=True)
class RunRecord:
    """A snapshot of one run for tests: what was asked and how it went."""

    id: str
    actor: str
    input: dict[str, Any]
    query: dict[str, str]
    max_items: int | None
    max_total_charge_usd: float | None
    timeout_secs: int
    memory_mbytes: int
    webhooks: list[dict[str, Any]]
    status: str
    dataset_id: str
    item_count: int
    charged_usd: float
    """What the run charged: its actor's price for the items it pushed."""


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    kind: str
    status_code: int


@dataclass
class RequestFault:
    """Answer the next `remaining` requests of `kind` (any kind when None) with `status_code`."""

    status_code: int
    kind: str | None
    remaining: int


@dataclass
class Run:
    actor: ActorSpec
    input: dict[str, Any]
    query: dict[str, str]
    options: RunOptions
    plan: RunPlan
    items: list[Any]
    user_agent: str
    input_bytes: int
    id: str = field(default_factory=new_id)
    dataset_id: str = field(default_factory=new_id)
    key_value_store_id: str = field(default_factory=new_id)
    request_queue_id: str = field(default_factory=new_id)
    build_id: str = field(default_factory=new_id)
    status: str = "READY"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    item_count: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def resource(self, user_id: str) -> dict[str, Any]:
        """The run object as `GET /v2/actor-runs/{id}` answers it (validated by the client's `Run`).

        Like a real pay-per-result run seen by its user, it carries the actor's `pricingInfo`
        but no `usageTotalUsd` (Apify returns that for rental actors or to the actor's own
        developer); a pay-per-event run also carries `chargedEventCounts`.
        """
        data = copy.deepcopy(_RUN_TEMPLATE)
        seconds = ((self.finished_at or datetime.now(UTC)) - self.started_at).total_seconds()
        del data["usageTotalUsd"]
        data.update(
            id=self.id, actId=self.actor.act_id, userId=user_id, startedAt=_iso(self.started_at),
            finishedAt=_iso(self.finished_at) if self.finished_at else None, status=self.status,
            statusMessage=self._status_message(), isStatusMessageTerminal=self.terminal,
            buildId=self.build_id, exitCode={"SUCCEEDED": 0, "FAILED": 1}.get(self.status),
            defaultKeyValueStoreId=self.key_value_store_id, defaultDatasetId=self.dataset_id,
            defaultRequestQueueId=self.request_queue_id, containerUrl=f"https://{self.id.lower()}.runs.apify.net",
            consoleUrl=f"https://console.apify.com/view/runs/{self.id}",
        )
        data["meta"]["userAgent"] = self.user_agent
        data["options"] = self._options()
        data.update(self._pricing(data["pricingInfo"]))
        compute_units = self.options.memory_mbytes / 1024 * seconds / 3600
        data["stats"].update(
            inputBodyLen=self.input_bytes, durationMillis=int(seconds * 1000), runTimeSecs=seconds, computeUnits=compute_units
        )
        data["usage"].update(ACTOR_COMPUTE_UNITS=compute_units, DATASET_WRITES=self.item_count)
        return data

    def _pricing(self, template: dict[str, Any]) -> dict[str, Any]:
        """`pricingInfo` (and `chargedEventCounts` when priced per event) of this run's actor."""
        if not self.actor.per_event:
            return {"pricingInfo": {**template, "pricePerUnitUsd": self.actor.price_per_item_usd}}
        common = {key: template[key] for key in ("apifyMarginPercentage", "createdAt", "startedAt")}
        events = {
            "actor-start": {"eventTitle": "Actor start", "eventDescription": "Charged when a run starts.",
                            "eventPriceUsd": self.actor.start_event_usd},
            "result": {"eventTitle": "Result", "eventDescription": "One item in the dataset.",
                       "eventPriceUsd": self.actor.price_per_item_usd},
        }
        return {
            "pricingInfo": {**common, "pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": events}},
            "chargedEventCounts": {"actor-start": 1, "result": self.item_count},
        }

    def _options(self) -> dict[str, Any]:
        options = {
            "build": self.options.build, "timeoutSecs": self.options.timeout_secs,
            "memoryMbytes": self.options.memory_mbytes, "diskMbytes": 2 * self.options.memory_mbytes,
        }
        if self.options.max_items is not None:
            options["maxItems"] = self.options.max_items
        if self.options.max_total_charge_usd is not None:
            options["maxTotalChargeUsd"] = self.options.max_total_charge_usd
        return options

    def _status_message(self) -> str:
        if not self.terminal:
            return "Starting the Actor" if self.status == "READY" else "Crawling profiles"
        return _STATUS_MESSAGES[self.status].format(n=self.item_count)

    def record(self) -> RunRecord:
        return RunRecord(
            id=self.id, actor=self.actor.name, input=copy.deepcopy(self.input), query=dict(self.query),
            max_items=self.options.max_items, max_total_charge_usd=self.options.max_total_charge_usd,
            timeout_secs=self.options.timeout_secs,
            memory_mbytes=self.options.memory_mbytes, webhooks=[dict(h.raw) for h in self.options.webhooks],
            status=self.status, dataset_id=self.dataset_id, item_count=self.item_count,
            charged_usd=round(self.actor.charge(self.item_count), 6),
        )


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class Engine:
    """Runs, datasets, injected faults and the request log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deliveries: Recording[Delivery] = Recording()
        self.requests: Recording[RequestRecord] = Recording()
        self.dispatcher = Dispatcher(self.deliveries, settings)
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._datasets: dict[str, list[Any]] = {}
        self._plans: list[RunPlan] = []
        self._faults: list[RequestFault] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """Server startup: remember the loop (so `reset` can reach it) and open the dispatcher."""
        self._loop = asyncio.get_running_loop()
        await self.dispatcher.open()

    # --- test thread ---------------------------------------------------------------------

    def add_plans(self, plans: list[RunPlan]) -> None:
        with self._lock:
            self._plans.extend(plans)

    def add_fault(self, fault: RequestFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def records(self) -> list[RunRecord]:
        with self._lock:
            return [run.record() for run in self._runs.values()]

    def reset(self) -> None:
        """Forget runs, datasets, plans, faults and logs; stop runs and deliveries in flight.

        Called from the test thread, never from the server loop (it waits on that loop).
        """
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._cancel_in_flight(), self._loop).result(timeout=5)
        with self._lock:
            self._runs.clear()
            self._datasets.clear()
            self._plans.clear()
            self._faults.clear()
        self.requests.clear()
        self.deliveries.clear()

    # --- server loop ---------------------------------------------------------------------

    def take_fault(self, kind: str) -> RequestFault | None:
        with self._lock:
            fault = next((f for f in self._faults if f.kind in (None, kind)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault

    def start(self, actor: ActorSpec, run_input: dict[str, Any], items: list[Any], options: RunOptions, **meta: Any) -> Run:
        """Create a run (READY) and schedule its lifecycle on the running loop."""
        with self._lock:
            plan = self._take_plan(actor)
            run = Run(actor, run_input, options=options, plan=plan, items=items, **meta)
            self._runs[run.id] = run
            self._datasets[run.dataset_id] = []
        self._fire(run, "ACTOR.RUN.CREATED")
        task = asyncio.get_running_loop().create_task(self._lifecycle(run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def _take_plan(self, actor: ActorSpec) -> RunPlan:
        plan = next((p for p in self._plans if p.actor in (None, actor.name)), None)
        if plan is None:
            return RunPlan()
        self._plans.remove(plan)
        return plan

    def run(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def dataset(self, dataset_id: str) -> list[Any] | None:
        with self._lock:
            items = self._datasets.get(dataset_id)
            return None if items is None else list(items)

    def resource(self, run: Run) -> dict[str, Any]:
        with self._lock:
            return run.resource(self.settings.user_id)

    async def wait(self, run: Run, seconds: float) -> None:
        """Hold a request until the run ends or min(seconds, cap) passed (`waitForFinish`)."""
        timeout = min(seconds, self.settings.wait_cap)
        if timeout > 0 and not run.terminal:
            try:
                await asyncio.wait_for(run.finished.wait(), timeout)
            except TimeoutError:
                pass

    def abort(self, run: Run) -> None:
        if not run.terminal:
            self._finish(run, "ABORTED")

    async def _lifecycle(self, run: Run) -> None:
        duration = self.settings.run_duration if run.plan.duration is None else run.plan.duration
        ready = min(0.01, duration / 2)
        await asyncio.sleep(ready)
        if run.terminal:
            return
        with self._lock:
            run.status = "RUNNING"
        timed_out = duration > run.options.timeout_secs
        await asyncio.sleep((run.options.timeout_secs if timed_out else duration) - ready)
        if not run.terminal:
            self._finish(run, "TIMED-OUT" if timed_out else run.plan.status)

    def _finish(self, run: Run, status: str) -> None:
        """Push the dataset, set the terminal state, wake waiters and fire webhooks."""
        items = run.plan.items if run.plan.items is not None else run.items if status == "SUCCEEDED" else []
        with self._lock:
            self._datasets[run.dataset_id] = copy.deepcopy(items)
            run.item_count = len(items)
            run.status = status
            run.finished_at = datetime.now(UTC)
        run.finished.set()
        self._fire(run, EVENT_TYPES[status])

    def _fire(self, run: Run, event_type: str) -> None:
        if run.options.webhooks:
            variables = event_variables(self.settings.user_id, event_type, self.resource(run))
            self.dispatcher.dispatch(list(run.options.webhooks), event_type, variables, run.plan.webhooks)

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.dispatcher.cancel_in_flight()

    async def aclose(self) -> None:
        """Server shutdown: stop runs and deliveries in flight, close the dispatcher."""
        await self._cancel_in_flight()
        await self.dispatcher.aclose()
