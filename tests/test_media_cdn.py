"""Pictures from a CDN that behaves like Instagram's, Facebook's and TikTok's: blocked on other
sites, signed, expiring and sometimes hostile. The refresher and the media worker run for real
against the fake Apify (driven by the official client) and the fake CDN on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update
from sqlmodel import col

from flowkick.app import create_app
from flowkick.clients import create_client
from flowkick.media.download import Downloader
from flowkick.media.resolve import origin_key
from flowkick.media.store import open_store
from flowkick.media.worker import MediaWorker
from flowkick.platforms import PLATFORMS
from flowkick.tables import FeedCache
from tests.support.apify_rig import ApifyRig, apify_rig
from tests.support.apps import running
from tests.support.fake_apify import FakeApify
from tests.support.fake_cdn import FakeCdn

pytestmark = pytest.mark.anyio
HANDLES = {"instagram": "lunacafe.berlin", "tiktok": "lunacafe.berlin", "facebook": "lunacafe.berlin",
           "twitter": "lunacafe", "youtube": "lunacafe", "google_reviews": "ChIJN1t_tDeuEmsRUsoyG83frY4"}


@pytest.fixture
async def rig(tmp_path: Path, fake_apify: FakeApify, fake_cdn: FakeCdn) -> AsyncIterator[ApifyRig]:
    async with apify_rig(tmp_path, fake_apify, media_allow_private_hosts=1, media_download_timeout_seconds=3.0) as r:
        yield r


def worker(rig: ApifyRig) -> MediaWorker:
    web = Downloader(allow_private=True, timeout=rig.settings.media_download_timeout_seconds, retry_delay=0.01)
    return MediaWorker(rig.db, open_store(rig.settings), web, rig.settings, rig.clock)


async def fill(rig: ApifyRig, *platforms: str) -> None:
    for platform in platforms:
        await rig.track(platform, HANDLES[platform])
    await rig.refresher.run_once()


async def test_every_picture_of_every_platform_is_downloaded_once(rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, *PLATFORMS)
    media = worker(rig)
    first = await media.run_once()
    hits = fake_cdn.hits()
    again = await media.run_once()
    await media.stop()
    assert first.feeds == len(PLATFORMS) and first.failed == 0 and first.stored > 0
    assert again.feeds == 0 and fake_cdn.hits() == hits  # nothing is fetched twice


async def test_no_answer_names_the_cdn(tmp_path: Path, rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, *PLATFORMS)
    media = worker(rig)
    await media.run_once()
    await media.stop()
    cdn_host = httpx.URL(fake_cdn.mint("instagram", "probe")).netloc.decode()
    async with _app(rig) as api:
        key = await _key(rig, *PLATFORMS)
        bodies = [(await api.get(f"/api/v1/social/{p}", headers=key)).content for p in PLATFORMS]
        bodies += [(await api.get(f"/embed/{p}", headers=key)).content for p in PLATFORMS]
    assert all(cdn_host.encode() not in body for body in bodies)
    images = [i["image"] for body in bodies[:len(PLATFORMS)] for i in orjson.loads(body)["items"] if i["image"]]
    assert images and all(url.startswith("http://testserver/media/") for url in images)


async def test_pictures_survive_the_cdn_expiring_and_a_restart(rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, "instagram", "tiktok", "facebook")
    media = worker(rig)
    await media.run_once()
    await media.stop()
    fake_cdn.advance(7 * 24 * 3600)  # every signed address the scrape gave is long expired
    hits = fake_cdn.hits()
    async with _app(rig) as api:
        key = await _key(rig, "instagram", "tiktok", "facebook")
        urls = [i["image"] for p in ("instagram", "tiktok", "facebook")
                for i in (await api.get(f"/api/v1/social/{p}", headers=key)).json()["items"] if i["image"]]
        answers = [await api.get(url) for url in urls]
    assert urls and all(a.status_code == 200 and a.headers["content-type"] == "image/webp" for a in answers)
    assert fake_cdn.hits() == hits


@pytest.mark.parametrize(("fault", "reason"), [
    ("bomb", "too_many_pixels"), ("huge", "too_many_pixels"), ("not_image", "not_an_image"),
    ("html_body", "not_an_image"), ("truncated", "connection"), ("endless", "too_large"),
    ("redirect_loop", "too_many_redirects"), ("not_found", "http_404"), ("hang", "timeout"),
])
async def test_a_hostile_file_is_refused_and_counted(rig: ApifyRig, fake_cdn: FakeCdn, fault: str, reason: str) -> None:
    await fill(rig, "instagram")
    feed = await rig.feed("instagram", HANDLES["instagram"])
    victim = feed.items[0]["image"]
    fake_cdn.fault(victim, fault)
    media = worker(rig)
    summary = await media.run_once()
    await media.stop()
    feed = await rig.feed("instagram", HANDLES["instagram"])
    assert feed.media[origin_key(victim)]["x"] == reason
    assert feed.media_failures == summary.failed >= 1
    assert summary.stored > 0  # the other pictures of the feed are stored all the same


async def test_a_server_error_is_retried_on_a_later_pass(rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, "instagram")
    feed = await rig.feed("instagram", HANDLES["instagram"])
    victim = feed.items[0]["image"]
    fake_cdn.fault(victim, "unavailable")
    media = worker(rig)
    await media.run_once()
    failed = (await rig.feed("instagram", HANDLES["instagram"])).media[origin_key(victim)]
    fake_cdn.heal(victim)
    early = await media.run_once()
    rig.clock.advance(failed["t"] - rig.clock.now() + 1)
    late = await media.run_once()
    await media.stop()
    stored = (await rig.feed("instagram", HANDLES["instagram"])).media[origin_key(victim)]
    assert failed["x"] == "http_5xx" and early.feeds == 0
    assert late.stored == 1 and stored["d"]


async def test_feeds_the_refresher_just_stored_are_gathered_before_any_other(rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, "instagram", "tiktok")
    tiktok = await rig.feed("tiktok", HANDLES["tiktok"])
    media = worker(rig)
    media.notify([tiktok.source_id])
    first = await media.run_once(limit=1)
    await media.stop()
    assert first.feeds == 1
    assert (await rig.feed("tiktok", HANDLES["tiktok"])).media_hash == tiktok.content_hash
    assert (await rig.feed("instagram", HANDLES["instagram"])).media_hash == ""


async def test_items_stored_while_pictures_are_gathered_keep_both_and_leave_the_feed_pending(
        rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, "instagram")
    media = worker(rig)
    inner, gate = media.fetcher, asyncio.Event()

    class Gated:
        async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
            await gate.wait()
            return await inner.fetch(url, max_bytes=max_bytes)

        async def aclose(self) -> None:
            await inner.aclose()

    media.fetcher = Gated()
    gathering = asyncio.create_task(media.run_once())
    await asyncio.sleep(0.2)
    before = await rig.feed("instagram", HANDLES["instagram"])
    await rig.db.write(lambda s: s.execute(update(FeedCache).where(col(FeedCache.source_id) == before.source_id)
                                           .values(content_hash="newer items", version=FeedCache.version + 1)))
    gate.set()
    summary = await gathering
    await media.stop()
    after = await rig.feed("instagram", HANDLES["instagram"])
    assert summary.stored > 0 and sum(1 for r in after.media.values() if r.get("d")) == summary.stored
    assert after.version == before.version + 2  # the new items', then the pictures'
    assert after.media_hash != after.content_hash  # the new items' pictures are gathered next


async def test_videos_are_stored_only_when_the_setting_says_so(rig: ApifyRig, fake_cdn: FakeCdn) -> None:
    await fill(rig, "instagram")
    media = worker(rig)
    await media.run_once()
    await media.stop()
    assert not list(Path(rig.settings.database_url.rsplit("///", 1)[1]).parent.joinpath("media").rglob("*.mp4"))


async def test_stored_videos_play_from_our_copy(tmp_path: Path, fake_apify: FakeApify, fake_cdn: FakeCdn) -> None:
    async with apify_rig(tmp_path, fake_apify, media_allow_private_hosts=1, media_store_videos=1) as rig:
        await fill(rig, "instagram")
        media = worker(rig)
        await media.run_once()
        await media.stop()
        async with _app(rig) as api:
            items = (await api.get("/api/v1/social/instagram", headers=await _key(rig, "instagram"))).json()["items"]
            videos = [m["url"] for i in items for m in i["media"] if m["type"] == "video" and m["url"]]
            answer = await api.get(videos[0])
    assert videos and all(v.startswith("http://testserver/media/") and v.endswith(".mp4") for v in videos)
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"


class _app:
    """The whole app on the rig's database and media folder, as a restarted server would be."""

    def __init__(self, rig: ApifyRig) -> None:
        self.app = create_app(rig.settings, clock=rig.clock)
        self.running = running(self.app)

    async def __aenter__(self) -> httpx.AsyncClient:
        return await self.running.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self.running.__aexit__(*exc)


async def _key(rig: ApifyRig, *platforms: str) -> dict[str, str]:
    """A client tracking the handles the rig filled, by its secret key (sent server-side)."""
    made = await create_client(rig.db, "Reader", {p: [HANDLES[p]] for p in platforms}, now=rig.clock.now())
    return {"Authorization": f"Bearer {made.secret_key}"}
