"""/admin/analytics: the widget's views and opened posts per day, and the most opened posts.

The numbers come from analytics.py's counters (flushed first, so the page is current):
no visitor is identified anywhere, so these are counts only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick import clients as ops
from flowkick.admin import queries
from flowkick.admin.chart import stacked
from flowkick.admin.routes import USAGE_DAYS, page, render
from flowkick.admin.session import Session
from flowkick.clock import day
from flowkick.database import Database
from flowkick.tables import ItemClicks

TOP_POSTS = 20


@page
async def analytics_page(request: Request, session: Session) -> Response:
    state = request.app.state
    await state.usage.flush()
    now = state.clock.now()
    days = [day(now - 86400 * n) for n in range(USAGE_DAYS - 1, -1, -1)]
    rows = await queries.usage_by_day(state.db, days[0])
    names = {c.id: c.name for c in await ops.list_clients(state.db)}
    views: Counter[str] = Counter()
    clicks: Counter[str] = Counter()
    per_client: dict[int, dict[str, int]] = {}
    for row in rows:
        views[row.day] += row.views
        clicks[row.day] += row.clicks
        totals = per_client.setdefault(row.client_id, {"views": 0, "clicks": 0})
        totals["views"] += row.views
        totals["clicks"] += row.clicks
    return render(request, "admin/analytics.html", {
        "views": stacked(days, {"views": views}),
        "clicks": stacked(days, {"posts opened": clicks}),
        "clients": sorted(((names.get(c, f"#{c}"), t) for c, t in per_client.items()), key=lambda x: -x[1]["clicks"]),
        "posts": await most_clicked(state.db, days[0], names),
    }, session)


async def most_clicked(db: Database, since_day: str, names: dict[int, str]) -> list[dict[str, Any]]:
    total = func.sum(ItemClicks.clicks).label("total")
    query = (select(ItemClicks.client_id, ItemClicks.item_id, total).where(col(ItemClicks.day) >= since_day)
             .group_by(col(ItemClicks.client_id), col(ItemClicks.item_id)).order_by(total.desc()).limit(TOP_POSTS))
    found = (await db.read(lambda s: s.execute(query))).all()
    return [{"client": names.get(c, f"#{c}"), "item": i, "clicks": int(n)} for c, i, n in found]


routes: list[BaseRoute] = [Route("/admin/analytics", analytics_page, methods=["GET"])]
