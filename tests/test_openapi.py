"""/openapi.json describes every JSON API route the app serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from flowkick.openapi import document
from flowkick.routes import api, manage
from tests.support.apps import running, scripted_app

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("route", [r for r in (*api.routes, *manage.routes) if isinstance(r, Route)],
                         ids=lambda r: r.path)
def test_every_json_api_route_is_documented(route: Route) -> None:
    paths = document()["paths"]
    template = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
    methods = {m.lower() for m in route.methods or ()} - {"head", "options"}  # CORS preflight is no operation
    if template == "/api/v1/items/{item_id}/{action}":
        documented = [p for p in paths if p.startswith("/api/v1/items/{item_id}/")]
        assert {p.rsplit("/", 1)[1] for p in documented} == {"hide", "unhide", "pin", "unpin"}
        assert all(set(paths[p]) == methods for p in documented)
    else:
        assert template in paths and methods <= set(paths[template])


def test_every_reference_points_at_a_defined_schema() -> None:
    text = str(document())
    refs = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert refs and refs <= set(document()["components"]["schemas"])


async def test_the_document_is_served_as_json(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as http:
        reply = await http.get("/openapi.json")
    body = reply.json()
    assert reply.status_code == 200 and body["openapi"].startswith("3.1")
    assert {"/api/v1/social/{platform}", "/api/v1/sources", "/api/v1/usage"} <= set(body["paths"])


def test_management_operations_require_the_secret_key() -> None:
    paths = document()["paths"]
    management = [op for p, ops in paths.items() for op in ops.values() if "management" in op.get("tags", [])]
    assert management and all(op["security"] == [{"secretKey": []}] for op in management)


def test_feed_answers_document_the_rate_limit_headers() -> None:
    ok = document()["paths"]["/api/v1/social/{platform}"]["get"]["responses"]["200"]
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(ok["headers"])
