"""The Apify v2 HTTP surface that `apify-client` 3.x calls (api-notes §2, §4, §6).

Every route goes through `_endpoint`, which logs the request, checks the Bearer token and
applies injected request faults before the handler runs, and renders `ApiError` as
Apify's `{"error": {"type", "message"}}` envelope.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .actors import InputError, find_actor
from .runs import Engine, RequestRecord, Run, RunOptions
from .webhooks import decode_webhooks
from .world import World

NO_LIMIT = 999999999999
_FAULT_TYPES = {429: ("rate-limit-exceeded", "You have exceeded the rate limit of 60 requests per second")}
_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
REQUEST_KINDS = ("start", "get", "abort", "actor", "log", "items", "other")

Handler = Callable[[Request, Engine], Awaitable[Response]]


class ApiError(Exception):
    """An Apify API error response."""

    def __init__(self, status_code: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.error_type, self.message = status_code, error_type, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"type": self.error_type, "message": self.message}}, self.status_code)


def create_app(engine: Engine, world: World, token: str) -> Starlette:
    """The fake API as a Starlette app; `engine` and `world` are shared with the test thread."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.open()
        yield
        await engine.aclose()

    def route(path: str, kind: str, handler: Handler, methods: list[str] | None = None) -> Route:
        return Route(path, _endpoint(kind, handler), methods=methods or ["GET"])

    app = Starlette(
        routes=[
            route("/v2/actors/{actor_id}/runs", "start", start_run, ["POST"]),
            route("/v2/acts/{actor_id}/runs", "start", start_run, ["POST"]),
            route("/v2/actors/{actor_id}", "actor", not_found),
            route("/v2/acts/{actor_id}", "actor", not_found),
            route("/v2/actor-runs/{run_id}", "get", get_run),
            route("/v2/actor-runs/{run_id}/abort", "abort", abort_run, ["POST"]),
            route("/v2/actor-runs/{run_id}/log", "log", not_found),
            route("/v2/actor-runs/{run_id}/dataset/items", "items", run_items),
            route("/v2/datasets/{dataset_id}/items", "items", dataset_items),
            route("/{path:path}", "other", no_such_page, _ALL_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.engine, app.state.world, app.state.token = engine, world, token
    return app


def _endpoint(kind: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        engine: Engine = request.app.state.engine
        try:
            _authorize(request)
            _inject_fault(engine, kind)
            response = await handler(request, engine)
        except ApiError as error:
            response = error.response()
        query = dict(request.query_params)
        engine.requests.append(RequestRecord(request.method, request.url.path, query, kind, response.status_code))
        return response

    return endpoint


def _authorize(request: Request) -> None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.query_params.get("token")
    if not token:
        raise ApiError(401, "token-not-provided", "Authentication token was not provided")
    if token != request.app.state.token:
        raise ApiError(401, "user-or-token-not-found", "User was not found or authentication token is not valid")


def _inject_fault(engine: Engine, kind: str) -> None:
    fault = engine.take_fault(kind)
    if fault is not None:
        error_type, message = _FAULT_TYPES.get(fault.status_code, ("internal-server-error", "Injected server error"))
        raise ApiError(fault.status_code, error_type, message)


# --- runs ---------------------------------------------------------------------------------


async def start_run(request: Request, engine: Engine) -> Response:
    actor = find_actor(request.path_params["actor_id"])
    if actor is None:
        raise ApiError(404, "record-not-found", f"Actor {request.path_params['actor_id']} was not found")
    body = await _body(request)
    run_input = _json_object(body)
    options = _run_options(request.query_params)
    try:
        items = actor.collect(request.app.state.world, run_input)
    except InputError as error:
        raise ApiError(400, "invalid-input", str(error)) from error
    for cap in (options.max_items, actor.affordable(options.max_total_charge_usd)):
        items = items if cap is None else items[:cap]
    run = engine.start(
        actor, run_input, items, options,
        query=dict(request.query_params), user_agent=request.headers.get("user-agent", ""), input_bytes=len(body),
    )
    await engine.wait(run, options.wait_for_finish)
    location = f"{request.base_url}v2/actor-runs/{run.id}"
    return JSONResponse({"data": engine.resource(run)}, 201, headers={"Location": location})


async def _body(request: Request) -> bytes:
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError) as error:
            raise ApiError(400, "invalid-request", f"Request body is not valid gzip: {error}") from error
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError as error:
        raise ApiError(400, "invalid-request", f"Run input is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise ApiError(400, "invalid-input", "Run input must be a JSON object")
    return value


def _run_options(query: QueryParams) -> RunOptions:
    memory = _int_param(query, "memory", 1024)
    if memory < 128 or memory > 32768 or memory & (memory - 1):
        raise ApiError(400, "invalid-value", "memory must be a power of 2 between 128 and 32768 megabytes")
    try:
        webhooks = tuple(decode_webhooks(query["webhooks"])) if "webhooks" in query else ()
    except ValueError as error:
        raise ApiError(400, "invalid-value", f"Invalid webhooks parameter: {error}") from error
    max_items = _int_param(query, "maxItems", -1)
    max_charge = _float_param(query, "maxTotalChargeUsd")
    return RunOptions(
        build=query.get("build", "latest"),
        timeout_secs=_int_param(query, "timeout", 3600),
        memory_mbytes=memory,
        max_items=None if max_items < 0 else max_items,
        max_total_charge_usd=max_charge,
        wait_for_finish=_int_param(query, "waitForFinish", 0),
        webhooks=webhooks,
    )


def _float_param(query: QueryParams, name: str) -> float | None:
    if name not in query:
        return None
    try:
        value = float(query[name])
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ApiError(400, "invalid-value", f"Parameter {name} must be a non-negative number")
    return value


def _int_param(query: QueryParams, name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        value = -1
    if value < 0:
        raise ApiError(400, "invalid-value", f"Parameter {name} must be a non-negative integer")
    return value


async def get_run(request: Request, engine: Engine) -> Response:
    run = _run(request, engine)
    await engine.wait(run, _int_param(request.query_params, "waitForFinish", 0))
    return JSONResponse({"data": engine.resource(run)})


async def abort_run(request: Request, engine: Engine) -> Response:
    run = _run(request, engine)
    engine.abort(run)
    return JSONResponse({"data": engine.resource(run)})


def _run(request: Request, engine: Engine) -> Run:
    run = engine.run(request.path_params["run_id"])
    if run is None:
        raise ApiError(404, "record-not-found", "Actor run was not found")
    return run


async def not_found(request: Request, engine: Engine) -> Response:
    raise ApiError(404, "record-not-found", "Record was not found (the fake Apify does not serve it)")


async def no_such_page(request: Request, engine: Engine) -> Response:
    raise ApiError(404, "page-not-found", f"{request.method} {request.url.path} is not served by the fake Apify")


# --- dataset items ------------------------------------------------------------------------


async def run_items(request: Request, engine: Engine) -> Response:
    return _items_page(engine.dataset(_run(request, engine).dataset_id) or [], request.query_params)


async def dataset_items(request: Request, engine: Engine) -> Response:
    items = engine.dataset(request.path_params["dataset_id"])
    if items is None:
        raise ApiError(404, "record-not-found", "Dataset was not found")
    return _items_page(items, request.query_params)


def _items_page(items: list[Any], query: QueryParams) -> Response:
    """One page as a bare JSON array with the five pagination headers the client requires."""
    offset = _int_param(query, "offset", 0)
    limit = _int_param(query, "limit", NO_LIMIT)
    desc = _flag(query, "desc")
    window = (items[::-1] if desc else items)[offset : offset + limit]
    clean = _flag(query, "clean")
    rows = [
        _shape(item, query, skip_hidden=clean or _flag(query, "skipHidden"))
        for item in window
        if not ((clean or _flag(query, "skipEmpty")) and item in ({}, None))
    ]
    headers = {
        "X-Apify-Pagination-Total": str(len(items)),
        "X-Apify-Pagination-Offset": str(offset),
        "X-Apify-Pagination-Limit": str(limit),
        "X-Apify-Pagination-Count": str(len(window)),
        "X-Apify-Pagination-Desc": "true" if desc else "false",
    }
    return JSONResponse(rows, headers=headers)


def _shape(item: Any, query: QueryParams, *, skip_hidden: bool) -> Any:
    """Apply `fields`, `omit` and hidden-field skipping to one object item."""
    if not isinstance(item, dict):
        return item
    fields, omit = _names(query, "fields"), _names(query, "omit")
    if fields:
        item = {name: item[name] for name in fields if name in item}
    return {k: v for k, v in item.items() if k not in omit and not (skip_hidden and k.startswith("#"))}


def _names(query: QueryParams, name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def _flag(query: QueryParams, name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true")
