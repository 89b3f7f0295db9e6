"""/admin/alerts: the alerts open now and the ones that cleared lately."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick.admin.routes import page, render
from flowkick.admin.session import Session


@page
async def alerts_page(request: Request, session: Session) -> Response:
    opened, resolved = await request.app.state.alerts.open_and_recent()
    return render(request, "admin/alerts.html", {"opened": opened, "resolved": resolved}, session)


routes: list[BaseRoute] = [Route("/admin/alerts", alerts_page, methods=["GET"])]
