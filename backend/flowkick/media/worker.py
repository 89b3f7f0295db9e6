"""The media worker: gathers the pictures of every feed whose items changed.

It runs beside the refresher in the server (and once, after the refresh, in
`flowkick refresh`). The refresher stores a feed and tells the worker; the worker downloads
each picture the feed shows that is not stored yet, re-encodes it off the event loop,
puts the files in the store and writes the feed's picture map, which gives the feed a new
version. The publisher holds a feed with new items up to a second for this, so visitors
mostly see the new items with our copies at once, else placeholders and our copies a
moment later; never a platform address. Pictures are content-addressed, so a picture
already stored (another feed's, or the same one posted twice) is neither encoded nor
stored again.

A failed download is recorded in the map with its reason and retried later with
exponential backoff (soon for timeouts and server errors, after a day for a refusal or a
file that is not a picture), counted per feed in `feed_cache.media_failures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache

from flowkick.clock import Clock
from flowkick.database import Database
from flowkick.media import catalog
from flowkick.media.cleanup import Cleaned, clean
from flowkick.media.download import DownloadError
from flowkick.media.images import WIDTHS, BadImage, Encoded, digest, encode
from flowkick.media.resolve import AVATAR_WIDTHS, Wanted, media_name, wanted
from flowkick.media.store import MediaStore
from flowkick.settings import Settings
from flowkick.tables import FeedCache, MediaAsset

log = logging.getLogger("flowkick.media")

FEEDS_AT_ONCE = 4
BATCH = 50
SAVE_EVERY = 10  # gathered feeds saved in one transaction; a slow download holds back only its group
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 6 * 3600.0
REFUSED_RETRY_SECONDS = 24 * 3600.0
CLEAN_EVERY_SECONDS = 3600.0


class Fetcher(Protocol):
    """Gets a picture's bytes: `download.Downloader` for the web, the demo's package files offline."""

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes: ...

    async def aclose(self) -> None: ...


@dataclass
class MediaSummary:
    feeds: int = 0
    stored: int = 0
    failed: int = 0


class MediaWorker:
    def __init__(self, db: Database, store: MediaStore, fetcher: Fetcher, settings: Settings, clock: Clock,
                 *, on_update: Callable[[Iterable[int]], None] | None = None,
                 executor: Executor | None = None) -> None:
        self.db = db
        self.store = store
        self.fetcher = fetcher
        self.settings = settings
        self.clock = clock
        self.on_update = on_update or (lambda ids: None)
        self.on_download: Callable[[str], None] = lambda outcome: None  # "stored" or the failure's reason
        self.executor = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="flowkick-media")
        self._known: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=20_000)  # digest -> stored record
        # origin key -> stored record: a picture another feed showed is not even downloaded again
        self._origins: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=20_000)
        self._encoding: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._stored: dict[int, None] = {}  # feeds the refresher stored, not looked at yet (in order)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_clean = 0.0
        self.tick_seconds = 5.0

    # -- the server's side -------------------------------------------------------------

    def notify(self, source_ids: Iterable[int]) -> None:
        """Feeds were stored: look at them now rather than at the next tick, and first."""
        self._stored.update(dict.fromkeys(source_ids))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="flowkick-media")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.fetcher.aclose()
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while True:
            try:
                summary = await self.run_once()
                busy = summary.feeds >= BATCH or bool(self._stored)
                if not busy and self.clock.now() >= self._next_clean:
                    self._next_clean = self.clock.now() + CLEAN_EVERY_SECONDS
                    await self.clean()
            except Exception:  # noqa: BLE001 - one bad pass must not end the worker
                log.exception("media pass failed")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.tick_seconds):
                        await self._wake.wait()
                self._wake.clear()

    async def clean(self) -> Cleaned:
        """Delete what no feed shows any more and keep the store under its cap."""
        cleaned = await clean(self.db, self.store, self.settings, self.clock.now())
        self._known.clear()  # a deleted or evicted picture must be stored again, not named from memory
        self._origins.clear()
        if cleaned.changed_feeds:
            self.on_update(cleaned.changed_feeds)
        return cleaned

    # -- one pass ------------------------------------------------------------------------

    async def run_once(self, limit: int = BATCH) -> MediaSummary:
        """Gather the pictures of up to `limit` feeds that need it, a few feeds at a time: the
        feeds just stored first, found by key; any other (a retry, another process's) when
        none is waiting."""
        stored = list(self._stored)[:limit]
        for source_id in stored:
            del self._stored[source_id]
        feeds = await catalog.pending(self.db, self.clock.now(), limit, among=stored or None)
        summary = MediaSummary(feeds=len(feeds))
        slots = asyncio.Semaphore(FEEDS_AT_ONCE)

        ready: list[tuple[catalog.Pending, catalog.Gathered]] = []

        async def one(feed: catalog.Pending) -> None:
            async with slots:
                ready.append((feed, await self._gather(feed, summary)))
            if len(ready) >= SAVE_EVERY:
                batch = ready[:]
                ready.clear()
                await self._save(batch)

        await asyncio.gather(*(one(feed) for feed in feeds))
        await self._save(ready)
        return summary

    async def _save(self, gathered: list[tuple[catalog.Pending, catalog.Gathered]]) -> None:
        """Feeds whose pictures were gathered, saved together: one transaction, not one each
        (a first fill of thousands of feeds spent a third of its time committing)."""
        changed = await catalog.save(self.db, gathered)
        if changed:
            self.on_update(changed)

    def name_known(self, row: FeedCache) -> None:
        """The refresher's hook for a feed it stores: when every picture the new items show is
        known already (in the feed's map, or shown by another feed), the map is made in the
        same write, and the feed goes out at once with its pictures, in one new version.

        A renewal mostly brings back the posts of the last fetch, and the demo's feeds all
        show the same sample photos; each such feed cost a pass of this worker (its row read
        again, its map written as a second write) and a publication held back for it."""
        if row.content_hash == row.media_hash:
            return
        media, todo = self._named(row.items, row.profile, row.media)
        if not todo:
            catalog.name(row, _gathered(media))

    def _named(self, items: list[dict[str, Any]], profile: dict[str, Any],
               known: dict[str, Any]) -> tuple[dict[str, Any], list[Wanted]]:
        """The records of the pictures these items show that need no download, and those that do."""
        now = self.clock.now()
        media: dict[str, Any] = {}
        todo: list[Wanted] = []
        for key, want in wanted(items, profile, videos=bool(self.settings.media_store_videos)).items():
            record = known.get(key)
            if isinstance(record, dict) and (record.get("d") or record.get("t", 0) > now):
                media[key] = record
            elif key in self._origins:  # shown by another feed: named without a task per picture
                media[key] = self._origins[key]
            else:
                todo.append(want)
        return media, todo

    async def _gather(self, feed: catalog.Pending, summary: MediaSummary) -> catalog.Gathered:
        media, todo = self._named(feed.items, feed.profile, feed.media)
        for want, record in zip(todo, await asyncio.gather(*(self._one(w, feed.media.get(w.key)) for w in todo)),
                                strict=True):
            media[want.key] = record
            outcome = "stored" if record.get("d") else record["x"]
            summary.stored += outcome == "stored"
            summary.failed += outcome != "stored"
            self.on_download(outcome)
        return _gathered(media)

    async def _one(self, want: Wanted, previous: Any) -> dict[str, Any]:
        """One picture's record: stored, or failed with its reason and next attempt."""
        attempts = (previous.get("n", 0) if isinstance(previous, dict) else 0) + 1
        video = want.kind == "video"
        try:
            data = await self.fetcher.fetch(want.url, max_bytes=self.settings.media_video_max_bytes if video else None)
            if video:
                return await self._store_video(data)
            record = await self._store_image(data, AVATAR_WIDTHS if want.kind == "avatar" else WIDTHS)
            self._origins[want.key] = record
            return record
        except DownloadError as exc:
            delay = (min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1)) if exc.retryable
                     else REFUSED_RETRY_SECONDS)
            return self._failed(exc.reason, attempts, delay)
        except BadImage as exc:
            return self._failed(exc.reason, attempts, REFUSED_RETRY_SECONDS)

    def _failed(self, reason: str, attempts: int, delay: float) -> dict[str, Any]:
        log.info("media download failed: %s", reason)
        return {"x": reason, "n": attempts, "t": self.clock.now() + delay}

    async def _store_image(self, data: bytes, widths: tuple[int, ...]) -> dict[str, Any]:
        """Encode and store a picture, unless it is stored already (by any feed, in any widths)."""
        address = digest(data)
        known = self._known.get(address) or await self._recorded(address)
        if known is not None:
            return known
        running = self._encoding.get(address)
        if running is not None:  # the same picture in another feed of this pass
            return await asyncio.shield(running)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._encoding[address] = future
        try:
            record = await self._encode_and_put(address, data, widths)
            future.set_result(record)
            return record
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._encoding[address]

    async def _encode_and_put(self, address: str, data: bytes, widths: tuple[int, ...]) -> dict[str, Any]:
        encoded: Encoded = await asyncio.get_running_loop().run_in_executor(self.executor, encode, data, widths)
        names = []
        for rendition in encoded.renditions:
            name = media_name(address, rendition.width, rendition.format)
            await self.store.put(name, rendition.data, rendition.content_type)
            names.append(name)
        sizes = sorted({(r.width, r.height) for r in encoded.renditions})
        avif = sorted(r.width for r in encoded.renditions if r.format == "avif")
        now = self.clock.now()
        await catalog.add_asset(self.db, MediaAsset(
            digest=address, kind="image", width=encoded.width, height=encoded.height,
            placeholder=encoded.placeholder, files=names, bytes=sum(len(r.data) for r in encoded.renditions),
            created_at=now, last_shown_at=now))
        record = _image_record(address, encoded.width, encoded.height, encoded.placeholder, sizes, avif)
        self._known[address] = record
        return record

    async def _recorded(self, address: str) -> dict[str, Any] | None:
        """A picture another pass or process stored already, from the asset table."""
        asset = (await catalog.assets(self.db, [address])).get(address)
        if asset is None or asset.kind != "image":
            return None
        sizes = sorted({_size_of(name, asset) for name in asset.files})
        avif = sorted(_size_of(name, asset)[0] for name in asset.files if name.endswith(".avif"))
        record = _image_record(address, asset.width, asset.height, asset.placeholder, sizes, avif)
        self._known[address] = record
        return record

    async def _store_video(self, data: bytes) -> dict[str, Any]:
        address = digest(data)
        name = media_name(address, 0, "mp4")
        if not await self.store.exists(name):
            await self.store.put(name, data, "video/mp4")
            now = self.clock.now()
            await catalog.add_asset(self.db, MediaAsset(digest=address, kind="video", files=[name], bytes=len(data),
                                                        created_at=now, last_shown_at=now))
        return {"d": address, "v": "mp4"}


def _gathered(media: dict[str, Any]) -> catalog.Gathered:
    """A feed's new map, with its failed downloads counted and their earliest retry."""
    retries = [r["t"] for r in media.values() if not r.get("d")]
    return catalog.Gathered(media, len(retries), min(retries, default=None))


def _image_record(digest: str, width: int, height: int, placeholder: str,
                  sizes: list[tuple[int, int]], avif: list[int]) -> dict[str, Any]:
    return {"d": digest, "w": width, "h": height, "p": placeholder, "s": [list(s) for s in sizes], "a": avif}


def _size_of(name: str, asset: MediaAsset) -> tuple[int, int]:
    """A rendition's width from its file name, and its height from the picture's proportions."""
    width = int(name.rsplit("-", 1)[1].split(".", 1)[0])
    return width, round(width * asset.height / asset.width) if asset.width else width
