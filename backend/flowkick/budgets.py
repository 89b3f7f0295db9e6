"""Monthly Apify budgets: when collection stops paying, and for whom.

Two ceilings, both per calendar month (UTC) and both off by default:

- `FLOWKICK_APIFY_BUDGET_USD`: everything Apify charged this month. Once reached, the
  refresher starts no run except those an operator forces.
- `FLOWKICK_APIFY_PLAN_BUDGETS` (`{"free": 5, ...}`): the shares of one plan's clients
  (`flowkick.costs`). Once reached, that plan's clients are held: a source refreshes
  while any client showing it is not held, so a café shared with a paying client stays
  fresh for everyone.

Held feeds keep serving their stored items (stale once they expire). `/admin` and the
management API show the state. It is re-read at most every `RECHECK_SECONDS`: a budget
may overshoot by the runs started in that time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlmodel import col, select

from flowkick.clock import Clock
from flowkick.costs import month_total, plan_costs
from flowkick.database import Database
from flowkick.quotas import month_of
from flowkick.settings import Settings
from flowkick.tables import Client

RECHECK_SECONDS = 60.0


@dataclass(frozen=True)
class BudgetState:
    """This month's spend against the budgets, and what is held because of it."""

    month: str
    spent_usd: float
    budget_usd: float | None
    plan_spent_usd: dict[str, float] = field(default_factory=dict)
    plan_budgets_usd: dict[str, float] = field(default_factory=dict)
    held_clients: frozenset[int] = frozenset()

    @property
    def exhausted(self) -> bool:
        """The global budget is spent: no refresh is paid for until next month."""
        return self.budget_usd is not None and self.spent_usd >= self.budget_usd

    @property
    def exhausted_plans(self) -> list[str]:
        return sorted(plan for plan, budget in self.plan_budgets_usd.items()
                      if self.plan_spent_usd.get(plan, 0.0) >= budget)

    def to_json(self) -> dict[str, object]:
        return {
            "month": self.month, "spent_usd": round(self.spent_usd, 4), "budget_usd": self.budget_usd,
            "exhausted": self.exhausted,
            "plans": {plan: {"spent_usd": round(self.plan_spent_usd.get(plan, 0.0), 4), "budget_usd": budget,
                             "exhausted": plan in self.exhausted_plans}
                      for plan, budget in self.plan_budgets_usd.items()},
        }


def parse_plan_budgets(raw: str) -> dict[str, float]:
    """`{"free": 5}` -> {"free": 5.0}; refuses anything else, naming the setting."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"FLOWKICK_APIFY_PLAN_BUDGETS is not valid JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value.values()
    ):
        raise ValueError('FLOWKICK_APIFY_PLAN_BUDGETS must look like {"free": 5, "starter": 40} (USD a month)')
    return {str(plan): float(budget) for plan, budget in value.items()}


class Budgets:
    """The budget state, recomputed from the cost ledger at most every RECHECK_SECONDS."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.budget = settings.apify_budget_usd or None
        self.plan_budgets = parse_plan_budgets(settings.apify_plan_budgets)
        self._state: BudgetState | None = None
        self._checked_at = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.budget is not None or bool(self.plan_budgets)

    async def state(self, *, fresh: bool = False) -> BudgetState:
        now = self.clock.now()
        if fresh or self._state is None or now - self._checked_at >= RECHECK_SECONDS:
            self._state, self._checked_at = await self._compute(month_of(now)), now
        return self._state

    async def _compute(self, period: str) -> BudgetState:
        spent = await month_total(self.db, period)
        if not self.plan_budgets:
            return BudgetState(period, spent, self.budget)
        per_plan = await plan_costs(self.db, period)
        spent_plans = [plan for plan, budget in self.plan_budgets.items() if per_plan.get(plan, 0.0) >= budget]
        query = select(Client.id).where(col(Client.plan).in_(spent_plans))
        held = frozenset((await self.db.read(lambda s: s.execute(query))).scalars()) if spent_plans else frozenset()
        return BudgetState(period, spent, self.budget, per_plan, dict(self.plan_budgets), held)
