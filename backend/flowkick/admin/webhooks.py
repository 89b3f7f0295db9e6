"""/admin/webhooks: every client's webhooks, their delivery log, and registering one by hand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from flowkick import client_webhooks as hooks
from flowkick import clients as ops
from flowkick.admin.routes import Form, action, page, render
from flowkick.admin.session import Session


@page
async def webhooks_page(request: Request, session: Session) -> Response:
    return await _listing(request, session)


@action
async def add_webhook(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    everyone = {c.id: c for c in await ops.list_clients(state.db)}
    chosen = form.get("client", [""])[0]
    client_id = int(chosen) if chosen.isascii() and chosen.isdigit() else 0
    try:
        if client_id not in everyone:
            raise hooks.InvalidWebhook("pick a client")
        url = hooks.check_url(form.get("url", [""])[0], bool(state.settings.webhooks_allow_private_hosts))
        hook = await hooks.register(state.db, client_id, url, hooks.check_events(form.get("events") or None),
                                    state.clock.now())
    except hooks.InvalidWebhook as exc:
        return await _listing(request, session, error=str(exc), status=400)
    return render(request, "admin/message.html", {
        "title": "Webhook registered",
        "message": f"Give {everyone[client_id].name} this signing secret now; it is not shown again: {hook.secret}"},
        session)


@action
async def remove_webhook(request: Request, session: Session, form: Form) -> Response:
    await hooks.remove(request.app.state.db, request.path_params["webhook_id"])
    return RedirectResponse("/admin/webhooks", status_code=303)


async def _listing(request: Request, session: Session, error: str = "", status: int = 200) -> Response:
    db = request.app.state.db
    everyone = {c.id: c.name for c in await ops.list_clients(db)}
    return render(request, "admin/webhooks.html", {
        "webhooks": await hooks.client_webhooks(db), "deliveries": await hooks.delivery_log(db),
        "clients": everyone, "events": hooks.EVENTS, "error": error}, session, status)


routes: list[BaseRoute] = [
    Route("/admin/webhooks", webhooks_page, methods=["GET"]),
    Route("/admin/webhooks", add_webhook, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id:int}/remove", remove_webhook, methods=["POST"]),
]
