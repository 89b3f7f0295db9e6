"""`FakeApify`: the fake Apify API server and everything a test does with it.

    fake = FakeApify().start()          # or the `fake_apify` pytest fixture
    client = fake.client()              # ApifyClientAsync(token, api_url=fake.url, fast retries)
    fake.world.remove("instagram", "gone.cafe")          # the account disappears
    fake.fail_requests(3, status=429, kind="start")      # three rate-limited run starts
    fake.plan_runs(status="FAILED")                      # the next run fails
    fake.plan_runs(duration=1.5, webhooks="duplicate")   # a slow run, webhook sent twice
    fake.plan_runs(items=[])                             # an empty dataset
    fake.plan_runs(items=MALFORMED_ITEMS)                # junk in the dataset
    fake.runs, fake.run_count("apify/instagram-scraper"), fake.requests, fake.deliveries

All control methods are safe from the test thread and from async tests: the server runs
on its own thread and event loop.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Any

from apify_client import ApifyClientAsync

from .actors import actor_for, example_input
from .runs import Engine, RequestFault, RequestRecord, RunPlan, RunRecord
from .server import REQUEST_KINDS, create_app
from .settings import Settings
from .threaded import ThreadedServer
from .webhooks import Delivery
from .world import World

DEFAULT_TOKEN = "fake-apify-token"

MALFORMED_ITEMS: list[Any] = [
    "just a string",
    {"id": None},
    {"id": ["not", "a", "string"], "caption": 12345, "timestamp": "not a date"},
    [],
    {},
    None,
]
"""Dataset rows no real actor should push but a parser must survive."""


class FakeApify:
    """A fake Apify API on 127.0.0.1 plus its control and inspection API."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.world = World()
        self.settings = Settings()
        self._engine = Engine(self.settings)
        self._server = ThreadedServer(create_app(self._engine, self.world, token))

    @property
    def url(self) -> str:
        """The `api_url` to give the client: a bare origin such as `http://127.0.0.1:40123`."""
        return self._server.url

    def start(self) -> FakeApify:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeApify:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def client(self, **options: Any) -> ApifyClientAsync:
        """An `ApifyClientAsync` pointed at the fake, with retry pauses short enough for tests."""
        options.setdefault("min_delay_between_retries", timedelta(milliseconds=10))
        return ApifyClientAsync(options.pop("token", self.token), api_url=self.url, **options)

    # --- faults ------------------------------------------------------------------------

    def fail_requests(self, count: int = 1, *, status: int = 429, kind: str | None = None) -> None:
        """Answer the next `count` requests with `status` (429 `rate-limit-exceeded`, or a 5xx).

        `kind` limits it to one kind of request: `start`, `get` (run), `items`, `abort`,
        `actor`, `log`, `other`; None means any request.
        """
        if kind not in (None, *REQUEST_KINDS):
            raise ValueError(f"kind must be None or one of {REQUEST_KINDS}")
        self._engine.add_fault(RequestFault(status, kind, count))

    def plan_runs(
        self,
        count: int = 1,
        *,
        status: str = "SUCCEEDED",
        duration: float | None = None,
        items: list[Any] | None = None,
        webhooks: str = "deliver",
        actor: str | None = None,
    ) -> None:
        """Decide how the next `count` runs (of `actor`, e.g. "apify/instagram-scraper", or any) go.

        `status`: the terminal state (SUCCEEDED, FAILED, TIMED-OUT, ABORTED).
        `duration`: seconds until then (default `settings.run_duration`); a duration over the
        run's `timeout` ends TIMED-OUT at the timeout, as on Apify.
        `items`: the dataset verbatim (`[]` empty, `MALFORMED_ITEMS` junk).
        `webhooks`: "deliver", "duplicate" (each dispatch twice) or "drop" (none sent).
        """
        self._engine.add_plans([RunPlan(status, duration, items, webhooks, actor) for _ in range(count)])

    # --- inspection --------------------------------------------------------------------

    @property
    def runs(self) -> list[RunRecord]:
        """Every run started, oldest first, with its input, query and decoded webhooks."""
        return self._engine.records()

    def run_count(self, actor: str | None = None) -> int:
        return sum(1 for run in self.runs if actor in (None, run.actor))

    @property
    def requests(self) -> list[RequestRecord]:
        return self._engine.requests.snapshot()

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery attempt made (retries and duplicates included)."""
        return self._engine.deliveries.snapshot()

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        return self._engine.deliveries.wait_for(count, timeout)

    async def wait_for_deliveries_async(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        return await self._engine.deliveries.wait_for_async(count, timeout)

    def make_items(self, platform: str, handle: str, count: int = 3) -> list[Any]:
        """What the actor would push for `handle` now, for a test to edit and pass to `world.set_items`."""
        return actor_for(platform).collect(self.world, example_input(platform, [handle], count))[:count]

    def reset(self) -> None:
        """Back to a fresh fake (same port): world, settings, plans, faults, runs and logs."""
        self.world.reset()
        self.settings.restore_defaults()
        self._engine.reset()
