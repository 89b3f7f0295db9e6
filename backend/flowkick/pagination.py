"""Cursor pagination of a feed: `cursor` in, `next` out, correct while the feed refreshes.

A page ends at an item, and the cursor names that item rather than a count of items: its
(published_at, id) for a post, or its rank for a pinned post (pinned posts come first, the
rest newest first; posts of the same moment keep the feed's order). The next page starts
right after that post, wherever it now sits, or, when a refresh dropped it, after its
moment. A refresh that adds new posts at the top or drops old ones between two pages
therefore neither repeats nor skips a post. Cursors are opaque to callers
(base64url JSON) and a malformed one is a 400, never a guess.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from flowkick.errors import BadParameter

MAX_CURSOR_LENGTH = 512


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None


def page(items: Sequence[dict[str, Any]], pinned: Sequence[str], limit: int, cursor: str | None) -> Page:
    """The `limit` items after `cursor` (from the top without one), and the cursor after them."""
    rank = {item_id: n for n, item_id in enumerate(pinned)}
    pins = sorted((i for i in items if i.get("id") in rank), key=lambda i: rank[i.get("id")])
    rest = sorted((i for i in items if i.get("id") not in rank), key=lambda i: _key(i)[0], reverse=True)
    after = _after(pins, rest, rank, decode(cursor)) if cursor else pins + rest
    chosen = after[:limit]
    return Page(chosen, encode(chosen[-1], rank) if len(after) > limit else None)


def _after(pins: list[dict[str, Any]], rest: list[dict[str, Any]], rank: Mapping[Any, int],
           position: dict[str, Any]) -> list[dict[str, Any]]:
    if "pin" in position:
        return [i for i in pins if rank[i.get("id")] > position["pin"]] + rest
    ids = [i.get("id") for i in rest]
    if position["id"] in ids:
        return rest[ids.index(position["id"]) + 1:]
    return [i for i in rest if _key(i)[0] < position["at"]]


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    published, item_id = item.get("published_at"), item.get("id")
    return (published if isinstance(published, str) else "", item_id if isinstance(item_id, str) else "")


def encode(item: Mapping[str, Any], rank: Mapping[Any, int]) -> str:
    """The cursor that continues after `item`."""
    item_id = item.get("id")
    position: dict[str, Any] = {"pin": rank[item_id]} if item_id in rank else dict(zip(("at", "id"), _key(item), strict=True))
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode(cursor: str) -> dict[str, Any]:
    """A cursor's position; anything that is not one of ours is a bad parameter."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError(cursor)
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        position = None
    if _valid(position):
        return position  # type: ignore[no-any-return]
    raise BadParameter("cursor is not one this server gave out: pass the `next` of the previous page",
                       code="bad_cursor")


def _valid(position: Any) -> bool:
    if not isinstance(position, dict):
        return False
    if set(position) == {"pin"}:
        return isinstance(position["pin"], int) and not isinstance(position["pin"], bool)
    return set(position) == {"at", "id"} and all(isinstance(v, str) for v in position.values())


def checked(cursor: str | None) -> str | None:
    """The request's cursor, refused early (400) when it is not one of ours; '' is none."""
    if cursor:
        decode(cursor)
    return cursor or None
