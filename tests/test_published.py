"""published.py and lookups.py: feeds serialized once by their writer, read cold in one indexed read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import orjson
import pytest
from sqlmodel import col, delete, select, text, update

from flowkick.feeds import load_snapshot
from flowkick.readpath import absolute
from flowkick.tables import FeedCache, FeedPublic
from tests.support.apps import app_of, demo_api, demo_source_id, feed_row, until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


async def _published(api: httpx.AsyncClient, source_id: int) -> FeedPublic | None:
    return await app_of(api).state.db.read(lambda s: s.get(FeedPublic, source_id))  # type: ignore[no-any-return]


async def _is_current(api: httpx.AsyncClient, source_id: int) -> bool:
    published = await _published(api, source_id)
    return published is not None and published.version == (await feed_row(app_of(api), source_id)).version


async def _feed(api: httpx.AsyncClient, platform: str) -> dict[str, Any]:
    app_of(api).state.reader.forget_feeds([await demo_source_id(api, platform)])
    answer = await api.get(f"/api/v1/social/{platform}", params={"api_key": "pk_demo"})
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


async def test_every_fetched_feed_is_published_at_its_rows_version(api: httpx.AsyncClient) -> None:
    versions = await app_of(api).state.db.read(lambda s: s.execute(
        select(FeedCache.source_id, FeedCache.version, FeedPublic.version)
        .join(FeedPublic, col(FeedPublic.source_id) == FeedCache.source_id, isouter=True)))
    rows = versions.all()
    assert rows and all(feed == published for _, feed, published in rows)


async def test_the_published_copy_is_the_feed_as_visitors_see_it(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "instagram")
    worked_out = await load_snapshot(app_of(api).state.db, source_id, app_of(api).state.reader.media_url)
    assert worked_out is not None
    assert (await _published(api, source_id)).body == worked_out.public  # type: ignore[union-attr]


async def test_a_refreshed_feed_is_published_again(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "tiktok")
    before = (await _published(api, source_id)).version  # type: ignore[union-attr]
    app_of(api).state.refresher.refresh_now(source_id)

    async def republished() -> bool:
        published = await _published(api, source_id)
        return published is not None and published.version > before and await _is_current(api, source_id)

    await until(republished)


async def _store_new_items(api: httpx.AsyncClient, source_id: int, *, keep_pictures: bool) -> None:
    """What the refresher does with new items: a new content hash and version, then its update hook."""
    values: dict[str, Any] = {"content_hash": "new items", "version": FeedCache.version + 1}
    if not keep_pictures:
        values["media"] = {}
    await app_of(api).state.db.write(lambda s: s.execute(
        update(FeedCache).where(col(FeedCache.source_id) == source_id).values(**values)))
    app_of(api).state.refresher.on_update([source_id])


def _count_publications(api: httpx.AsyncClient, source_id: int) -> list[int]:
    publisher = app_of(api).state.reader.publisher
    seen: list[int] = []
    inner = publisher.on_published

    def counted(current: list[int], stored: list[int]) -> None:
        seen.extend(i for i in stored if i == source_id)
        inner(current, stored)

    publisher.on_published = counted
    return seen


async def test_a_feed_with_new_items_is_published_once_with_their_pictures(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "instagram")
    publications = _count_publications(api, source_id)
    await _store_new_items(api, source_id, keep_pictures=False)

    async def pictured() -> bool:
        row = await feed_row(app_of(api), source_id)
        return row.media_hash == "new items" and await _is_current(api, source_id)

    await until(pictured)
    body = brotli.decompress((await _published(api, source_id)).body)  # type: ignore[union-attr]
    assert len(publications) == 1 and b'"image":"/media/' in body


async def test_a_feed_whose_pictures_are_not_gathered_in_time_goes_out_without_them(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "instagram")
    await app_of(api).state.media.stop()  # its pictures never come
    await _store_new_items(api, source_id, keep_pictures=True)
    assert not await _is_current(api, source_id)
    await until(lambda: _is_current(api, source_id))
    assert (await feed_row(app_of(api), source_id)).media_hash != "new items"


async def test_a_feed_written_but_not_published_is_published_by_the_check(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "youtube")
    await app_of(api).state.db.write(lambda s: s.execute(
        update(FeedCache).where(col(FeedCache.source_id) == source_id).values(version=FeedCache.version + 1)))
    await app_of(api).state.reader.check_published()
    await until(lambda: _is_current(api, source_id))


async def test_an_unpublished_feed_is_answered_from_its_row(api: httpx.AsyncClient) -> None:
    expected = await _feed(api, "google_reviews")
    source_id = await demo_source_id(api, "google_reviews")
    await app_of(api).state.db.write(lambda s: s.execute(delete(FeedPublic).where(col(FeedPublic.source_id) == source_id)))
    assert await _feed(api, "google_reviews") == expected


async def test_copies_an_older_flowkick_stored_uncompressed_are_published_again(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        expected = await _feed(api, "instagram")
        await app_of(api).state.db.write(lambda s: s.execute(
            update(FeedPublic).values(body=orjson.dumps({"items": [], "profile": {}}))))
        await app_of(api).state.db.write(lambda s: s.execute(text("UPDATE schema_version SET version = 7")))
    async with demo_api(tmp_path, own_fill=True) as upgraded:  # its copies all published again
        assert await _feed(upgraded, "instagram") == expected


async def test_a_copy_made_with_other_media_settings_is_not_used(api: httpx.AsyncClient) -> None:
    expected = await _feed(api, "instagram")
    source_id = await demo_source_id(api, "instagram")
    await app_of(api).state.db.write(lambda s: s.execute(
        update(FeedPublic).where(col(FeedPublic.source_id) == source_id)
        .values(base="https://old-cdn.example/", body=orjson.dumps({"items": [], "profile": {}}))))
    assert await _feed(api, "instagram") == expected


async def test_an_older_copy_never_replaces_a_newer_one(api: httpx.AsyncClient) -> None:
    source_id = await demo_source_id(api, "facebook")
    published = await _published(api, source_id)
    assert published is not None
    await app_of(api).state.db.write(lambda s: s.execute(
        update(FeedCache).where(col(FeedCache.source_id) == source_id).values(version=published.version - 1)))
    await app_of(api).state.reader.publisher.publish([source_id])
    assert (await _published(api, source_id)).version == published.version  # type: ignore[union-attr]


async def test_of_a_batch_only_the_copies_that_lagged_are_named_stored(api: httpx.AsyncClient) -> None:
    publisher = app_of(api).state.reader.publisher
    lagging, current = await demo_source_id(api, "instagram"), await demo_source_id(api, "tiktok")
    await app_of(api).state.db.write(lambda s: s.execute(
        update(FeedCache).where(col(FeedCache.source_id) == lagging).values(version=FeedCache.version + 1)))
    told: list[tuple[list[int], list[int]]] = []
    publisher.on_published = lambda published, stored: told.append((sorted(published), stored))
    await publisher.publish([lagging, current])
    assert told == [(sorted([lagging, current]), [lagging])]
    assert await _is_current(api, lagging)


async def test_pictures_in_the_json_are_absolute_on_the_requests_host(api: httpx.AsyncClient) -> None:
    feed = await _feed(api, "instagram")
    pictures = [s["webp"] for i in feed["items"] if i.get("picture") for s in i["picture"]["sizes"]]
    assert pictures and all(p.startswith("http://testserver/media/") for p in pictures)


def test_absolute_rewrites_only_addresses_never_text_that_looks_like_one() -> None:
    body = orjson.dumps({"text": 'see "url":"/x"', "url": "/a", "nested": [{"webp": "/b.webp", "image": "//cdn/c"}],
                         "title": "/not-a-key"})
    assert orjson.loads(absolute(body, "https://f.example")) == {
        "text": 'see "url":"/x"', "url": "https://f.example/a", "nested": [{"webp": "https://f.example/b.webp",
                                                                          "image": "//cdn/c"}],
        "title": "/not-a-key"}


def test_absolute_keeps_the_json_valid_whatever_the_base() -> None:
    base = 'http://h"\\1\\g<0>'
    assert orjson.loads(absolute(b'{"url":"/a"}', base)) == {"url": base + "/a"}
