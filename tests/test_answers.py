"""answers.py: stored answers of repeated feed requests, and what makes them go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, update

from flowkick.answers import request_key
from flowkick.clients import create_client
from flowkick.lookups import FEED_CHANGES_PAGE, FEEDS_VERSION
from flowkick.routes.embed import FRAGMENT_TTL
from flowkick.tables import Client, FeedCache, FeedChange, FeedPublic, FeedsVersion
from tests.support.apps import app_of, demo_api, demo_source_id, running, scripted_app, until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_api(tmp_path) as client:
        yield client


async def _version(api: httpx.AsyncClient, source_id: int) -> int:
    row = await app_of(api).state.db.read(lambda s: s.get(FeedCache, source_id))
    return int(row.version)


async def _stored(api: httpx.AsyncClient, path: str, **params: str) -> bool:
    """Asks once; True when the answer came from a stored answer."""
    answers = app_of(api).state.reader.answers
    before = answers.hits
    answer = await api.get(path, params={"api_key": "pk_demo", **params})
    assert answer.status_code == 200
    return bool(answers.hits == before + 1)


async def _refreshed(api: httpx.AsyncClient, platform: str) -> None:
    """Has the refresher fetch one source again, as it does when it expires, and waits for the write."""
    source_id = await demo_source_id(api, platform)
    version = await _version(api, source_id)
    app_of(api).state.refresher.refresh_now(source_id)
    await until(lambda: _moved_on(api, source_id, version))


async def _moved_on(api: httpx.AsyncClient, source_id: int, version: int) -> bool:
    return await _version(api, source_id) > version


async def test_a_repeated_request_is_answered_from_its_stored_answer(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/tiktok")
    assert await _stored(api, "/api/v1/social/tiktok")


async def test_a_refresh_of_one_feed_keeps_the_stored_answers_of_another(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/tiktok")
    await _refreshed(api, "instagram")
    assert await _stored(api, "/api/v1/social/tiktok")


async def test_a_refresh_of_a_feed_drops_its_own_stored_answers(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/instagram")
    await _refreshed(api, "instagram")
    assert not await _stored(api, "/api/v1/social/instagram")


async def test_a_refresh_of_a_feed_drops_the_walls_that_show_it(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/feed", platforms="instagram,tiktok")
    await _refreshed(api, "instagram")
    assert not await _stored(api, "/api/v1/feed", platforms="instagram,tiktok")


async def test_a_wall_without_the_refreshed_feed_keeps_its_stored_answer(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/feed", platforms="tiktok,youtube")
    await _refreshed(api, "instagram")
    assert await _stored(api, "/api/v1/feed", platforms="tiktok,youtube")


async def test_pictures_stored_for_one_feed_keep_another_feeds_answers(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/tiktok")
    app_of(api).state.media.on_update([await demo_source_id(api, "instagram")])
    assert await _stored(api, "/api/v1/social/tiktok")


async def test_a_feed_read_while_it_changes_is_answered_but_not_kept(api: httpx.AsyncClient) -> None:
    reader = app_of(api).state.reader
    source_id = await demo_source_id(api, "youtube")
    await app_of(api).state.db.write(lambda s: s.execute(delete(FeedPublic).where(col(FeedPublic.source_id) == source_id)))
    reader.forget_feeds([source_id])
    read = asyncio.create_task(reader._snapshot(source_id))
    await asyncio.sleep(0)  # the read has started and waits for the feed's row (it is not published)...
    reader.answers.forget_sources([source_id])  # ...when the refresher writes the feed
    snapshot, epoch = await read
    assert snapshot.source_id == source_id and epoch != reader.answers.epoch(source_id)
    assert source_id not in reader._feeds


async def test_a_repeated_fragment_is_answered_from_its_stored_answer(api: httpx.AsyncClient) -> None:
    await _stored(api, "/embed/instagram", layout="list")
    assert await _stored(api, "/embed/instagram", layout="list")


async def test_a_stored_answer_outlasts_minutes_when_nothing_it_depends_on_changed(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/tiktok")
    app_of(api).state.clock.advance(600)
    assert await _stored(api, "/api/v1/social/tiktok")


async def test_a_stored_fragment_lasts_no_longer_than_its_rendering(api: httpx.AsyncClient) -> None:
    await _stored(api, "/embed/tiktok")
    app_of(api).state.clock.advance(FRAGMENT_TTL + 1)  # its relative dates ("5 minutes ago") would be old
    assert not await _stored(api, "/embed/tiktok")


async def test_a_repeated_fragment_is_counted_like_the_first(api: httpx.AsyncClient) -> None:
    usage = app_of(api).state.usage
    before = usage.pending(1)["requests"]
    for _ in range(3):
        await api.get("/embed/tiktok", params={"api_key": "pk_demo"})
    assert usage.pending(1)["requests"] == before + 3


async def test_a_refresh_of_a_feed_drops_its_stored_fragments_and_keeps_others(api: httpx.AsyncClient) -> None:
    await _stored(api, "/embed/instagram")
    await _stored(api, "/embed/tiktok")
    await _refreshed(api, "instagram")
    assert not await _stored(api, "/embed/instagram")
    assert await _stored(api, "/embed/tiktok")


async def test_a_fragment_is_stored_per_language(api: httpx.AsyncClient) -> None:
    english = await api.get("/embed/google_reviews", params={"api_key": "pk_demo"}, headers={"Accept-Language": "en"})
    german = await api.get("/embed/google_reviews", params={"api_key": "pk_demo"}, headers={"Accept-Language": "de"})
    again = await api.get("/embed/google_reviews", params={"api_key": "pk_demo"}, headers={"Accept-Language": "de"})
    assert english.text != german.text and again.text == german.text


async def test_a_stored_fragment_keeps_refusing_a_page_outside_the_clients_origins(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    async with running(app) as client:
        new = await create_client(app.state.db, "Listed", {"instagram": ["listed.cafe"]}, now=0,
                                  origins=("https://cafe.example",))
        allowed = {"Origin": "https://cafe.example"}
        await until(lambda: _fragment_status(client, new.publishable_key, allowed, 200))
        repeat = await client.get("/embed/instagram", params={"api_key": new.publishable_key}, headers=allowed)
        foreign = await client.get("/embed/instagram", params={"api_key": new.publishable_key},
                                   headers={"Origin": "https://evil.example"})
    assert repeat.headers["access-control-allow-origin"] == "https://cafe.example"
    assert foreign.status_code == 403 and "data-item" not in foreign.text


async def _fragment_status(client: httpx.AsyncClient, key: str, headers: dict[str, str], status: int) -> bool:
    return (await client.get("/embed/instagram", params={"api_key": key}, headers=headers)).status_code == status


async def test_a_feed_written_by_another_process_is_forgotten_at_the_next_version_check(
        api: httpx.AsyncClient) -> None:
    reader = app_of(api).state.reader
    source_id = await demo_source_id(api, "tiktok")
    await _stored(api, "/api/v1/social/tiktok")
    await _new_version(api, FeedCache, source_id)
    await reader.check_versions()  # the watcher's own check may have come first: either forgets it
    assert not await _stored(api, "/api/v1/social/tiktok")


async def test_a_version_check_reads_every_change_however_many_came_before(tmp_path: Path) -> None:
    async with demo_api(tmp_path, feed_watch_seconds=3600.0) as api:  # no check but the test's
        source_id = await demo_source_id(api, "tiktok")
        await _stored(api, "/api/v1/social/tiktok")
        await app_of(api).state.db.write(_log_other_changes(FEED_CHANGES_PAGE + 500))
        await _new_version(api, FeedCache, source_id)
        assert source_id in await app_of(api).state.reader.check_versions()


async def test_a_copy_read_before_another_process_published_the_feed_is_forgotten_once_it_does(
        tmp_path: Path) -> None:
    async with demo_api(tmp_path, feed_watch_seconds=3600.0) as api:  # no check but the test's
        reader = app_of(api).state.reader
        source_id = await demo_source_id(api, "tiktok")
        await _new_version(api, FeedCache, source_id)  # another process wrote the feed, and holds it back a moment
        await reader.check_versions()
        assert (await api.get("/api/v1/social/tiktok", params={"api_key": "pk_demo"})).status_code == 200  # the older copy
        await _new_version(api, FeedPublic, source_id)  # then publishes it
        assert source_id in await reader.check_versions()


async def _new_version(api: httpx.AsyncClient, table: type[FeedCache] | type[FeedPublic], source_id: int) -> None:
    """A feed's row, or its published copy, at a new version: as another process writes it."""
    await app_of(api).state.db.write(lambda s: s.execute(
        update(table).where(col(table.source_id) == source_id).values(version=table.version + 1)))


def _log_other_changes(count: int) -> Callable[[AsyncSession], Awaitable[None]]:
    """`count` changes of feeds nobody reads, logged as the triggers log them."""
    async def work(session: AsyncSession) -> None:
        seen = (await session.execute(text(FEEDS_VERSION))).scalar_one()
        await session.execute(update(FeedsVersion).values(version=seen + count))
        session.add_all(FeedChange(source_id=1_000_000 + n, version=0, seq=seen + 1 + n) for n in range(count))

    return work


async def test_a_version_check_keeps_the_feeds_nobody_changed(api: httpx.AsyncClient) -> None:
    await _stored(api, "/api/v1/social/tiktok")
    assert await app_of(api).state.reader.check_versions() == []
    assert await _stored(api, "/api/v1/social/tiktok")


async def test_a_client_changed_by_another_process_is_forgotten_at_the_next_client_check(
        api: httpx.AsyncClient) -> None:
    reader = app_of(api).state.reader
    await _stored(api, "/api/v1/social/tiktok")
    await app_of(api).state.db.write(lambda s: s.execute(update(Client).values(active=False)))
    await reader.check_clients()  # the watcher's own check may have come first: either forgets it
    answer = await api.get("/api/v1/social/tiktok", params={"api_key": "pk_demo"})
    assert answer.status_code == 403


async def test_a_client_check_keeps_the_stored_answers_when_no_client_changed(api: httpx.AsyncClient) -> None:
    reader = app_of(api).state.reader
    await reader.check_clients()
    await _stored(api, "/api/v1/social/tiktok")
    assert not await reader.check_clients()
    assert await _stored(api, "/api/v1/social/tiktok")


def test_a_request_key_takes_a_path_that_is_not_valid_utf8() -> None:
    """An ASGI server may hand over a path with lone surrogates (undecodable bytes): its key
    is made all the same, and differs from the key of the path that is valid."""
    scope = {"path": "/api/v1/social/\udc80", "query_string": b"api_key=pk_demo", "headers": [(b"host", b"a")]}
    assert request_key(scope) != request_key({**scope, "path": "/api/v1/social/\ufffd"})
