"""The OpenAPI 3.1 document of the public and management API, served at /openapi.json.

Written by hand next to the routes it describes; a test fails when a JSON API route is
missing from it, so the two cannot drift apart silently.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from flowkick import __version__
from flowkick.platforms import PLATFORMS

_ERRORS = {"400": "A parameter is malformed or out of range", "401": "No key, an unknown key, or an expired one",
           "403": "Inactive client, origin not allowed, or a publishable key on the management API",
           "404": "Unknown platform, source or item", "429": "Over the monthly quota or the burst limit"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {**_json(_ref("Error"), _ERRORS[code]), **({"headers": {"Retry-After": {"schema": {"type": "integer"}}}}
                                                             if code == "429" else {})} for code in codes}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_RATE_HEADERS = {name: {"schema": {"type": "integer"}, "description": text} for name, text in (
    ("X-RateLimit-Limit", "Requests the plan allows this month"),
    ("X-RateLimit-Remaining", "Requests left this month"),
    ("X-RateLimit-Reset", "Unix time when the monthly count starts again"))}

_FEED_PARAMS = [
    _query("api_key", "Publishable key; a secret key goes only in Authorization: Bearer (400 in a URL)", {"type": "string"}),
    _query("handle", "Needed only when the client tracks several accounts on the platform", {"type": "string"}),
    _query("limit", "Items to return", {"type": "integer", "minimum": 1, "maximum": 50, "default": 12}),
    _query("min_rating", "Reviews below this rating are left out", {"type": "integer", "minimum": 1, "maximum": 5}),
    _query("cursor", "The `next` of the previous page: the items after it", {"type": "string"}),
]

_SIZE = {"type": "object", "properties": {
    "width": {"type": "integer"}, "height": {"type": "integer"},
    "avif": {"type": ["string", "null"], "description": "This width in AVIF (up to 640 pixels), Flowkick's copy"},
    "webp": {"type": "string", "description": "This width in WebP, Flowkick's copy"}}}

_PICTURE = {"type": ["object", "null"], "description": "A picture stored by Flowkick; null until it is stored",
            "properties": {
                "url": {"type": "string", "description": "WebP about 640 pixels wide (160 for an avatar)"},
                "width": {"type": "integer"}, "height": {"type": "integer"},
                "placeholder": {"type": ["string", "null"], "description": "#rrggbb to paint before it loads"},
                "sizes": {"type": "array", "items": _SIZE, "description": "Every stored width, for a srcset"}}}

_MEDIA = {"type": "object", "properties": {
    "type": {"type": "string", "enum": ["image", "video"]},
    "url": {"type": ["string", "null"], "description": "Flowkick's copy (the largest WebP, or the stored video); "
                                                        "null until stored (videos: unless video storing is on)"},
    "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]}, "alt": {"type": ["string", "null"]},
    "placeholder": {"type": ["string", "null"]}, "sizes": {"type": "array", "items": _SIZE}}}

_PERSON = {"type": "object", "properties": {
    "name": {"type": ["string", "null"]}, "handle": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]},
    "avatar_url": {"type": ["string", "null"], "description": "Flowkick's copy, 160 pixels"}, "avatar": _PICTURE}}

_ITEM = {"type": "object", "required": ["id", "platform", "type", "url"], "properties": {
    "id": {"type": "string"}, "platform": {"type": "string", "enum": list(PLATFORMS)},
    "type": {"type": "string", "enum": ["image", "video", "carousel", "review", "text"]},
    "url": {"type": "string"}, "title": {"type": ["string", "null"]}, "text": {"type": ["string", "null"]},
    "image": {"type": ["string", "null"], "description": "Flowkick's copy of the main picture (a video's poster)"},
    "picture": _PICTURE, "media": {"type": "array", "items": _MEDIA},
    "published_at": {"type": ["string", "null"], "format": "date-time"}, "author": _PERSON,
    "likes": {"type": ["integer", "null"]}, "comments": {"type": ["integer", "null"]},
    "views": {"type": ["integer", "null"]}, "shares": {"type": ["integer", "null"]},
    "rating": {"type": ["number", "null"]}, "reply": {"type": ["object", "null"]}}}

_FEED = {"type": "object", "properties": {
    "platform": {"type": "string"}, "handle": {"type": "string"}, "profile": _PERSON,
    "status": {"type": "string", "enum": ["ok", "pending", "error"]}, "stale": {"type": "boolean"},
    "fetched_at": {"type": ["string", "null"], "format": "date-time"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"},
    "items": {"type": "array", "items": _ref("Item")},
    "next": {"type": ["string", "null"], "description": "Cursor of the next page (pass as `cursor`), null at the end"}}}

_SOURCE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "platform": {"type": "string"}, "handle": {"type": "string"},
    "status": {"type": "string"}, "item_count": {"type": "integer"},
    "fetched_at": {"type": ["string", "null"]}, "expires_at": {"type": ["string", "null"]},
    "last_error": {"type": ["string", "null"]}, "hidden_ids": {"type": "array", "items": {"type": "string"}},
    "pinned_ids": {"type": "array", "items": {"type": "string"}},
    "cost_usd_month": {"type": "number", "description": "This month's Apify cost of the source: the client's share"}}}

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}}}}}

_SECRET = [{"secretKey": []}]


def _feed_op(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    ok = {**_json(_ref("Feed"), "The feed"), "headers": {"ETag": {"schema": {"type": "string"}}, **_RATE_HEADERS}}
    return {"get": {"summary": summary, "tags": ["public"], "parameters": params, "security": [{"publishableKey": []}],
                    "responses": {"200": ok, "202": _json(_ref("Feed"), "Never fetched yet: status pending, "
                                                          "with Retry-After; the first fetch has started"),
                                  "304": {"description": "Not modified (If-None-Match)"},
                                  **_errors("400", "401", "403", "404", "429")}}}


def _moderation(action: str) -> dict[str, Any]:
    return {"post": {"summary": f"{action.capitalize()} one item in this client's feeds", "tags": ["management"],
                     "security": _SECRET,
                     "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                     "responses": {"200": _json({"type": "object"}, "Done"), **_errors("401", "403", "404", "429")}}}


_WEBHOOK_ID = [{"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_WEBHOOK = {"type": "object", "properties": {"id": {"type": "integer"}, "url": {"type": "string"},
                                             "events": {"type": "array", "items": {"type": "string"}},
                                             "active": {"type": "boolean"}, "created_at": {"type": "string"}}}
_WEBHOOK_PATHS = {
    "/api/v1/webhooks": {
        "get": {"summary": "The client's webhooks", "tags": ["webhooks"], "security": _SECRET,
                "responses": {"200": _json({"type": "object", "properties": {
                    "webhooks": {"type": "array", "items": _WEBHOOK}}}, "Webhooks"), **_errors("401", "403", "429")}},
        "post": {"summary": "Register a URL for signed POSTs (Standard Webhooks) on feed.updated and feed.failed",
                 "tags": ["webhooks"], "security": _SECRET,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["url"],
                     "properties": {"url": {"type": "string"}, "events": {"type": "array", "items": {
                         "type": "string", "enum": ["feed.updated", "feed.failed"]}}}}}}},
                 "responses": {"201": _json({"type": "object", "properties": {
                     "webhook": _WEBHOOK, "secret": {"type": "string", "description": "whsec_…, shown only here"}}},
                     "Registered"), **_errors("400", "401", "403", "429")}},
    },
    "/api/v1/webhooks/{webhook_id}": {"delete": {
        "summary": "Remove a webhook", "tags": ["webhooks"], "security": _SECRET, "parameters": _WEBHOOK_ID,
        "responses": {"204": {"description": "Removed"}, **_errors("401", "403", "404", "429")}}},
    "/api/v1/webhooks/{webhook_id}/deliveries": {"get": {
        "summary": "The webhook's delivery log, newest first", "tags": ["webhooks"], "security": _SECRET,
        "parameters": _WEBHOOK_ID,
        "responses": {"200": _json({"type": "object"}, "Deliveries"), **_errors("401", "403", "404", "429")}}},
}


@cache
def document() -> dict[str, Any]:
    platform = {"name": "platform", "in": "path", "required": True, "schema": {"type": "string"},
                "description": f"One of {', '.join(PLATFORMS)} (aliases: google, google_maps, x)"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Flowkick", "version": __version__,
                 "description": "A business's own social posts and reviews as JSON, HTML fragments and widgets."},
        "paths": {
            "/api/v1/social/{platform}": _feed_op("One account's feed", [platform, *_FEED_PARAMS]),
            "/api/v1/feed": _feed_op("Several platforms merged newest first", [
                _query("platforms", "Comma-separated platforms (default: all tracked)", {"type": "string"}),
                *_FEED_PARAMS]),
            "/embed/{platform}": {"get": {"summary": "The feed as a themed HTML fragment", "tags": ["public"],
                                          "parameters": [platform, *_FEED_PARAMS],
                                          "responses": {"200": {"description": "HTML fragment",
                                                                "content": {"text/html": {}}}}}},
            "/api/v1/sources": {
                "get": {"summary": "The client's sources and their feed state", "tags": ["management"],
                        "security": _SECRET, "responses": {"200": _json({"type": "object", "properties": {
                            "sources": {"type": "array", "items": _ref("Source")},
                            "max_sources": {"type": ["integer", "null"]}}}, "Sources"), **_errors("401", "403", "429")}},
                "post": {"summary": "Track one more account (within the plan's source limit)", "tags": ["management"],
                         "security": _SECRET,
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["platform", "handle"],
                             "properties": {"platform": {"type": "string"}, "handle": {"type": "string"}}}}}},
                         "responses": {"201": _json({"type": "object", "properties": {"source": _ref("Source")}},
                                                    "Tracked"), **_errors("400", "401", "403", "404", "429")}},
            },
            "/api/v1/sources/{source_id}": {"delete": {
                "summary": "Stop tracking a source", "tags": ["management"], "security": _SECRET,
                "parameters": [{"name": "source_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "Removed"}, **_errors("401", "403", "404", "429")}}},
            "/api/v1/usage": {"get": {
                "summary": "This month's requests against the plan, requests, views and clicks per day, and the month's Apify cost "
                           "share and budget hold", "tags": ["management"],
                "security": _SECRET, "responses": {"200": _json({"type": "object"}, "Usage"),
                                                   **_errors("401", "403", "429")}}},
            **{f"/api/v1/items/{{item_id}}/{a}": _moderation(a) for a in ("hide", "unhide", "pin", "unpin")},
            "/api/v1/events": {"post": {
                "summary": "The widget's cookieless beacons: a feed seen, a post opened (per day in /api/v1/usage)",
                "tags": ["public"], "parameters": [_FEED_PARAMS[0]],
                "requestBody": {"required": True, "content": {"text/plain": {"schema": {
                    "type": "object", "required": ["type"], "properties": {
                        "type": {"type": "string", "enum": ["view", "click"]},
                        "item": {"type": "string", "description": "The opened post's id (clicks)"}}}}}},
                "responses": {"204": {"description": "Counted"}, **_errors("400", "401", "403", "429")}}},
            **_WEBHOOK_PATHS,
        },
        "components": {
            "schemas": {"Item": _ITEM, "Feed": _FEED, "Source": _SOURCE, "Error": _ERROR},
            "securitySchemes": {
                "publishableKey": {"type": "apiKey", "in": "query", "name": "api_key",
                                   "description": "pk_… (safe in web pages; limited to the client's origins)"},
                "secretKey": {"type": "http", "scheme": "bearer",
                              "description": "sk_… (servers only: WordPress, backends, the management API; never in a URL)"},
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    return Response(orjson.dumps(document()), media_type="application/json",
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"})


routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET", "HEAD"])]
