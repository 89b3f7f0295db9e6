"""Quotas: a per-key burst limit and a per-client monthly request count, all in memory.

    Burst     a token bucket per key (`burst_per_second` tokens a second, at most
              `burst_capacity` saved up); an empty bucket answers 429 with Retry-After.
              Several workers of one server each keep 1/N of it (workers.py).
    Monthly   requests this month = every process's requests flushed to the database,
              plus this process's own not flushed yet. Over the plan's limit a `freeze`
              plan keeps serving its last items while the refresher skips the client's
              sources (no more Apify cost); a `block` plan answers 429.

A request costs dictionary lookups only; the one database read on a request's way (a point
statement, `lookups.MONTH_REQUESTS`, not the ORM: 12 % of a miss-heavy profile) is a
client's first request of the month in this process. After each usage flush (`sync`) one
grouped read brings in the totals of the clients this process counted in the last two
flush intervals, so it sees the other processes' requests within about two intervals
(their flush, then its own). A client it has not served for longer is caught up at the
first flush after it asks again. That is the whole tolerance across processes: about two
flush intervals of a client's requests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import LRUCache
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.clock import Clock
from flowkick.database import Database, in_lists
from flowkick.errors import TooManyRequests
from flowkick.lookups import MONTH_REQUESTS, Lookups
from flowkick.plans import Plan, Plans
from flowkick.tables import Usage
from flowkick.usage import UsageCounter


@dataclass(frozen=True)
class QuotaState:
    """What the X-RateLimit-* headers say after a request was counted."""

    limit: int
    remaining: int
    reset: int  # Unix seconds when the month's count starts again

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


@dataclass
class _Month:
    """One client's requests this month as this process knows them.

    `used` is `read` (every process's flushed requests, when last read) plus this process's
    own requests not in it: not flushed yet, still being answered, or refused after they
    were counted. Each flush of this process adds what it wrote to `written`, so the next
    read moves `used` by exactly what the other processes wrote meanwhile.
    """

    month: str
    plan: str
    used: int = 0
    read: int = 0
    written: int = 0
    used_at_read: int = 0  # `used` after the last read: a count since means the client is active here
    reads_left: int = 0  # syncs that still read this client: two after it was last counted


class TokenBucket:
    """Per-key buckets; an evicted (long idle) key simply starts again with a full bucket."""
    def __init__(self, rate: float, capacity: int, clock: Clock) -> None:
        self.rate = rate
        self.capacity = max(1, capacity)
        self.clock = clock
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(maxsize=100_000)

    def take(self, key: str) -> float:
        """Spend one token: 0 when allowed, else the seconds until a token is back."""
        if self.rate <= 0:
            return 0.0
        now = self.clock.now()
        tokens, then = self._buckets.get(key, (float(self.capacity), now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1, now)
        return 0.0


class Quotas:
    def __init__(self, db: Database, lookups: Lookups, clock: Clock, plans: Plans, bucket: TokenBucket) -> None:
        self.db = db
        self.lookups = lookups
        self.clock = clock
        self.plans = plans
        self.bucket = bucket
        self._months: dict[int, _Month] = {}
        self._window: tuple[float, int, str] = (0.0, 0, "")

    def follow(self, usage: UsageCounter) -> None:
        """Catch up with every process's requests after each of `usage`'s flushes. The read
        runs within the flush (under its lock), so a database total holds exactly the
        writes of this process that `written` says it holds, never one more or one less."""
        usage.on_flush = self.sync

    async def admit(self, client_id: int, plan_name: str, key_kind: str) -> QuotaState | None:
        """Count one feed request made with one of the client's keys, or raise TooManyRequests."""
        plan = self.plans[plan_name]
        self.check_burst(plan, f"{client_id}:{key_kind}")
        return self._count(plan, await self._entry(client_id, plan_name))

    def loaded(self, client_id: int) -> bool:
        """Whether this month's count for the client is in memory, so `count` needs no database."""
        entry = self._months.get(client_id)
        return entry is not None and entry.month == self._month(self.clock.now())[0]

    def count(self, client_id: int, plan_name: str, key_kind: str) -> QuotaState | None:
        """`admit` for a client whose month is loaded: no await, for the hot read path."""
        plan = self.plans[plan_name]
        self.check_burst(plan, f"{client_id}:{key_kind}")
        return self._count(plan, self._months[client_id])

    def _count(self, plan: Plan, entry: _Month) -> QuotaState | None:
        now = self.clock.now()
        reset = self._month(now)[1]
        if plan.over_limit == "block" and plan.over(entry.used + 1):
            state = QuotaState(plan.monthly_requests or 0, 0, reset)
            raise TooManyRequests("this client's monthly request quota is used up", code="quota_exceeded",
                                  headers={**state.headers(), "Retry-After": str(max(1, reset - int(now)))})
        entry.used += 1
        if plan.monthly_requests is None:
            return None
        return QuotaState(plan.monthly_requests, max(0, plan.monthly_requests - entry.used), reset)

    def _month(self, now: float) -> tuple[str, int]:
        """This month's name and reset time, recomputed only when the month changes."""
        start, end, name = self._window
        if not start <= now < end:
            start, end, name = month_start(now), month_reset(now), month_of(now)
            self._window = (start, end, name)
        return name, end

    def check_burst(self, plan: Plan, key: str) -> None:
        if not plan.burst:
            return
        wait = self.bucket.take(key)
        if wait > 0:
            raise TooManyRequests("too many requests in a short time; slow down", code="rate_limited",
                                  headers={"Retry-After": str(max(1, math.ceil(wait)))})

    async def month_to_date(self, client_id: int, plan_name: str) -> int:
        return (await self._entry(client_id, plan_name)).used

    def frozen(self) -> set[int]:
        """Clients whose monthly quota is spent: the refresher leaves their sources alone."""
        month = self._month(self.clock.now())[0]
        return {client_id for client_id, entry in self._months.items()
                if entry.month == month and self.plans[entry.plan].spent(entry.used)}

    async def sync(self, written: Mapping[tuple[int, str], int]) -> None:
        """After a usage flush that wrote `written` (requests per client and day): read this
        month's totals of the clients counted here lately, in one grouped read. Twice after
        the last count: the other processes may flush requests of that moment after this one."""
        month = self._month(self.clock.now())[0]
        for (client_id, day), requests in written.items():
            entry = self._months.get(client_id)
            if entry is not None and entry.month == month and day.startswith(month):
                entry.written += requests
        active = {}
        for client_id, entry in list(self._months.items()):
            if entry.month != month:
                del self._months[client_id]  # a past month's count is done with
                continue
            if entry.used != entry.used_at_read:
                entry.reads_left = 2
            if entry.reads_left:
                entry.reads_left -= 1
                active[client_id] = entry
        await self._read(active, month)

    async def _entry(self, client_id: int, plan_name: str) -> _Month:
        month = self._month(self.clock.now())[0]
        entry = self._months.get(client_id)
        if entry is None or entry.month != month:
            new = _Month(month, plan_name)
            first, last = month_days(month)
            (total,), = await self.lookups.rows(MONTH_REQUESTS, id=client_id, first=first, last=last)
            new.used = new.read = new.used_at_read = int(total)
            entry = self._months.get(client_id)  # another request may have loaded it meanwhile
            if entry is None or entry.month != month:
                entry = self._months[client_id] = new
        entry.plan = plan_name
        return entry

    async def _read(self, entries: dict[int, _Month], month: str) -> None:
        """Move each count by what the other processes wrote since its last read."""
        if not entries:
            return
        totals = await self.db.read(lambda s: _flushed_totals(s, list(entries), month))
        for client_id, entry in entries.items():
            total = totals.get(client_id, 0)
            entry.used += total - entry.read - entry.written
            entry.read, entry.written, entry.used_at_read = total, 0, entry.used


async def _flushed_totals(session: AsyncSession, client_ids: list[int], month: str) -> dict[int, int]:
    """Each client's requests flushed this month, by every process (days are YYYY-MM-DD)."""
    totals: dict[int, int] = {}
    for chunk in in_lists(client_ids):
        rows = await session.execute(
            select(Usage.client_id, func.sum(Usage.requests))
            .where(col(Usage.client_id).in_(chunk), col(Usage.day).between(*month_days(month)))
            .group_by(col(Usage.client_id)))
        totals.update((client_id, int(requests)) for client_id, requests in rows.all())
    return totals


def month_days(month: str) -> tuple[str, str]:
    """The first and last day a month's usage rows can have (days are YYYY-MM-DD): a range of
    the usage table's key, for the one-client read and the grouped one alike."""
    return f"{month}-01", f"{month}-31"


def month_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m")


def month_start(timestamp: float) -> float:
    now = datetime.fromtimestamp(timestamp, UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC).timestamp()


def month_reset(timestamp: float) -> int:
    """The first second of the next month (UTC)."""
    now = datetime.fromtimestamp(timestamp, UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp())
