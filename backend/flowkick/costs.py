"""What data collection costs: each Apify run's price, who it was for, and the month's totals.

A run's cost is computed from the run object, never read from `usageTotalUsd`: Apify
returns that only for rental actors or to an actor's own developer, so a pay-per-result
run (every Store actor Flowkick uses) has none. The cost is

- pay per result (`PRICE_PER_DATASET_ITEM`): `pricePerUnitUsd` × results charged, the
  dataset's rows up to the run's `maxItems` (or Apify's own count of them when the run
  reports it as the `apify-default-dataset-item` event);
- pay per event (`PAY_PER_EVENT`): Σ `chargedEventCounts` × each event's `eventPriceUsd`;
- anything else (rental, free, no pricing): the platform usage the run reports, if any;

never more than the run's `maxTotalChargeUsd`. A run's cost is shared among the sources
of its batch by the rows each accounted for (rows no source claimed are shared evenly),
and a source's cost among the clients that show it, evenly: ten clients following one
café pay a tenth each. Totals are kept per source and calendar month (UTC) in
`source_cost`, the ledger the budgets, `/admin` and the management API read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from flowkick.database import Database
from flowkick.quotas import month_of
from flowkick.tables import Client, ClientSource, SourceCost

if TYPE_CHECKING:  # the client exports its models only from a private module
    from apify_client._models import Run

DATASET_ITEM_EVENT = "apify-default-dataset-item"


def charged_results(run: Run, rows: int) -> int:
    """How many results the run was charged for, given the rows its dataset holds."""
    counted = (run.charged_event_counts or {}).get(DATASET_ITEM_EVENT)
    if counted is not None:
        return counted
    cap = run.options.max_items
    return rows if cap is None else min(rows, cap)


def run_cost(run: Run, results: int) -> float:
    """The run's cost in USD (see the module docstring)."""
    pricing = run.pricing_info
    model = getattr(pricing, "pricing_model", None)
    if model == "PRICE_PER_DATASET_ITEM":
        cost = (getattr(pricing, "price_per_unit_usd", None) or 0.0) * results
    elif model == "PAY_PER_EVENT":
        cost = _event_charges(getattr(pricing, "pricing_per_event", None), run.charged_event_counts or {})
    else:
        cost = run.usage_total_usd or 0.0
    cap = run.options.max_total_charge_usd
    return round(cost if cap is None else min(cost, cap), 6)


def _event_charges(pricing_per_event: Any, counts: Mapping[str, int]) -> float:
    events = getattr(pricing_per_event, "actor_charge_events", None) or {}
    return sum(count * (getattr(events.get(name), "event_price_usd", None) or 0.0) for name, count in counts.items())


def shares(cost: float, rows: Mapping[int, int]) -> dict[int, float]:
    """A run's cost split over its sources by the rows each accounted for (evenly when none did)."""
    if not rows:
        return {}
    total = sum(rows.values())
    if total == 0:
        return dict.fromkeys(rows, cost / len(rows))
    return {source_id: cost * count / total for source_id, count in rows.items()}


async def record(session: AsyncSession, now: float, costs: Mapping[int, float], results: Mapping[int, int]) -> None:
    """Add one run's shares to this month's ledger (inside the refresher's store transaction)."""
    period = month_of(now)
    for source_id, cost in costs.items():
        row = await session.get(SourceCost, (source_id, period))
        if row is None:
            row = SourceCost(source_id=source_id, month=period)
            session.add(row)
        row.cost_usd += cost
        row.results += results.get(source_id, 0)
        row.runs += 1


async def source_costs(db: Database, period: str, source_ids: Iterable[int] | None = None) -> dict[int, float]:
    """USD per source in `period` ('YYYY-MM')."""
    query = select(SourceCost.source_id, SourceCost.cost_usd).where(SourceCost.month == period)
    if source_ids is not None:
        query = query.where(col(SourceCost.source_id).in_(list(source_ids)))
    rows = await db.read(lambda s: s.execute(query))
    return dict(rows.all())


async def client_costs(db: Database, period: str) -> dict[int, float]:
    """USD per client in `period`: each source's cost shared evenly by the clients showing it now."""
    per_source = await source_costs(db, period)
    links = await _links(db)
    costs: dict[int, float] = {}
    for source_id, clients in links.items():
        for client_id in clients:
            costs[client_id] = costs.get(client_id, 0.0) + per_source.get(source_id, 0.0) / len(clients)
    return costs


async def client_source_costs(db: Database, period: str, client_id: int) -> dict[int, float]:
    """USD per source of one client in `period`: its share of each source it shows."""
    links = await _links(db)
    mine = [source_id for source_id, clients in links.items() if client_id in clients]
    per_source = await source_costs(db, period, mine)
    return {source_id: per_source.get(source_id, 0.0) / len(links[source_id]) for source_id in mine}


async def plan_costs(db: Database, period: str) -> dict[str, float]:
    """USD per plan in `period`: the shares of that plan's clients."""
    per_client = await client_costs(db, period)
    plans = await db.read(lambda s: s.execute(select(Client.id, Client.plan)))
    totals: dict[str, float] = {}
    for client_id, plan in plans.all():
        totals[plan] = totals.get(plan, 0.0) + per_client.get(client_id, 0.0)
    return totals


async def month_total(db: Database, period: str) -> float:
    query = select(func.coalesce(func.sum(SourceCost.cost_usd), 0.0)).where(SourceCost.month == period)
    return float((await db.read(lambda s: s.execute(query))).scalar_one())


async def _links(db: Database) -> dict[int, list[int]]:
    rows = await db.read(lambda s: s.execute(select(ClientSource.source_id, ClientSource.client_id)))
    links: dict[int, list[int]] = {}
    for source_id, client_id in rows.all():
        links.setdefault(source_id, []).append(client_id)
    return links
