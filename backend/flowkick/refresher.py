"""The refresher: keeps tracked sources fresh behind the visitors' backs.

Each tick it picks due sources (never fetched; or requested lately and about to expire;
or expired and just requested), groups them by platform into batches, claims them with
a lease (so several processes on one database never fetch a source twice) and runs each
batch through the platform's source, at most `max_concurrent_runs` at once. A failed
handle keeps its last good items and backs off exponentially with jitter on its own.

A source that runs remote jobs (Apify) implements `RunSource`: the refresher records the
job's id in the batch's `refresh_run` row as soon as it starts, so a run a stopped
process left behind (INTERRUPTED, with a run id, started less than `lease_seconds` ago)
is re-attached by the next process, which collects that run's data instead of paying for
a new one, and stores it only into handles not refreshed since the run started.

What a fetch asks for (a fill, or only what is new since the stored items) and how its
answer is merged into them is `flowkick.collection`'s; what runs cost and who they were
for is `flowkick.costs`'; monthly budgets that stop refreshing are `flowkick.budgets`'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Select, and_, exists, or_, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick import collection, costs
from flowkick.budgets import Budgets
from flowkick.clock import Clock
from flowkick.collection import Due
from flowkick.database import Database, in_list, in_lists
from flowkick.plans import Plans
from flowkick.settings import Settings
from flowkick.sources import FetchResult, HandleResult, RunSource, RunStarted, Source
from flowkick.tables import Client, ClientSource, FeedCache, RefreshRun
from flowkick.tables import Source as SourceRow

log = logging.getLogger("flowkick.refresher")
DUE_ROWS_PER_SLOT = 3  # due rows a tick reads per batch it may start (some are skipped: plans, quotas)

Progress = Callable[[str, int, int], None]  # platform, handles done, handles due
Report = Callable[[str, int], None]  # platform, handles just finished


@dataclass(frozen=True)
class Resume:
    """An interrupted run re-attached by this process, and the handles still waiting for it."""

    row_id: int
    run_id: str
    platform: str
    handles: list[str]
    batch: list[Due]


@dataclass
class PassSummary:
    runs: int = 0
    items: int = 0
    errors: int = 0
    skipped: int = 0
    cost_usd: float = 0.0
    charged: int = 0
    platforms: dict[str, int] = field(default_factory=dict)

    def merge(self, other: PassSummary) -> None:
        self.runs += other.runs
        self.items += other.items
        self.errors += other.errors
        self.skipped += other.skipped
        self.cost_usd += other.cost_usd
        self.charged += other.charged
        for platform, runs in other.platforms.items():
            self.platforms[platform] = self.platforms.get(platform, 0) + runs


class Refresher:
    def __init__(
        self,
        db: Database,
        sources: Mapping[str, Source],
        settings: Settings,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        on_update: Callable[[Iterable[int]], None] | None = None,
    ) -> None:
        self.db = db
        self.sources = sources
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_update = on_update or (lambda ids: None)
        self.on_run: Callable[[str, str, float], None] = lambda platform, status, seconds: None  # metrics
        self.on_store: Callable[[FeedCache], None] = lambda row: None  # each feed stored, in its write (pictures)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._requested: set[int] = set()
        self._forced: set[int] = set()
        self.plans = Plans(settings.plans)
        self.budgets = Budgets(db, settings, clock)
        self.frozen: Callable[[], set[int]] = set  # clients over their monthly quota (set by the app)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self._batches: set[asyncio.Task[PassSummary]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    # -- the server's side -------------------------------------------------------------

    def request(self, source_id: int) -> None:
        """A visitor asked for a source that is pending or expired: fetch it soon, once."""
        if source_id not in self._requested:
            self._requested.add(source_id)
            self._wake.set()

    def wake(self) -> None:
        """Something finished elsewhere (a webhook for an interrupted run): look for work now."""
        self._wake.set()

    def refresh_now(self, source_id: int) -> None:
        """The operator asked: fetch this source now, whatever its age, plan or quota."""
        self._forced.add(source_id)
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="flowkick-refresher")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._batches) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None

    @property
    def alive(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def _loop(self) -> None:
        await self.recover()
        while True:
            try:
                await self._tick()
            except Exception:  # noqa: BLE001 - one bad tick must not end refreshing
                log.exception("refresher tick failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.tick_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def _tick(self) -> None:
        free = self.settings.max_concurrent_runs - len(self._batches)
        if free <= 0:
            return
        resumes = await self._claimed_resumes(None, free)
        for resume in resumes:
            self._spawn(self._resume(resume, None))
        if free > len(resumes):
            for batch in await self._claimed_batches(None, limit=free - len(resumes)):
                self._spawn(self._run_batch(batch, None))

    def _spawn(self, work: Coroutine[Any, Any, PassSummary]) -> None:
        task = asyncio.create_task(work)
        self._batches.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[PassSummary]) -> None:
        self._batches.discard(task)
        self._wake.set()  # a slot is free: there may be more due work

    # -- one pass (CLI, tests) ----------------------------------------------------------

    async def run_once(self, platforms: Iterable[str] | None = None, progress: Progress | None = None) -> PassSummary:
        """Collect interrupted runs, fetch everything due now, and wait for it all."""
        wanted = set(platforms) if platforms else None
        resumes = await self._claimed_resumes(wanted)
        batches = await self._claimed_batches(wanted)
        totals: dict[str, int] = {}
        for platform, batch in [(r.platform, r.batch) for r in resumes] + [(b[0].platform, b) for b in batches]:
            totals[platform] = totals.get(platform, 0) + len(batch)
        done = dict.fromkeys(totals, 0)

        def report(platform: str, handles: int) -> None:
            done[platform] += handles
            if progress:
                progress(platform, done[platform], totals[platform])

        summary = PassSummary()
        work = [*(self._resume(r, report) for r in resumes), *(self._run_batch(b, report) for b in batches)]
        for result in await asyncio.gather(*work):
            summary.merge(result)
        return summary

    async def recover(self) -> None:
        """After a crash: close the runs and free the leases of processes that are gone.

        Their runs become INTERRUPTED; those with a run id are re-attached by the next tick
        or pass (`_claimed_resumes`).
        """
        async def work(session: AsyncSession) -> None:
            running = (await session.execute(select(RefreshRun).where(RefreshRun.status == "RUNNING"))).scalars()
            dead = {run.owner for run in running if _owner_is_dead(run.owner, self.owner)}
            leased = await session.execute(select(FeedCache.lease_owner).where(col(FeedCache.lease_owner).is_not(None)))
            dead |= {owner for (owner,) in leased if owner and _owner_is_dead(owner, self.owner)}
            if not dead:
                return
            await session.execute(update(RefreshRun).where(col(RefreshRun.owner).in_(dead), RefreshRun.status == "RUNNING")
                                  .values(status="INTERRUPTED", error="the process stopped during the run",
                                          finished_at=self.clock.now()))
            await session.execute(update(FeedCache).where(col(FeedCache.lease_owner).in_(dead))
                                  .values(lease_owner=None, lease_until=None))

        await self.db.write(work)

    # -- choosing work ------------------------------------------------------------------

    async def _claimed_batches(self, platforms: set[str] | None, limit: int | None = None) -> list[list[Due]]:
        """Lease at most `limit` batches: a leased batch that does not run would block its sources."""
        asked = set(self._requested)
        forced, self._forced = self._forced, set()
        due, looked = await self._enough_due(platforms, asked, forced, limit)
        if looked is not None:
            self._forced |= forced - looked  # forced beyond the rows read: the next tick's
        batches: list[list[Due]] = []
        for batch in collection.batches(due, self.settings.batch_size)[:limit]:
            claimed = await self._claim(batch)
            if claimed:
                batches.append(claimed)
        waiting = {d.source_id for d in due} - {d.source_id for b in batches for d in b}
        # Forget the requests this pass answered; keep those waiting for a free slot, those
        # beyond the rows looked at, and those that came in while it queried the database.
        self._requested -= (asked if looked is None else asked & looked) - waiting
        self._forced |= forced & waiting  # an operator's "refresh now" that found no free slot
        return batches

    async def _enough_due(self, platforms: set[str] | None, requested: set[int], forced: set[int],
                          limit: int | None) -> tuple[list[Due], set[int] | None]:
        """Enough due sources for `limit` batches, most urgent first, and which sources were
        read when not all were. A tick that can start four runs reads a few hundred rows, not
        every due feed (a first fill of 30,000 read them all once per run); when the rows
        read are mostly skipped (plans' intervals, spent quotas) it reads four times more."""
        if limit is None:
            return await self._due(platforms, requested, forced, None)
        wanted = limit * self.settings.batch_size
        rows = wanted * DUE_ROWS_PER_SLOT
        while True:
            due, looked = await self._due(platforms, requested, forced, rows)
            if looked is None or len(due) >= wanted:
                return due, looked
            rows *= 4

    async def _due(self, platforms: set[str] | None, requested: set[int], forced: set[int],
                   rows_wanted: int | None) -> tuple[list[Due], set[int] | None]:
        """What is due now, most urgent first; when only the first `rows_wanted` were read,
        also which sources those were."""
        now = self.clock.now()
        read = await self._read_due(self._never_fetched(now, platforms), rows_wanted)
        if rows_wanted is None or len(read) < rows_wanted:
            left = None if rows_wanted is None else rows_wanted - len(read)
            read += await self._read_due(self._fetched_due(now, platforms, requested, forced), left)
        looked = {row[0] for row in read} if rows_wanted is not None and len(read) == rows_wanted else None
        rows = [row for row in read if row[1] in self.sources]
        budget = await self.budgets.state()
        if budget.exhausted:  # the month's Apify budget is spent: only what an operator forces runs
            rows = [row for row in rows if row[0] in forced]
        waits = await self._plan_waits([row[0] for row in rows if row[0] not in forced], budget.held_clients)
        return [collection.plan(Due(*row[:4]), collection.Stored(*row[4:7]), self.settings, now) for row in rows
                if row[0] in forced or row[4] is None or row[4] + waits.get(row[0], 0) <= now], looked

    def _due_query(self, now: float, platforms: set[str] | None) -> Select[Any]:
        """Feeds of a tracked source, leased by nobody, not backing off."""
        fc = FeedCache
        query = (
            select(fc.source_id, SourceRow.platform, SourceRow.handle, fc.version, fc.fetched_at, fc.newest_at,
                   fc.counts_renewed_at)
            .join(SourceRow, col(SourceRow.id) == fc.source_id)
            .where(exists().where(col(ClientSource.source_id) == fc.source_id),
                   or_(col(fc.lease_until).is_(None), col(fc.lease_until) < now),
                   or_(col(fc.next_attempt_at).is_(None), col(fc.next_attempt_at) <= now))
        )
        return query.where(col(SourceRow.platform).in_(platforms)) if platforms else query

    def _never_fetched(self, now: float, platforms: set[str] | None) -> Select[Any]:
        """Feeds never fetched come first, in the order ix_feed_cache_refresh keeps them (none
        expires, so that is the order they were added in): read from the index up to the
        limit, not sorted. Sorting them by source id sorted every feed still waiting, 30 ms
        for each batch of a first fill of 30,000."""
        return self._due_query(now, platforms).where(col(FeedCache.fetched_at).is_(None)).order_by(FeedCache.expires_at)

    def _fetched_due(self, now: float, platforms: set[str] | None, requested: set[int], forced: set[int]) -> Select[Any]:
        """Then feeds requested lately and about to expire, expired ones a visitor just asked
        for, and those an operator forced: soonest to expire first."""
        fc = FeedCache
        active_since = now - self.settings.active_window_hours * 3600
        soon = now + self.settings.refresh_ahead_seconds
        return self._due_query(now, platforms).where(
            col(fc.fetched_at).is_not(None),
            or_(
                and_(col(fc.expires_at) <= soon, col(fc.last_requested_at) >= active_since),
                and_(col(fc.expires_at) <= now, col(fc.source_id).in_(in_list(requested))),
                col(fc.source_id).in_(in_list(forced)),
            ),
        ).order_by(col(fc.expires_at), fc.source_id)

    async def _read_due(self, query: Select[Any], rows: int | None) -> list[Row[Any]]:
        if rows is not None:
            query = query.limit(rows)
        return list((await self.db.read(lambda s: s.execute(query))).all())

    async def _plan_waits(self, source_ids: list[int], held: frozenset[int]) -> dict[int, float]:
        """Per source, the shortest refresh interval among the plans of clients still within quota.

        A source whose every client is frozen (over its monthly quota) or held (its plan's
        Apify budget is spent) waits forever: its last items keep being served, and no more
        Apify runs are paid for it.
        """
        if not source_ids:
            return {}
        frozen = self.frozen() | held
        waits = dict.fromkeys(source_ids, float("inf"))
        for chunk in in_lists(source_ids):
            links = await self.db.read(lambda s, chunk=chunk: s.execute(
                select(ClientSource.source_id, ClientSource.client_id, Client.plan)
                .join(Client, col(Client.id) == ClientSource.client_id)
                .where(col(ClientSource.source_id).in_(chunk))))
            for source_id, client_id, plan in links.all():
                if client_id not in frozen:
                    waits[source_id] = min(waits[source_id], self.plans[plan].min_refresh_seconds)
        return waits

    async def _claim(self, batch: list[Due]) -> list[Due]:
        """Take a lease on the batch's rows; rows another process holds, or stored since we
        looked (their version moved on), are left alone."""
        now = self.clock.now()
        until = now + self.settings.lease_seconds
        seen = [(d.source_id, d.version) for d in batch]

        async def work(session: AsyncSession) -> set[int]:
            """RETURNING names only the rows this statement took, not those a concurrent pass took.
            The plain `source_id IN` lets SQLite find the rows by key: on the pairs alone it
            read every feed, 90 ms a claim at 30,000 feeds (40 % of a first fill's time)."""
            mine = await session.execute(
                update(FeedCache)
                .where(col(FeedCache.source_id).in_(in_list(d.source_id for d in batch)),
                       tuple_(col(FeedCache.source_id), col(FeedCache.version)).in_(seen),
                       or_(col(FeedCache.lease_until).is_(None), col(FeedCache.lease_until) < now))
                .values(lease_owner=self.owner, lease_until=until)
                .returning(col(FeedCache.source_id))
            )
            return set(mine.scalars())

        owned = await self.db.write(work)
        return [d for d in batch if d.source_id in owned]

    async def _claimed_resumes(self, platforms: set[str] | None, limit: int | None = None) -> list[Resume]:
        """Interrupted runs with a run id, young enough to collect, claimed for this process."""
        runnable = [platform for platform, source in self.sources.items()
                    if isinstance(source, RunSource) and (not platforms or platform in platforms)]
        if not runnable:
            return []
        query = (
            select(RefreshRun)
            .where(RefreshRun.status == "INTERRUPTED", col(RefreshRun.run_id).is_not(None),
                   RefreshRun.started_at >= self.clock.now() - self.settings.lease_seconds,
                   col(RefreshRun.platform).in_(runnable))
            .order_by(col(RefreshRun.started_at))
            .limit(limit)
        )
        rows = (await self.db.read(lambda s: s.execute(query))).scalars().all()
        resumes = []
        for row in rows:
            assert row.id is not None and row.run_id is not None
            if await self._claim_run(row.id):
                batch = await self._claim(await self._still_waiting(row))
                resumes.append(Resume(row.id, row.run_id, row.platform, list(row.handles), batch))
        return resumes

    async def _claim_run(self, row_id: int) -> bool:
        """Take over an interrupted run; False when another process was quicker."""
        async def work(session: AsyncSession) -> bool:
            claimed = await session.execute(
                update(RefreshRun).where(col(RefreshRun.id) == row_id, RefreshRun.status == "INTERRUPTED")
                .values(status="RUNNING", owner=self.owner, error=None, finished_at=None))
            return bool(getattr(claimed, "rowcount", 0) == 1)

        return await self.db.write(work)

    async def _still_waiting(self, run: RefreshRun) -> list[Due]:
        """The run's handles not stored since it started: only they may take its data."""
        query = (
            select(FeedCache.source_id, SourceRow.platform, SourceRow.handle, FeedCache.version)
            .join(SourceRow, col(SourceRow.id) == FeedCache.source_id)
            .where(SourceRow.platform == run.platform, col(SourceRow.handle).in_(run.handles),
                   or_(col(FeedCache.fetched_at).is_(None), col(FeedCache.fetched_at) < run.started_at))
        )
        rows = await self.db.read(lambda s: s.execute(query))
        # The run may have been incremental: its answer is merged, never replaces the items.
        return [Due(*row, since=0.0, renew=False) for row in rows.all()]

    # -- running a batch ----------------------------------------------------------------

    async def _run_batch(self, batch: list[Due], report: Report | None) -> PassSummary:
        platform = batch[0].platform
        handles = [d.handle for d in batch]
        source = self.sources[platform]
        async with self._slots:
            row_id = await self._record_start(platform, source.name, handles)
            summary = await self._collect(platform, batch, row_id,
                                          lambda: self._fetch(source, batch, row_id))
        if report:
            report(platform, len(batch))
        return summary

    async def _resume(self, resume: Resume, report: Report | None) -> PassSummary:
        source = self.sources[resume.platform]
        assert isinstance(source, RunSource)
        platform, limit = resume.platform, self.settings.items_per_source
        async with self._slots:
            summary = await self._collect(platform, resume.batch, resume.row_id,
                                          lambda: source.collect_run(platform, resume.handles, limit, resume.run_id))
        if report:
            report(resume.platform, len(resume.batch))
        return summary

    async def _collect(self, platform: str, batch: list[Due], row_id: int,
                       fetch: Callable[[], Awaitable[FetchResult]]) -> PassSummary:
        """Await the fetch and store its outcome, whatever happens to it."""
        try:
            result = await fetch()
        except asyncio.CancelledError:
            await self._store(platform, batch, FetchResult(status="INTERRUPTED", error="the server stopped"), row_id)
            raise
        except Exception as exc:  # noqa: BLE001 - any source failure is recorded, never fatal
            log.warning("%s fetch failed: %s", platform, exc)
            result = FetchResult(status="FAILED", error=f"{type(exc).__name__}: {exc}")
        return await self._store(platform, batch, result, row_id)

    async def _fetch(self, source: Source, batch: list[Due], row_id: int) -> FetchResult:
        """A run source's run id is on record before its wait begins, so a restart can re-attach."""
        limit, platform, handles = self.settings.items_per_source, batch[0].platform, [d.handle for d in batch]
        if not isinstance(source, RunSource):
            return await source.fetch(platform, handles, limit)
        started = await source.start_run(platform, handles, limit, collection.run_since(batch))
        await asyncio.shield(self._record_run_id(row_id, started))
        return await source.collect_run(platform, handles, limit, started.run_id)

    async def _record_run_id(self, row_id: int, started: RunStarted) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(update(RefreshRun).where(col(RefreshRun.id) == row_id)
                                  .values(run_id=started.run_id, dataset_id=started.dataset_id))

        await self.db.write(work)

    async def _record_start(self, platform: str, source_name: str, handles: list[str]) -> int:
        async def work(session: AsyncSession) -> int:
            run = RefreshRun(platform=platform, source_name=source_name, handles=handles,
                             started_at=self.clock.now(), owner=self.owner)
            session.add(run)
            await session.flush()
            assert run.id is not None
            return run.id

        row_id = await self.db.write(work)
        log.info("refresh run started", extra={"fields": {"run": row_id, "platform": platform, "source": source_name,
                                                          "handles": handles}})
        return row_id

    async def _store(self, platform: str, batch: list[Due], result: FetchResult, run_row_id: int) -> PassSummary:
        """Write every handle's outcome and the run's audit row in one transaction."""
        now = self.clock.now()
        summary = PassSummary(runs=1, skipped=result.skipped, cost_usd=result.cost_usd or 0.0,
                              charged=result.charged, platforms={platform: 1})
        rows = {d.source_id: getattr(result.handles.get(d.handle), "rows", 0) for d in batch}

        async def work(session: AsyncSession) -> None:
            rows_read = await session.execute(select(FeedCache).where(
                col(FeedCache.source_id).in_(in_list(d.source_id for d in batch))))
            found = {row.source_id: row for row in rows_read.scalars()}  # one read, not one per handle
            for due in batch:
                row = found.get(due.source_id)
                if row is None:  # the source was removed while its fetch ran
                    continue
                error = self._apply(row, result.handles.get(due.handle), result, due, now)
                summary.errors += error is not None
                summary.items += row.item_count if error is None else 0
            run = await session.get(RefreshRun, run_row_id)
            assert run is not None
            run.status, run.error, run.finished_at = result.status, result.error, now
            run.run_id, run.dataset_id = result.run_id or run.run_id, result.dataset_id or run.dataset_id
            run.cost_usd, run.charged = result.cost_usd, result.charged
            if result.cost_usd:
                await costs.record(session, now, costs.shares(result.cost_usd, rows), rows)
            run.item_count, run.skipped = summary.items, result.skipped
            started.append(run.started_at)

        started: list[float] = []
        await self.db.write(work)
        self.on_update(d.source_id for d in batch)
        self._report_run(platform, batch, result, run_row_id, summary, now - started[-1])
        return summary

    def _report_run(self, platform: str, batch: list[Due], result: FetchResult, run_row_id: int,
                    summary: PassSummary, seconds: float) -> None:
        """One log line and one duration per finished run: what an operator follows and graphs."""
        self.on_run(platform, result.status, seconds)
        level = logging.INFO if result.ok and not summary.errors else logging.WARNING
        log.log(level, "refresh run finished", extra={"fields": {
            "run": run_row_id, "platform": platform, "status": result.status, "apify_run_id": result.run_id,
            "handles": [d.handle for d in batch], "items": summary.items, "errors": summary.errors,
            "skipped": result.skipped, "cost_usd": result.cost_usd, "seconds": round(seconds, 3),
            "error": result.error}})

    def _apply(self, row: FeedCache, got: HandleResult | None, result: FetchResult, due: Due, now: float) -> str | None:
        """Fold one handle's outcome into its row; returns the error when it failed."""
        row.version += 1
        row.lease_owner = row.lease_until = None
        error = _failure(got, result, due, has_data=row.fetched_at is not None)
        if error is not None or got is None:
            row.error_count += 1
            row.last_error = error
            row.next_attempt_at = now + self.backoff(row.error_count)
            row.status = "ok" if row.fetched_at is not None else "error"
            return error
        collection.store(row, due, got, self.settings, now)
        self.on_store(row)
        row.last_error, row.error_count, row.next_attempt_at = None, 0, None
        row.run_id, row.dataset_id = result.run_id, result.dataset_id
        return None

    def backoff(self, failures: int) -> float:
        """Exponential delay with jitter: half fixed, half random, so retries spread out."""
        s = self.settings
        delay = min(s.backoff_max_seconds, s.backoff_base_seconds * 2 ** (failures - 1))
        return delay * (0.5 + 0.5 * self.rng.random())


def _failure(got: HandleResult | None, result: FetchResult, due: Due, *, has_data: bool) -> str | None:
    if not result.ok:
        return result.error or f"run {result.status}"
    if got is None:
        return "the run returned nothing for this handle"
    if collection.nothing_new(due, got):
        return None
    if got.error:
        return got.error
    if not got.items and has_data:
        return "empty result: kept the previous items"
    return None


def _owner_is_dead(owner: str, me: str) -> bool:
    """Owners are host:pid:token; only processes of this host can be checked."""
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if owner == me or host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        return True  # an earlier app in this same process, which has stopped
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
