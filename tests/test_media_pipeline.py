"""Every picture a feed shows is stored, resized and served by Flowkick (the media worker in the app)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlmodel import select

from flowkick.clients import untrack
from flowkick.media import cleanup
from flowkick.media.cleanup import clean
from flowkick.tables import Client, FeedCache, MediaAsset, Source
from tests.support.apps import (
    FakeClock,
    ScriptedSource,
    app_of,
    demo_api,
    demo_source_id,
    feed_row,
    pictures_settled,
    running,
    scripted_app,
    until,
)
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, SeaweedFS

pytestmark = pytest.mark.anyio
PARAMS = {"api_key": "pk_demo"}


class GatedPictures:
    """Stands between the worker and its fetcher, so a test sees feeds before their pictures arrive."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = asyncio.Event()

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        await self.gate.wait()
        return await self.inner.fetch(url, max_bytes=max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def assets(app: Any) -> list[MediaAsset]:
    return list((await app.state.db.read(lambda s: s.execute(select(MediaAsset)))).scalars())


async def feeds(app: Any) -> list[FeedCache]:
    return list((await app.state.db.read(lambda s: s.execute(select(FeedCache)))).scalars())


async def test_every_picture_in_the_json_is_a_stored_copy(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        body = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()
    urls = [body["profile"]["avatar_url"], *(i["image"] for i in body["items"]),
            *(m["url"] for i in body["items"] for m in i["media"] if m["type"] == "image")]
    assert urls and all(u.startswith("http://testserver/media/") for u in urls)
    assert b"/static/demo/" not in orjson.dumps(body)


async def test_media_entries_carry_sizes_and_a_placeholder_for_a_srcset(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        item = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()["items"][0]
    entry = item["media"][0]
    assert entry["width"] == 1080 and entry["height"] == 1080
    assert [s["width"] for s in entry["sizes"]] == [160, 320, 640, 1080]
    assert all(s["webp"].endswith(".webp") for s in entry["sizes"])
    assert [s["width"] for s in entry["sizes"] if s["avif"]] == [160, 320, 640]
    assert entry["placeholder"].startswith("#") and len(entry["placeholder"]) == 7
    assert item["picture"]["sizes"] == entry["sizes"]


async def test_every_stored_size_is_served_in_its_format(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        item = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()["items"][0]
        for size in item["picture"]["sizes"]:
            for fmt in ("avif", "webp") if size["avif"] else ("webp",):
                answer = await api.get(size[fmt])
                assert answer.status_code == 200 and answer.headers["content-type"] == f"image/{fmt}"
                assert answer.headers["cross-origin-resource-policy"] == "cross-origin"


async def test_the_fragment_offers_avif_and_webp_at_every_size(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        html = (await api.get("/embed/instagram", params=PARAMS)).text
    assert '<source type="image/avif" srcset="http://testserver/media/' in html
    assert ' 160w, ' in html and ' 640w"' in html and ' 1080w"' in html
    assert 'style="background-color:#' in html
    assert "/static/demo/" not in html


async def test_the_first_row_loads_at_once_and_the_rest_lazily(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        html = (await api.get("/embed/instagram", params={**PARAMS, "columns": 3})).text
    images = [part for part in html.split("<img ")[1:] if "/media/" in part.split(">")[0] and "fk-avatar" not in part]
    eager = [part for part in images if 'loading="lazy"' not in part.split(">")[0]]
    assert len(eager) == 3 and len(images) == 12


async def test_a_feed_shows_placeholders_and_text_until_its_pictures_are_stored(tmp_path: Path) -> None:
    app = scripted_app(tmp_path)
    gated = GatedPictures(app.state.media.fetcher)
    app.state.media.fetcher = gated
    async with running(app) as api:
        await until(lambda: _status(api, 200))
        before = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()
        html = (await api.get("/embed/instagram", params=PARAMS)).text
        gated.gate.set()
        await until(lambda: pictures_settled(app))
        after = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()
    assert all(i["image"] is None and i["text"] for i in before["items"])
    assert "<img" not in html.split("fk-head")[-1].split("</header>")[-1] and "fk-noimg" in html
    assert all(i["image"] for i in after["items"])


async def _renew_instagram(api: httpx.AsyncClient, change: Any) -> tuple[FeedCache, FeedCache]:
    """The demo's Instagram feed fetched again with `change` made to its items, with the media
    worker stopped: what the refresher's own write left in the row, before and after."""
    app = app_of(api)
    await app.state.media.stop()
    source_id = await demo_source_id(api, "instagram")
    before = await feed_row(app, source_id)
    app.state.refresher.sources["instagram"].items["lunacafe.berlin"] = change(before.items)
    app.state.refresher.refresh_now(source_id)
    await until(lambda: _version_above(app, source_id, before.version))
    return before, await feed_row(app, source_id)


async def test_a_feed_renewed_with_its_pictures_stored_already_is_written_once_with_them(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        before, after = await _renew_instagram(api, lambda items: [{**i, "likes": i["likes"] + 1} for i in items])
    assert after.content_hash != before.content_hash and after.media_hash == after.content_hash
    assert after.version == before.version + 1 and after.media == before.media


async def test_a_feed_renewed_with_a_picture_not_stored_yet_leaves_its_map_to_the_media_worker(
        tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        before, after = await _renew_instagram(api, lambda items: [_post("https://127.0.0.1:9/new.jpg"), *items])
    assert after.media_hash == before.media_hash != after.content_hash and after.media == before.media


async def _version_above(app: Any, source_id: int, version: int) -> bool:
    return (await feed_row(app, source_id)).version > version


async def test_a_picture_shared_by_several_feeds_is_stored_once(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        stored = await assets(api.app)  # type: ignore[attr-defined]
        names = [name for a in stored for name in a.files]
    # Six feeds show the same thirteen sample photos between them.
    assert len(stored) <= 13 and len(names) == len(set(names))
    assert len(list((tmp_path / "media").rglob("*.webp"))) == sum(n.endswith(".webp") for n in names)


async def test_no_metadata_or_original_is_kept(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        stored = await assets(api.app)  # type: ignore[attr-defined]
    files = [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert files and all(name.endswith((".avif", ".webp")) for name in files)
    assert all(a.placeholder.startswith("#") for a in stored)


async def test_a_failed_download_is_counted_per_feed_and_shown_as_a_placeholder(tmp_path: Path) -> None:
    source = ScriptedSource()
    source.items["lunacafe.berlin"] = [_post("https://127.0.0.1:9/nothing.jpg")]
    app = scripted_app(tmp_path, source)
    async with running(app) as api:
        await until(lambda: _status(api, 200))
        await until(lambda: pictures_settled(app))
        body = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()
        rows = {f.source_id: f for f in await feeds(app)}
    assert body["items"][0]["image"] is None
    failing = [f for f in rows.values() if f.media_failures]  # every platform tracking that handle
    assert failing and all(f.media_failures == 1 and f.media_retry_at is not None for f in failing)
    assert {r["x"] for f in failing for r in f.media.values() if "x" in r} == {"private_address"}


async def test_pictures_no_tracked_feed_shows_are_deleted_after_the_grace_period(tmp_path: Path) -> None:
    clock = FakeClock()
    app = scripted_app(tmp_path, ScriptedSource(clock), media_grace_hours=1.0)
    async with running(app) as api:
        await until(lambda: _status(api, 200))
        await until(lambda: pictures_settled(app))
        before = await assets(app)
        for platform in ("instagram", "facebook", "tiktok", "twitter", "youtube"):
            await untrack(app.state.db, await _client_id(app), await _source_id(app, platform))
        db, store, settings = app.state.db, app.state.media_store, app.state.settings
        await clean(db, store, settings, clock.now())
        kept = await assets(app)
        clock.advance(2 * 3600)
        await clean(db, store, settings, clock.now())
        after = await assets(app)
    assert len(kept) == len(before)  # within the grace period nothing goes
    [avatar] = after  # the reviews feed shows only the place's avatar
    assert sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file()) == sorted(
        name.rsplit("/", 1)[1] for name in avatar.files)


async def test_a_picture_shown_only_by_the_last_feed_read_by_the_clean_up_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "FEED_PAGE", 1)  # each of the six feeds on a page of its own
    async with demo_api(tmp_path) as api:
        app = api.app  # type: ignore[attr-defined]
        now = app.state.clock.now()
        only_last = "f" * 32
        await app.state.db.write(lambda s: _show_only_in_last_feed(s, only_last, now))
        week = 7 * 24 * 3600.0  # far longer than the grace period
        for days in (1, 2):  # the first pass would mark what is unreferenced, the second delete it
            await clean(app.state.db, app.state.media_store, app.state.settings, now + days * week)
        kept = {a.digest for a in await assets(app)}
    assert only_last in kept


async def _show_only_in_last_feed(session: Any, digest: str, now: float) -> None:
    session.add(MediaAsset(digest=digest, files=[], created_at=now, last_shown_at=now))
    last = (await session.execute(select(FeedCache).order_by(FeedCache.source_id.desc()))).scalars().first()
    last.media = {**last.media, "only-here": {"d": digest, "w": 1, "h": 1, "p": "#000000", "s": [], "a": []}}


async def test_over_the_size_cap_the_least_recently_shown_pictures_go_first(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        app = api.app  # type: ignore[attr-defined]
        stored = await assets(app)
        total = sum(a.bytes for a in stored)
        settings = app.state.settings.__class__(**{**app.state.settings.__dict__,
                                                   "media_max_store_bytes": total // 2})
        cleaned = await clean(app.state.db, app.state.media_store, settings, app.state.clock.now())
        left = await assets(app)
    assert cleaned.evicted > 0 and cleaned.changed_feeds
    assert sum(a.bytes for a in left) <= total // 2


async def test_an_evicted_picture_leaves_every_feed_map_that_named_it_whatever_its_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "FEED_PAGE", 1)  # each feed's map read on a page of its own
    async with demo_api(tmp_path) as api:
        app = api.app  # type: ignore[attr-defined]
        stored = await assets(app)
        before = {f.source_id: f for f in await feeds(app)}
        settings = app.state.settings.__class__(**{**app.state.settings.__dict__,
                                                   "media_max_store_bytes": sum(a.bytes for a in stored) // 2})
        cleaned = await clean(app.state.db, app.state.media_store, settings, app.state.clock.now())
        evicted = {a.digest for a in stored} - {a.digest for a in await assets(app)}
        after = await feeds(app)
    naming = {f.source_id for f in before.values() if {r.get("d") for r in f.media.values()} & evicted}
    assert len(naming) > 1 and set(cleaned.changed_feeds) == naming
    assert not any(r.get("d") in evicted for f in after for r in f.media.values())
    assert all(f.version == before[f.source_id].version + 1 for f in after if f.source_id in naming)


class KilledMidCleanUp(Exception):
    pass


class DiesAfterDeleting:
    """A media store whose process is killed the moment its files are deleted."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def delete(self, names: Any) -> None:
        await self.inner.delete(names)
        raise KilledMidCleanUp

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_clean_up_killed_once_it_deleted_files_leaves_no_feed_naming_them(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        app = api.app  # type: ignore[attr-defined]
        settings = app.state.settings.__class__(**{**app.state.settings.__dict__,
                                                   "media_max_store_bytes": sum(a.bytes for a in await assets(app)) // 2})
        with pytest.raises(KilledMidCleanUp):
            await clean(app.state.db, DiesAfterDeleting(app.state.media_store), settings, app.state.clock.now())
        on_disk = {f.name.rsplit("/", 1)[-1].split("-", 1)[0] async for f in app.state.media_store.files()}
        named = {r["d"] for f in await feeds(app) for r in f.media.values() if r.get("d")}
    assert named and named <= on_disk


async def _status(api: httpx.AsyncClient, status: int) -> bool:
    return (await api.get("/api/v1/social/instagram", params=PARAMS)).status_code == status


async def _client_id(app: Any) -> int:
    rows = await app.state.db.read(lambda s: s.execute(select(Client.id)))
    return int(rows.scalar_one())


async def _source_id(app: Any, platform: str) -> int:
    rows = await app.state.db.read(lambda s: s.execute(select(Source.id).where(Source.platform == platform)))
    return int(rows.scalar_one())


def _post(image: str) -> dict[str, Any]:
    return {"id": "instagram:1", "platform": "instagram", "type": "image", "url": "https://www.instagram.com/p/x/",
            "title": None, "text": "One post", "image": image,
            "media": [{"type": "image", "url": image, "width": None, "height": None, "alt": None}],
            "published_at": "2026-09-20T10:00:00Z", "author": {"name": "Luna", "handle": "luna",
                                                               "avatar_url": None, "url": None},
            "likes": None, "comments": None, "views": None, "shares": None, "rating": None, "reply": None}


async def test_metrics_show_pictures_bytes_failures_and_downloads(tmp_path: Path) -> None:
    async with demo_api(tmp_path, own_fill=True) as api:
        text = (await api.get("/metrics")).text
    figures = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(figures["flowkick_media_pictures"]) > 0 and float(figures["flowkick_media_bytes"]) > 0
    assert float(figures["flowkick_media_failures"]) == 0
    assert float(figures['flowkick_media_downloads_total{outcome="stored"}']) > 0


async def test_the_dashboard_shows_pictures_stored_and_failing(tmp_path: Path) -> None:
    source = ScriptedSource()
    source.items["lunacafe.berlin"] = [_post("https://127.0.0.1:9/nothing.jpg")]
    app = scripted_app(tmp_path, source, admin_password="pictures please", secret_key="test-secret")
    async with running(app) as api:
        await until(lambda: _status(api, 200))
        await until(lambda: pictures_settled(app))
        form = await api.get("/admin/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        await api.post("/admin/login", data={"csrf": token.group(1), "password": "pictures please"})
        overview, sources = (await api.get("/admin")).text, (await api.get("/admin/sources")).text
    assert "pictures stored" in overview and re.search(r"<b>[1-9]\d*</b> picture downloads failing", overview)
    assert re.search(r"\d+ stored <span class=\"tag bad\">1 failed</span>", sources)


async def test_avatars_are_stored_small_and_offered_for_every_screen_density(tmp_path: Path) -> None:
    async with demo_api(tmp_path) as api:
        profile = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()["profile"]
        html = (await api.get("/embed/instagram", params=PARAMS)).text
    assert [s["width"] for s in profile["avatar"]["sizes"]] == [48, 96, 160]
    assert profile["avatar_url"] == profile["avatar"]["sizes"][-1]["webp"]
    assert re.search(r'class="fk-avatar" src="[^"]+-160\.webp" srcset="[^"]+-48\.webp 48w, [^"]+" sizes="36px"', html)


async def test_on_s3_storage_every_picture_is_served_by_the_bucket(tmp_path: Path, s3_server: SeaweedFS,
                                                                     s3_bucket: str, s3_prefix: str) -> None:
    app = scripted_app(tmp_path, media_store=f"s3://{s3_bucket}/{s3_prefix}", media_s3_endpoint=s3_server.endpoint,
                       media_s3_access_key=ACCESS_KEY, media_s3_secret_key=SECRET_KEY)
    async with running(app) as api:
        await until(lambda: _status(api, 200))
        await until(lambda: pictures_settled(app))
        item = (await api.get("/api/v1/social/instagram", params=PARAMS)).json()["items"][0]
    urls = [s[fmt] for s in item["picture"]["sizes"] for fmt in ("avif", "webp") if s[fmt]]
    assert all(u.startswith(f"{s3_server.endpoint}/{s3_bucket}/{s3_prefix}") for u in urls)
    async with httpx.AsyncClient() as web:
        answers = [await web.get(u) for u in urls]
    assert all(a.status_code == 200 and a.headers["content-type"] in ("image/avif", "image/webp") for a in answers)
    assert not (tmp_path / "media").exists()
