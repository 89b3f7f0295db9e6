"""Cursor pagination: `cursor` in, `next` out, pages that neither repeat nor skip a post,
pinned posts first, and correct while the feed refreshes between two pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from flowkick import pagination
from flowkick.errors import BadParameter
from flowkick.sources.demo import demo_items
from tests.support.apps import START, ScriptedSource, running, scripted_app, until

pytestmark = pytest.mark.anyio


def post(n: int, day: int) -> dict[str, Any]:
    return {"id": f"instagram:{n}", "published_at": f"2026-11-{day:02d}T10:00:00Z"}


FEED = [post(n, 28 - n) for n in range(10)]  # newest first
HANDLE = "lunacafe.berlin"  # the demo client's Instagram account


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def all_pages(items: list[dict[str, Any]], limit: int, pinned: tuple[str, ...] = ()) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = pagination.page(items, pinned, limit, cursor)
        pages.append(ids(page.items))
        if page.next is None:
            return pages
        cursor = page.next


def test_pages_cover_the_feed_once_in_order() -> None:
    assert all_pages(FEED, 4) == [ids(FEED[0:4]), ids(FEED[4:8]), ids(FEED[8:10])]


def test_the_last_page_has_no_next() -> None:
    assert pagination.page(FEED, (), 10, None).next is None
    assert pagination.page(FEED, (), 9, None).next is not None


def test_pinned_posts_come_first_and_only_once() -> None:
    pinned = ("instagram:7", "instagram:2")
    pages = all_pages(FEED, 3, pinned)
    flat = [i for p in pages for i in p]
    assert flat[:2] == list(pinned) and sorted(flat) == sorted(ids(FEED)) and len(flat) == len(FEED)


def test_new_posts_at_the_top_do_not_repeat_the_next_page() -> None:
    first = pagination.page(FEED, (), 4, None)
    refreshed = [post(100, 29), post(101, 29), *FEED]
    assert ids(pagination.page(refreshed, (), 4, first.next).items) == ids(FEED[4:8])


def test_a_removed_last_post_does_not_skip_the_next_page() -> None:
    first = pagination.page(FEED, (), 4, None)
    refreshed = [p for p in FEED if p["id"] != "instagram:3"]
    assert ids(pagination.page(refreshed, (), 4, first.next).items) == ids(FEED[4:8])


@pytest.mark.parametrize("cursor", ["nonsense!", "e30", "W10", "eyJwaW4iOiJ4In0", "x" * 600])
def test_a_cursor_we_did_not_give_out_is_a_bad_parameter(cursor: str) -> None:
    with pytest.raises(BadParameter) as raised:
        pagination.checked(cursor)
    assert raised.value.code == "bad_cursor"


# -- the JSON API ------------------------------------------------------------------------------------------

async def _feed(client: httpx.AsyncClient, path: str = "/api/v1/social/instagram", **query: str) -> dict[str, Any]:
    reply = await client.get(path, params={"api_key": "pk_demo", **query})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def _filled(client: httpx.AsyncClient) -> bool:
    return (await client.get("/api/v1/feed", params={"api_key": "pk_demo"})).status_code == 200


async def test_the_api_pages_a_feed_with_next_and_cursor(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        await until(lambda: _filled(client))
        whole = ids((await _feed(client, limit="50"))["items"])
        first = await _feed(client, limit="5")
        second = await _feed(client, limit="5", cursor=first["next"])
    assert ids(first["items"]) + ids(second["items"]) == whole[:10]


async def test_the_merged_wall_pages_too(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        await until(lambda: _filled(client))
        whole = ids((await _feed(client, "/api/v1/feed", limit="20"))["items"])
        first = await _feed(client, "/api/v1/feed", limit="7")
        second = await _feed(client, "/api/v1/feed", limit="7", cursor=first["next"])
    assert ids(first["items"]) + ids(second["items"]) == whole[:14]


async def test_a_refresh_between_two_pages_neither_repeats_nor_skips(tmp_path: Path) -> None:
    source = ScriptedSource()
    stored = demo_items("instagram", HANDLE, 24, START)
    source.items[HANDLE] = stored
    async with running(scripted_app(tmp_path, source)) as client:
        await until(lambda: _filled(client))
        before = ids((await _feed(client, limit="50"))["items"])
        first = await _feed(client, limit="4")
        newer = [{**stored[0], "id": f"instagram:new{n}", "published_at": "2026-09-21T09:00:00Z"} for n in range(2)]
        source.items[HANDLE] = newer + stored
        source.clock.advance(3600)  # the feed expires and the refresher fetches the newer posts
        await until(lambda: _newer_posts(client, before))
        second = await _feed(client, limit="4", cursor=first["next"])
    assert ids(second["items"]) == before[4:8]


async def _newer_posts(client: httpx.AsyncClient, before: list[str]) -> bool:
    return ids((await _feed(client, limit="1"))["items"]) != before[:1]


async def test_a_bad_cursor_answers_400(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        await until(lambda: _filled(client))
        reply = await client.get("/api/v1/social/instagram", params={"api_key": "pk_demo", "cursor": "garbage"})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "bad_cursor"


async def test_the_fragment_carries_the_next_cursor_for_load_more(tmp_path: Path) -> None:
    async with running(scripted_app(tmp_path)) as client:
        await until(lambda: _filled(client))
        api = await _feed(client, limit="3")
        fragment = (await client.get("/embed/instagram", params={"api_key": "pk_demo", "limit": "3", "more": "1"})).text
        without = (await client.get("/embed/instagram", params={"api_key": "pk_demo", "limit": "3"})).text
    assert f'data-fk-next="{api["next"]}"' in fragment and 'class="fk-load"' not in without


def test_posts_of_the_same_moment_keep_the_feeds_order_across_pages() -> None:
    same = [post(n, 20) for n in (5, 9, 1, 7)]
    assert all_pages(same, 3) == [["instagram:5", "instagram:9", "instagram:1"], ["instagram:7"]]
