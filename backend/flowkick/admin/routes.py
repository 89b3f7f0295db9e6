"""The /admin pages: server-rendered forms that work without JavaScript.

Every page needs a session (else it redirects to the login form) and every POST needs
the session's CSRF token (else 403). The dashboard does not exist (404) while
FLOWKICK_ADMIN_PASSWORD is empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlmodel import col, update
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from flowkick import clients as ops
from flowkick import keys, snippets
from flowkick.admin import queries
from flowkick.admin.chart import stacked
from flowkick.admin.session import LOGIN_COOKIE, SESSION_COOKIE, LoginLimiter, Session, Sessions, same
from flowkick.clock import day, iso
from flowkick.costs import client_costs, source_costs
from flowkick.media import catalog as media_catalog
from flowkick.moderation import clean_keywords
from flowkick.origins import InvalidOrigin, normalize_entry
from flowkick.platforms import LABELS, PLATFORMS
from flowkick.quotas import month_of
from flowkick.readpath import Reader
from flowkick.routes.pages import templates
from flowkick.tables import FeedCache

MAX_FORM = 65_536
USAGE_DAYS = 30
Form = dict[str, list[str]]
Page = Callable[[Request, Session], Awaitable[Response]]
Action = Callable[[Request, Session, Form], Awaitable[Response]]


# -- plumbing: state, guards, rendering ---------------------------------------------------------

class Admin:
    """Per-app admin state: the session signer and the login limiter."""

    def __init__(self, request: Request) -> None:
        settings = request.app.state.settings
        secret = settings.secret_key or secrets.token_urlsafe(32)
        self.sessions = Sessions(secret, request.app.state.clock, settings.admin_session_hours * 3600)
        self.limiter = LoginLimiter(settings.admin_login_attempts, request.app.state.clock)


def admin(request: Request) -> Admin:
    state = request.app.state
    if not hasattr(state, "admin"):
        state.admin = Admin(request)
    return state.admin  # type: ignore[no-any-return]


def _enabled(request: Request) -> bool:
    return bool(request.app.state.settings.admin_password)


def _signed_in(request: Request) -> Session | Response:
    """The admin's session, or the answer for a visitor without one."""
    if not _enabled(request):
        return _not_found(request)
    session = admin(request).sessions.read(request.cookies.get(SESSION_COOKIE))
    return RedirectResponse("/admin/login", status_code=303) if session is None else session


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = _signed_in(request)
        if isinstance(session, Response):
            return session
        return _private(await handler(request, session))

    return endpoint


def action(handler: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = _signed_in(request)
        if isinstance(session, Response):
            return session
        form = await _form(request)
        if not same(session.csrf, _one(form, "csrf")):
            return render(request, "admin/message.html", {"title": "Form expired",
                          "message": "This form is out of date (its CSRF token did not match). Go back, reload "
                                     "and try again."}, session, status=403)
        return _private(await handler(request, session, form))

    return endpoint


def render(request: Request, name: str, context: dict[str, Any], session: Session | None,
           status: int = 200) -> Response:
    base = {"csrf": session.csrf if session else "", "nav": request.url.path, "iso": iso}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _not_found(request: Request) -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


async def _form(request: Request) -> Form:
    raw = await request.body()
    form: Form = {}
    for name, value in parse_qsl(raw[:MAX_FORM].decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(name, []).append(value)
    return form


def _one(form: Form, name: str, default: str = "") -> str:
    return form.get(name, [default])[0]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/admin", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


# -- login --------------------------------------------------------------------------------------------

async def login_form(request: Request) -> Response:
    if not _enabled(request):
        return _not_found(request)
    return _login_page(request, error="", status=200)


def _login_page(request: Request, error: str, status: int, headers: dict[str, str] | None = None) -> Response:
    cookie, token = admin(request).sessions.login_token()
    response = render(request, "admin/login.html", {"login_csrf": token, "error": error}, None, status=status)
    response.headers.update(headers or {})
    _set_cookie(request, response, LOGIN_COOKIE, cookie, 3600)
    return _private(response)


async def login(request: Request) -> Response:
    if not _enabled(request):
        return _not_found(request)
    state = admin(request)
    form = await _form(request)
    if not state.sessions.login_token_ok(request.cookies.get(LOGIN_COOKIE), _one(form, "csrf")):
        return _login_page(request, "The login form expired. Please try again.", 403)
    address = _address(request)
    wait = state.limiter.retry_after(address)
    if wait:
        return _login_page(request, f"Too many failed logins. Try again in {wait // 60 + 1} minutes.", 429,
                           {"Retry-After": str(wait)})
    if not same(request.app.state.settings.admin_password, _one(form, "password")):
        state.limiter.failed(address)
        return _login_page(request, "Wrong password.", 401)
    state.limiter.succeeded(address)
    response = RedirectResponse("/admin", status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, state.sessions.issue(),
                int(request.app.state.settings.admin_session_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@action
async def logout(request: Request, session: Session, form: Form) -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="lax")
    return response


# -- overview -----------------------------------------------------------------------------------------

@page
async def overview(request: Request, session: Session) -> Response:
    state = request.app.state
    await state.usage.flush()
    now = state.clock.now()
    all_clients = await ops.list_clients(state.db)
    sources = await queries.sources(state.db)
    today = await queries.usage_by_day(state.db, day(now))
    pictures, picture_bytes, picture_failures = await state.db.read(media_catalog.totals)
    return render(request, "admin/overview.html", {
        "clients": len(all_clients), "active": sum(c.active for c in all_clients),
        "sources": len(sources), "stale": sum(_stale(s, now) for s in sources),
        "failing": sum(s.last_error is not None for s in sources),
        "requests_today": sum(u.requests for u in today),
        "cost_month": await queries.cost_since(state.db, _month_start(now)),
        "budget": await state.refresher.budgets.state(fresh=True),
        "frozen": len(state.reader.quotas.frozen()),
        "pictures": pictures, "picture_mb": picture_bytes / 1e6, "picture_failures": picture_failures,
    }, session)


def _stale(source: queries.SourceRow, now: float) -> bool:
    return source.expires_at is not None and source.expires_at <= now


def _month_start(now: float) -> float:
    start = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp()


# -- clients ------------------------------------------------------------------------------------------

@page
async def clients_page(request: Request, session: Session) -> Response:
    return await _clients(request, session, {}, 200)


async def _clients(request: Request, session: Session, errors: dict[str, str], status: int) -> Response:
    state = request.app.state
    plans = state.reader.quotas.plans
    return render(request, "admin/clients.html", {
        "clients": await ops.list_clients(state.db), "plans": plans.names(), "errors": errors,
        "costs": await client_costs(state.db, month_of(state.clock.now())),
    }, session, status=status)


@action
async def create_client(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    name = " ".join(_one(form, "name").split())[:200]
    plan = _one(form, "plan", "free")
    if not name or plan not in state.reader.quotas.plans:
        return await _clients(request, session, {"name": "A client needs a name and a plan."}, 400)
    new = await ops.create_client(state.db, name, {}, now=state.clock.now(), plan=plan,
                                  email=_one(form, "email")[:200])
    return _keys_page(request, session, new.id, name, {"publishable": new.publishable_key, "secret": new.secret_key})


def _keys_page(request: Request, session: Session, client_id: int, name: str, new_keys: dict[str, str]) -> Response:
    grace = request.app.state.settings.key_grace_hours
    return render(request, "admin/keys.html", {"client_id": client_id, "name": name, "keys": new_keys,
                                               "grace_hours": grace}, session)


@page
async def client_page(request: Request, session: Session) -> Response:
    return await _client(request, session, {}, 200)


async def _client(request: Request, session: Session, errors: dict[str, str], status: int,
                  draft: Form | None = None) -> Response:
    state = request.app.state
    client = await ops.get_client(state.db, request.path_params["client_id"])
    if client is None or client.id is None:
        return render(request, "admin/message.html", {"title": "No such client", "message": ""}, session, 404)
    tracked = await ops.client_sources(state.db, client.id)
    plans = state.reader.quotas.plans
    plan = plans[client.plan]
    return render(request, "admin/client.html", {
        "client": client, "values": _values(client, draft), "sources": tracked, "plan": plan,
        "plans": list(dict.fromkeys([*plans.names(), client.plan])),  # the demo plan stays selectable for its client
        "used": await state.reader.quotas.month_to_date(client.id, client.plan),
        "platforms": [(p, LABELS[p]) for p in PLATFORMS], "errors": errors, "saved": "saved" in request.query_params,
    }, session, status=status)


def _values(client: Any, draft: Form | None) -> dict[str, Any]:
    """The edit form's fields: what was just submitted when it had errors, else what is stored."""
    if draft is not None:
        fields = ("name", "email", "plan", "origins", "keywords", "min_rating")
        return {**{f: _one(draft, f) for f in fields}, "active": _one(draft, "active") == "on"}
    return {"name": client.name, "email": client.email, "plan": client.plan, "active": client.active,
            "origins": "\n".join(client.allowed_origins), "keywords": "\n".join(client.keyword_filter),
            "min_rating": "" if client.min_rating is None else str(client.min_rating)}


@action
async def save_client(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    client_id = request.path_params["client_id"]
    edit, errors = _client_edit(form, state.reader.quotas.plans)
    if errors or edit is None:
        return await _client(request, session, errors, 400, draft=form)
    if not await ops.update_client(state.db, client_id, edit):
        return render(request, "admin/message.html", {"title": "No such client", "message": ""}, session, 404)
    state.reader.forget_clients()
    return RedirectResponse(f"/admin/clients/{client_id}?saved=1", status_code=303)


def _client_edit(form: Form, plans: Any) -> tuple[ops.ClientEdit | None, dict[str, str]]:
    errors: dict[str, str] = {}
    name = " ".join(_one(form, "name").split())[:200]
    if not name:
        errors["name"] = "A client needs a name."
    plan = _one(form, "plan")
    if plan not in plans:
        errors["plan"] = "Pick one of the plans."
    origins: list[str] = []
    for line in _one(form, "origins").splitlines():
        if line.strip():
            try:
                origins.append(normalize_entry(line))
            except InvalidOrigin as exc:
                errors["origins"] = str(exc)
    rating = _one(form, "min_rating")
    if rating not in ("", "1", "2", "3", "4", "5"):
        errors["min_rating"] = "A minimum rating is 1 to 5, or none."
    if errors:
        return None, errors
    return ops.ClientEdit(name=name, email=_one(form, "email")[:200], plan=plan, active=_one(form, "active") == "on",
                          origins=list(dict.fromkeys(origins)), keywords=clean_keywords(_one(form, "keywords").splitlines()),
                          min_rating=int(rating) if rating else None), {}


@action
async def set_active(request: Request, session: Session, form: Form) -> Response:
    client_id = request.path_params["client_id"]
    await ops.set_active(request.app.state.db, client_id, _one(form, "active") == "1")
    request.app.state.reader.forget_clients()
    return RedirectResponse(f"/admin/clients/{client_id}?saved=1", status_code=303)


@action
async def rotate(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    client_id = request.path_params["client_id"]
    kind = "secret" if _one(form, "kind") == "secret" else "publishable"
    new_key = await ops.rotate_key(state.db, client_id, kind, now=state.clock.now(),
                                   grace_seconds=state.settings.key_grace_hours * 3600)
    client = await ops.get_client(state.db, client_id)
    if new_key is None or client is None:
        return render(request, "admin/message.html", {"title": "No such client", "message": ""}, session, 404)
    state.reader.forget_clients()
    return _keys_page(request, session, client_id, client.name, {kind: new_key})


@action
async def add_source(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    client_id = request.path_params["client_id"]
    platform = _one(form, "platform")
    if platform not in PLATFORMS:
        return await _client(request, session, {"source": "Pick a platform."}, 400)
    try:
        source_id = await ops.track(state.db, client_id, platform, _one(form, "handle")[:200], now=state.clock.now())
    except ops.InvalidHandle as exc:
        return await _client(request, session, {"source": str(exc)}, 400)
    state.reader.forget_clients()
    state.refresher.request(source_id)
    return RedirectResponse(f"/admin/clients/{client_id}?saved=1", status_code=303)


@action
async def remove_source(request: Request, session: Session, form: Form) -> Response:
    client_id = request.path_params["client_id"]
    await ops.untrack(request.app.state.db, client_id, request.path_params["source_id"])
    request.app.state.reader.forget_clients()
    return RedirectResponse(f"/admin/clients/{client_id}?saved=1", status_code=303)


# -- sources and runs -------------------------------------------------------------------------------

@page
async def sources_page(request: Request, session: Session) -> Response:
    now = request.app.state.clock.now()
    rows = await queries.sources(request.app.state.db)
    costs = await source_costs(request.app.state.db, month_of(now))
    return render(request, "admin/sources.html", {"sources": rows, "now": now, "stale": _stale, "costs": costs,
                                                   "queued": request.query_params.get("queued", "")}, session)


@action
async def refresh_now(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    source_id = request.path_params["source_id"]
    await state.db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.source_id) == source_id)
                                             .values(next_attempt_at=None)))
    state.refresher.refresh_now(source_id)
    return RedirectResponse(f"/admin/sources?queued={source_id}", status_code=303)


@page
async def runs_page(request: Request, session: Session) -> Response:
    db, now = request.app.state.db, request.app.state.clock.now()
    return render(request, "admin/runs.html", {"runs": await queries.recent_runs(db),
                                                "cost_month": await queries.cost_since(db, _month_start(now))}, session)


# -- usage -----------------------------------------------------------------------------------------------

@page
async def usage_page(request: Request, session: Session) -> Response:
    state = request.app.state
    await state.usage.flush()
    now = state.clock.now()
    days = [day(now - 86400 * n) for n in range(USAGE_DAYS - 1, -1, -1)]
    rows = await queries.usage_by_day(state.db, days[0])
    everyone = {c.id: c for c in await ops.list_clients(state.db)}
    per_client: dict[int, dict[str, int]] = {}
    for row in rows:
        per_client.setdefault(row.client_id, {})[row.day] = row.requests
    top = sorted(per_client, key=lambda c: -sum(per_client[c].values()))
    series = {_name(everyone, c): per_client[c] for c in top[:6]}
    if len(top) > 6:
        series["others"] = _merged(per_client[c] for c in top[6:])
    requests, hits = sum(r.requests for r in rows), sum(r.cache_hits for r in rows)
    return render(request, "admin/usage.html", {
        "chart": stacked(days, series), "requests": requests,
        "hit_rate": hits / requests if requests else None, "top": await _month_table(state, everyone, now),
    }, session)


async def _month_table(state: Any, everyone: dict[int, ops.ClientSummary], now: float) -> list[dict[str, Any]]:
    reader: Reader = state.reader
    month = month_of(now)
    rows = await queries.usage_by_day(state.db, f"{month}-01")
    hits: dict[int, int] = {}
    for row in rows:
        hits[row.client_id] = hits.get(row.client_id, 0) + row.cache_hits
    table = []
    for client_id, client in everyone.items():
        used = await reader.quotas.month_to_date(client_id, client.plan)
        plan = reader.quotas.plans[client.plan]
        table.append({"id": client_id, "name": client.name, "plan": plan, "used": used,
                      "hit_rate": hits.get(client_id, 0) / used if used else None, "frozen": plan.spent(used)})
    return sorted(table, key=lambda r: -r["used"])


def _name(everyone: dict[int, ops.ClientSummary], client_id: int) -> str:
    client = everyone.get(client_id)
    return client.name if client else f"deleted client {client_id}"


def _merged(series: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for values in series:
        for key, value in values.items():
            total[key] = total.get(key, 0) + value
    return total


# -- embed code ----------------------------------------------------------------------------------------

@page
async def embed_page(request: Request, session: Session) -> Response:
    state = request.app.state
    everyone = await ops.list_clients(state.db)
    choice = request.query_params.get("source", "")
    key = request.query_params.get("key", "").strip()[:200]
    picked = next(((c, p, h) for c in everyone for p, h in c.sources if f"{c.id}:{p}:{h}" == choice), None)
    warning = ""
    if keys.kind_of(key) == "secret":
        key, warning = "", "That is a secret key: it belongs on servers, never in a web page. Use the publishable key."
    base = (state.settings.public_url or str(request.base_url)).rstrip("/")
    return render(request, "admin/embed.html", {
        "clients": everyone, "choice": choice, "picked": picked, "key": key or "pk_YOUR_PUBLISHABLE_KEY",
        "warning": warning, "base": base,
        "snippet": picked and snippets.snippet(base, picked[1], key or "pk_YOUR_PUBLISHABLE_KEY", {"handle": picked[2]}),
    }, session)


routes: list[BaseRoute] = [
    Route("/admin", overview),
    Route("/admin/login", login_form, methods=["GET"]),
    Route("/admin/login", login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/clients", clients_page, methods=["GET"]),
    Route("/admin/clients", create_client, methods=["POST"]),
    Route("/admin/clients/{client_id:int}", client_page, methods=["GET"]),
    Route("/admin/clients/{client_id:int}", save_client, methods=["POST"]),
    Route("/admin/clients/{client_id:int}/active", set_active, methods=["POST"]),
    Route("/admin/clients/{client_id:int}/rotate", rotate, methods=["POST"]),
    Route("/admin/clients/{client_id:int}/sources", add_source, methods=["POST"]),
    Route("/admin/clients/{client_id:int}/sources/{source_id:int}/remove", remove_source, methods=["POST"]),
    Route("/admin/sources", sources_page, methods=["GET"]),
    Route("/admin/sources/{source_id:int}/refresh", refresh_now, methods=["POST"]),
    Route("/admin/runs", runs_page, methods=["GET"]),
    Route("/admin/usage", usage_page, methods=["GET"]),
    Route("/admin/embed", embed_page, methods=["GET"]),
]
