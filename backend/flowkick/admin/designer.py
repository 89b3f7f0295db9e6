"""/admin/designer and /admin/moderation: how a client's feed looks, and what it shows.

The designer: pick a client's account, then layout, theme, accent, radius, columns, gap,
limit, language, header and "load more"; the preview is the real fragment (the read
path's moderated envelope through the same renderer the widget's fragment comes from),
rendered for the signed-in admin, so no key has to be pasted. Below it, the codes to
copy: the placeholder snippet (snippets.py, CLS-safe), the WordPress shortcode and a
React example. The page works without JavaScript (the form reloads it); with it, every
control updates the preview and the codes as it changes.

The moderation grid: every item the account holds, with thumbnails, hidden and pinned
with one click, plus the client's keyword and minimum-rating rules. A change reaches the
JSON API, the fragments and the widget at once (the reader forgets its clients) and shows
in the preview next to the grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast, get_args
from urllib.parse import urlencode

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from flowkick import clients as ops
from flowkick import keys, snippets
from flowkick.admin.routes import Form, action, page, render
from flowkick.admin.session import Session
from flowkick.errors import BadParameter
from flowkick.feeds import load_snapshot
from flowkick.i18n import LANGS
from flowkick.moderation import clean_keywords
from flowkick.readpath import ClientView, FeedParams, Tracked, _envelope, _rules
from flowkick.render import LAYOUTS, THEMES, EmbedOptions, render_fragment
from flowkick.tables import Client, ClientSource, Source

OPTIONS = ("layout", "theme", "accent", "radius", "columns", "gap", "limit", "lang", "header", "more")
DEFAULTS = {"theme": "light", "accent": "#1b66d2", "header": "1", "more": "0"}  # left out of the codes
PLACEHOLDER_KEY = "pk_YOUR_PUBLISHABLE_KEY"
ACTIONS = get_args(ops.ModerationAction)
Picked = tuple[ops.ClientSummary, str, str]


# -- the designer -------------------------------------------------------------------------------------

@page
async def designer_page(request: Request, session: Session) -> Response:
    return await _designer(request, session, request.query_params)


@action
async def issue_key(request: Request, session: Session, form: Form) -> Response:
    """A new publishable key for the codes, so nobody has to find the old one (which keeps
    working for FLOWKICK_KEY_GRACE_HOURS)."""
    state = request.app.state
    values = {name: _one(form, name) for name in ("source", *OPTIONS)}
    picked = _picked(await ops.list_clients(state.db), values["source"])
    if picked:
        values["key"] = await ops.rotate_key(state.db, picked[0].id, "publishable", now=state.clock.now(),
                                             grace_seconds=state.settings.key_grace_hours * 3600) or ""
        state.reader.forget_clients()
    return await _designer(request, session, values)


async def _designer(request: Request, session: Session, query: Mapping[str, str]) -> Response:
    everyone = await ops.list_clients(request.app.state.db)
    picked = _picked(everyone, query.get("source", ""))
    options = {name: query[name] for name in OPTIONS if query.get(name) and query[name] != DEFAULTS.get(name)}
    key = query.get("key", "").strip()[:200]
    error = "That is a secret key: it never goes in a web page. Use the publishable key." \
        if keys.kind_of(key) == "secret" else ""
    try:
        EmbedOptions.from_query(options).for_platform(picked[1] if picked else None)
    except BadParameter as exc:
        error, options = exc.message, {}
    return render(request, "admin/designer.html", {
        "clients": everyone, "choice": query.get("source", ""), "picked": picked, "options": options,
        "layouts": LAYOUTS, "themes": THEMES, "langs": LANGS, "error": error, "key": "" if error else key,
        "codes": _codes(request, picked, options, "" if error else key) if picked else None,
        "preview": _preview_url(query.get("source", ""), options) if picked else None,
        "grace_hours": request.app.state.settings.key_grace_hours,
    }, session, 400 if error else 200)


def _codes(request: Request, picked: Picked, options: dict[str, str], key: str) -> dict[str, str]:
    """The three ways to embed this feed, as the user will paste them."""
    _, platform, handle = picked
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    attributes = {"handle": handle, **options}
    shortcode = " ".join(f'{name}="{attributes[name]}"' for name in ("handle", "layout", "theme", "limit", "lang")
                         if attributes.get(name))
    query = urlencode({"handle": handle, "limit": options.get("limit", "12"), "api_key": key or PLACEHOLDER_KEY})
    return {
        "snippet": snippets.snippet(base, platform, key or PLACEHOLDER_KEY, attributes),
        "shortcode": f'[flowkick platform="{platform}" {shortcode} key="YOUR_SECRET_KEY"]',
        "react": _REACT.format(name=platform.title().replace("_", ""), url=f"{base}/api/v1/social/{platform}?{query}"),
    }


_REACT = """function {name}Feed() {{
  const [feed, setFeed] = React.useState(null);
  React.useEffect(() => {{
    fetch("{url}").then((r) => r.json()).then(setFeed);
  }}, []);
  if (!feed) return null;
  return (
    <ul>
      {{feed.items.map((item) => (
        <li key={{item.id}}><a href={{item.url}}>{{item.text}}</a></li>
      ))}}
    </ul>
  );
}}"""


def _preview_url(source: str, options: dict[str, str]) -> str:
    return "/admin/designer/preview?" + urlencode({"source": source, **options})


async def preview(request: Request) -> Response:
    """The preview is framed by the designer and the moderation grid: same origin only."""
    response = await _preview_endpoint(request)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@page
async def _preview_endpoint(request: Request, session: Session) -> Response:
    state = request.app.state
    picked = _picked(await ops.list_clients(state.db), request.query_params.get("source", ""))
    if picked is None:
        return Response("Pick a client and an account.", media_type="text/plain", status_code=404)
    options = EmbedOptions.from_query({n: v for n, v in request.query_params.items() if n in OPTIONS})
    envelope = await moderated_envelope(request, picked, options.limit)
    base = (state.settings.public_url or str(request.base_url)).rstrip("/")
    fragment = render_fragment(envelope, options, datetime.fromtimestamp(state.clock.now(), UTC), base)
    body = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Preview</title>"
            "<style>body{margin:0;padding:8px;background:#f9fafb}</style></head>"
            f"<body>{fragment}</body></html>")
    return Response(body, media_type="text/html; charset=utf-8")


async def moderated_envelope(request: Request, picked: Picked, limit: int) -> dict[str, Any]:
    """The feed envelope as this client's visitors get it, built by the read path's own
    functions from the client's rules, without the client's key."""
    state = request.app.state
    client, platform, handle = picked
    row, link = await _client_and_link(state.db, client.id, platform, handle)
    snapshot = await load_snapshot(state.db, link.source_id, state.reader.media_url)
    if snapshot is None:
        raise BadParameter("this account has no feed yet")
    tracked = Tracked(link.source_id, platform, handle, link.min_rating, frozenset(link.hidden_ids),
                      tuple(link.pinned_ids))
    view = ClientView(client.id, row.active, row.plan, (), "publishable", {platform: (tracked,)},
                      tuple(row.keyword_filter), row.min_rating)
    return _envelope(tracked, snapshot, snapshot.is_stale(state.clock.now()), FeedParams(limit, None, None),
                     _rules(view, tracked, None))


async def _client_and_link(db: Any, client_id: int, platform: str, handle: str) -> tuple[Client, ClientSource]:
    query = (select(Client, ClientSource).join(ClientSource, col(ClientSource.client_id) == Client.id)
             .join(Source, col(Source.id) == ClientSource.source_id)
             .where(Client.id == client_id, Source.platform == platform, Source.handle == handle))
    found = (await db.read(lambda s: s.execute(query))).first()
    if found is None:
        raise BadParameter("that client does not track that account")
    return found[0], found[1]


def _picked(everyone: list[ops.ClientSummary], choice: str) -> Picked | None:
    return next(((c, p, h) for c in everyone for p, h in c.sources if f"{c.id}:{p}:{h}" == choice), None)


# -- the moderation grid ---------------------------------------------------------------------------------

@page
async def moderation_page(request: Request, session: Session) -> Response:
    state = request.app.state
    everyone = await ops.list_clients(state.db)
    choice = request.query_params.get("source", "")
    picked = _picked(everyone, choice)
    context: dict[str, Any] = {"clients": everyone, "choice": choice, "picked": picked}
    if picked:
        row, link = await _client_and_link(state.db, picked[0].id, picked[1], picked[2])
        snapshot = await load_snapshot(state.db, link.source_id, state.reader.media_url)
        context.update(items=_grid(snapshot.content()[0] if snapshot else (), link), keywords="\n".join(row.keyword_filter),
                       min_rating=row.min_rating, preview=_preview_url(choice, {}))
    return render(request, "admin/moderation.html", context, session)


def _grid(items: Any, link: ClientSource) -> list[dict[str, Any]]:
    """Every item the account holds, as the grid shows it: thumbnail, excerpt, state."""
    return [{"id": i.get("id"), "image": i.get("image"), "text": (i.get("text") or i.get("title") or "")[:140],
             "published_at": i.get("published_at"), "rating": i.get("rating"),
             "hidden": i.get("id") in link.hidden_ids, "pinned": i.get("id") in link.pinned_ids}
            for i in items if isinstance(i, dict)]


@action
async def moderate_item(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    picked = _picked(await ops.list_clients(state.db), _one(form, "source"))
    chosen = _one(form, "action")
    if picked and chosen in ACTIONS:
        await ops.moderate(state.db, picked[0].id, _one(form, "item"), cast(ops.ModerationAction, chosen))
        state.reader.forget_clients()
    return _back(form)


@action
async def save_rules(request: Request, session: Session, form: Form) -> Response:
    state = request.app.state
    picked = _picked(await ops.list_clients(state.db), _one(form, "source"))
    client = await ops.get_client(state.db, picked[0].id) if picked else None
    if client is not None and client.id is not None:
        words = clean_keywords(w for line in _one(form, "keywords").splitlines() for w in line.split(","))
        rating = _one(form, "min_rating")
        edit = ops.ClientEdit(client.name, client.email, client.plan, client.active, list(client.allowed_origins),
                              words, int(rating) if rating in ("1", "2", "3", "4", "5") else None)
        await ops.update_client(state.db, client.id, edit)
        state.reader.forget_clients()
    return _back(form)


def _one(form: Form, name: str) -> str:
    return form.get(name, [""])[0]


def _back(form: Form) -> Response:
    return RedirectResponse("/admin/moderation?" + urlencode({"source": _one(form, "source")}), status_code=303)


routes: list[BaseRoute] = [
    Route("/admin/designer", designer_page, methods=["GET"]),
    Route("/admin/designer/preview", preview, methods=["GET"]),
    Route("/admin/designer/key", issue_key, methods=["POST"]),
    Route("/admin/moderation", moderation_page, methods=["GET"]),
    Route("/admin/moderation/item", moderate_item, methods=["POST"]),
    Route("/admin/moderation/rules", save_rules, methods=["POST"]),
]
