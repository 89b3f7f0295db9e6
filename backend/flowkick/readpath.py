"""The read path: from an API key and a platform to the feed's bytes, from memory.

Order of lookups: in-process memory (clients, feed snapshots, serialized bodies) → one
indexed read of the feed's published copy (`published.py`, `lookups.py`) → never a scrape.
A request writes nothing to the database: it only counts usage in memory and, for a
pending or expired feed, asks the refresher (in memory) to fetch it. Bodies are cached per
(source, content version, parameters), so a warm request costs a few dictionary lookups.
A feed's copy is kept until the feed changes: this process's refresher and media worker
say so at once (`feeds_written`), and a watcher reads the feed changes logged since its
last look once a second to catch other processes' writes (`check_versions`, `changes.py`).
Clients are kept the same way: until one changes, here (`forget_clients`) or anywhere
(`check_clients`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from cachetools import TTLCache
from starlette.requests import Request

from flowkick import keys, moderation, origins, pagination
from flowkick.answers import Answers
from flowkick.clock import Clock, iso
from flowkick.compression import Encoded, encode
from flowkick.database import Database
from flowkick.errors import BadParameter, FlowkickError, Forbidden, NotFound, Unauthorized
from flowkick.feeds import FeedSnapshot, load_snapshot
from flowkick.lookups import (
    CLIENT,
    CLIENTS_VERSION,
    FEED,
    FEED_CHANGES,
    FEED_CHANGES_PAGE,
    FEEDS_VERSION,
    UNPUBLISHED,
    Lookups,
    Row,
)
from flowkick.media.resolve import UrlFor
from flowkick.memory import BytesLRU, BytesTTL, Memory
from flowkick.plans import Plans
from flowkick.platforms import PLATFORMS, normalize_handle, resolve_platform
from flowkick.published import Publisher
from flowkick.quotas import Quotas, QuotaState, TokenBucket
from flowkick.refresher import Refresher
from flowkick.settings import Settings
from flowkick.usage import UsageCounter

log = logging.getLogger("flowkick.readpath")
DEFAULT_LIMIT = 12
MAX_LIMIT = 50
PENDING_RETRY_AFTER = 3
PUBLISHED_CHECK_TICKS = 30  # feed checks between two checks for unpublished feeds
_NOTHING_HIDDEN: frozenset[str] = frozenset()  # shared by every source that hides nothing
# The leading "/" of a site-relative address (the demo's and the media folder's, not a
# protocol-relative "//") under one of these keys, in serialized JSON: inside a string
# every quote is escaped, so `"url":"/` only ever matches a key and its value. The key is
# checked behind the slash, so the scan jumps from slash to slash and the replacement is a
# plain literal: no Python call per address (a third of the time).
_URL_FIELDS = (b"url", b"image", b"avatar_url", b"avif", b"webp")
_RELATIVE_URL = re.compile(b"/(?:" + b"|".join(b'(?<="' + f + b'":"/)' for f in _URL_FIELDS) + b")(?!/)")


@dataclass(frozen=True, slots=True)
class Tracked:
    """A source as one client shows it."""

    source_id: int
    platform: str
    handle: str
    min_rating: int | None = None
    hidden_ids: frozenset[str] = frozenset()
    pinned_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientView:
    id: int
    active: bool
    plan: str
    origins: tuple[str, ...]
    key_kind: keys.KeyKind
    sources: Mapping[str, tuple[Tracked, ...]]
    keywords: tuple[str, ...] = ()
    min_rating: int | None = None
    key_expires_at: float | None = None  # set for a rotated-out key in its grace period


@dataclass(frozen=True)
class FeedParams:
    limit: int
    min_rating: int | None
    handle: str | None
    cursor: str | None = None


@dataclass
class FeedView:
    """What a feed request resolved to. The envelope is only built when a cache misses."""

    client: ClientView
    status_code: int
    cache_key: tuple[Any, ...]
    base: str  # this server's address as the request named it: site-relative URLs are made absolute on it
    retry_after: int | None
    max_age: int
    build: Callable[[], dict[str, Any]] = field(repr=False)
    quota: QuotaState | None = None
    source_ids: tuple[int, ...] = ()
    epochs: tuple[int, ...] = ()  # per source, `Answers.epoch` when its snapshot was read
    nudge: tuple[int, ...] = ()  # sources the refresher was asked for (pending or stale)
    valid_until: float = 0.0  # until then a repeat of the request may reuse this answer
    generation: int = 0  # `Answers.generation` when the client was resolved

    @cached_property
    def envelope(self) -> dict[str, Any]:
        return self.build()


class Reader:
    def __init__(self, db: Database, settings: Settings, clock: Clock, refresher: Refresher,
                 usage: UsageCounter, media_url: UrlFor) -> None:
        self.db = db
        self.media_url = media_url
        self.settings = settings
        self.clock = clock
        self.refresher = refresher
        self.usage = usage
        self.lookups = Lookups(db)
        self.quotas = Quotas(db, self.lookups, clock, Plans(settings.plans),
                             TokenBucket(settings.burst_per_second, settings.burst_capacity, clock))
        self._clients: TTLCache[str, ClientView] = TTLCache(maxsize=50_000, ttl=settings.memory_ttl_seconds)  # a backstop
        self._unknown: TTLCache[str, bool] = TTLCache(maxsize=50_000, ttl=5)
        self.memory = Memory(settings.memory_cache_mb)
        self._feeds: BytesTTL[int, FeedSnapshot] = self.memory.ttl("feeds", settings.memory_ttl_seconds,
                                                                   lambda s: s.weight)  # a backstop: see check_versions
        self._bodies: BytesLRU[tuple[Any, ...], tuple[Encoded, str]] = self.memory.lru("bodies", lambda b: b[0].size)
        self.answers = Answers(self.memory.lru("answers", lambda a: a.size))
        self.publisher = Publisher(db, media_url)
        self.publisher.on_published = self._published
        self._unpublished: set[int] = set()  # written here, not yet published: read from the row
        self._versions: dict[int, int] = {}  # the version of each feed copy read, for `check_versions`
        self._clients_version: int | None = None  # `lookups.CLIENTS_VERSION` when last checked
        self._changes_seen = 0  # the number of the last feed change checked (`changes.py`)
        self._watch: asyncio.Task[None] | None = None

    # -- other processes' changes --------------------------------------------------------

    async def start(self) -> None:
        """Start watching, from the clients' version and the feeds' as they are now (before any request)."""
        await self.check_clients()
        (self._changes_seen,), = await self.lookups.rows(FEEDS_VERSION)
        self.publisher.start()
        self._watch = asyncio.create_task(self._watch_versions(), name="flowkick-feed-watch")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        await self.publisher.stop()
        self.lookups.close()

    async def _watch_versions(self) -> None:
        for tick in itertools.count():
            try:
                if tick % PUBLISHED_CHECK_TICKS == 0:
                    await self.check_published()
                await asyncio.sleep(self.settings.feed_watch_seconds)
                await self.check_clients()
                await self.check_versions()
            except Exception:
                log.exception("checking feed versions failed; trying again")

    async def check_versions(self) -> list[int]:
        """Forgets the feeds whose row another process (or the CLI) wrote since this one read
        them: a read of the changes logged since the last check (`changes.py`), not of
        every feed's version."""
        versions, changed = self._versions, []
        while True:
            rows = await self.lookups.rows(FEED_CHANGES, seq=self._changes_seen)
            changed += [source_id for source_id, version, _ in rows if versions.get(source_id, version) != version]
            if rows:
                self._changes_seen = rows[-1][2]
            if len(rows) < FEED_CHANGES_PAGE:
                break
        self.forget_feeds(changed)
        return changed

    async def check_clients(self) -> bool:
        """Forgets every client (and so every stored answer) when any client changed since
        the last check, whoever changed it: one point read."""
        (version,), = await self.lookups.rows(CLIENTS_VERSION)
        changed = version != self._clients_version
        if changed:
            self.forget_clients()
            self._clients_version = version
        return changed

    async def check_published(self) -> None:
        """Publishes the feeds whose published copy lags their row: those written by a
        process that stopped before publishing, or by hand. Every writer here publishes
        its own writes, so this is a safety net and runs seldom."""
        self.publisher.notify(source_id for source_id, in await self.lookups.scan(UNPUBLISHED))

    # -- cache control from the writers' side --------------------------------------------

    def feeds_written(self, source_ids: Iterable[int]) -> None:
        """This process wrote these feeds: their copies go now, and they are published."""
        source_ids = list(source_ids)
        self._unpublished.update(source_ids)
        self.forget_feeds(source_ids)
        self.publisher.notify(source_ids)

    @property
    def publishing(self) -> bool:
        """Whether feeds this process wrote are still to be published (and their answers forgotten)."""
        return bool(self._unpublished)

    def _published(self, current: list[int], stored: list[int]) -> None:
        self._unpublished.difference_update(current)
        self.forget_feeds(stored)

    def forget_feeds(self, source_ids: Iterable[int]) -> None:
        """These sources' rows changed: their copies and answers go, every other feed's stay."""
        source_ids = list(source_ids)
        for source_id in source_ids:
            self._feeds.pop(source_id, None)
            self._versions.pop(source_id, None)
        self.answers.forget_sources(source_ids)

    def forget_clients(self) -> None:
        self._clients.clear()
        self._unknown.clear()
        self.answers.invalidate()

    # -- the two views ----------------------------------------------------------------------

    async def view(self, request: Request, platform_name: str) -> FeedView:
        """One source's feed, for GET /api/v1/social/{platform} and /embed/{platform}."""
        generation = self.answers.generation
        client = await self.client(request)
        quota = await self.quotas.admit(client.id, client.plan, client.key_kind)
        with _counted(quota):
            params = feed_params(request)
            platform = _platform(platform_name)
            tracked = _pick(client, platform, params.handle)
            snapshot, epoch = await self._snapshot(tracked.source_id)
            now = self.clock.now()
            stale = self._note_request(snapshot, now)
            base = self._base_url(request)
            rules = _rules(client, tracked, params.min_rating)
            pending = snapshot.status == "pending"
            return FeedView(
                client=client,
                status_code=202 if pending else 200,
                cache_key=(tracked.source_id, snapshot.version, stale, params.limit, params.cursor, rules, base),
                base=base,
                retry_after=PENDING_RETRY_AFTER if pending else None,
                max_age=self._max_age(snapshot, now),
                build=lambda: _envelope(tracked, snapshot, stale, params, rules),
                quota=quota,
                generation=generation,
                **self._reuse(client, [snapshot], (epoch,), now),
            )

    async def wall_view(self, request: Request, platform_names: list[str] | None) -> FeedView:
        """Every requested platform of the client merged into one newest-first wall."""
        generation = self.answers.generation
        client = await self.client(request)
        quota = await self.quotas.admit(client.id, client.plan, client.key_kind)
        with _counted(quota):
            params = feed_params(request)
            platforms = [_platform(p) for p in platform_names] if platform_names else list(client.sources)
            tracked = [t for p in platforms for t in client.sources.get(p, ()) if not params.handle or t.handle == params.handle]
            if not tracked:
                raise NotFound("this key tracks no account on those platforms", code="source_not_found")
            now = self.clock.now()
            read = [(t, await self._snapshot(t.source_id)) for t in tracked]
            parts = [(t, s) for t, (s, _) in read]
            stales = tuple(self._note_request(s, now) for _, s in parts)
            base = self._base_url(request)
            pending = all(s.status == "pending" for _, s in parts)
            rules = tuple(_rules(client, t, params.min_rating) for t, _ in parts)
            return FeedView(
                client=client,
                status_code=202 if pending else 200,
                cache_key=("wall", tuple((t.source_id, s.version) for t, s in parts), rules, stales, params.limit,
                           params.cursor, base),
                base=base,
                retry_after=PENDING_RETRY_AFTER if pending else None,
                max_age=min(self._max_age(s, now) for _, s in parts),
                build=lambda: _wall(platforms, parts, rules, stales, params),
                quota=quota,
                generation=generation,
                **self._reuse(client, [s for _, s in parts], tuple(e for _, (_, e) in read), now),
            )

    def json_body(self, view: FeedView) -> tuple[Encoded, str, bool]:
        """The serialized envelope in every coding, its ETag, and whether it came from memory."""
        cached = self._bodies.find(view.cache_key)
        if cached is not None:
            return cached[0], cached[1], True
        body = absolute(orjson.dumps(view.envelope), view.base)
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        self._bodies.keep(view.cache_key, (encoded := encode(body), etag))
        return encoded, etag, False

    # -- clients ------------------------------------------------------------------------------

    async def client(self, request: Request) -> ClientView:
        """The key's client, refused when inactive, rotated out, or used on a page outside its origins."""
        client = await self.resolve(api_key(request))
        origins.enforce(request, client.origins, client.key_kind)
        return client

    async def resolve(self, key: str) -> ClientView:
        """The client a key belongs to, from memory after the first lookup. A client read
        while clients changed is used once but not kept."""
        digest = keys.hash_key(key)
        client = self._clients.get(digest)
        if client is None:
            if digest in self._unknown:
                raise Unauthorized("unknown API key")
            generation = self.answers.generation
            client = _client_view(await self.lookups.rows(CLIENT, digest=digest), key)
            if client is None:
                self._unknown[digest] = True
                raise Unauthorized("unknown API key")
            if self.answers.generation == generation:
                self._clients[digest] = client
        if not client.active:
            raise Forbidden("this client is inactive", code="client_inactive")
        if client.key_expires_at is not None and self.clock.now() >= client.key_expires_at:
            raise Unauthorized("this key was replaced and its grace period is over", code="key_expired")
        return client

    # -- internals -----------------------------------------------------------------------------

    async def _snapshot(self, source_id: int) -> tuple[FeedSnapshot, int]:
        """The feed's copy and the source's epoch it belongs to. A copy read while the feed
        changed is used once but not kept, and its answer is never reused."""
        epoch = self.answers.epoch(source_id)
        snapshot = self._feeds.find(source_id)
        if snapshot is None:
            snapshot = await self._read_feed(source_id)
            if snapshot is None:
                raise NotFound("this source is no longer tracked", code="source_not_found")
            if self.answers.epoch(source_id) == epoch:
                self._feeds.keep(source_id, snapshot)
                self._versions[source_id] = snapshot.version
        return snapshot, epoch

    async def _read_feed(self, source_id: int) -> FeedSnapshot | None:
        """The feed's published copy; a feed not published yet (or with other media settings,
        or written by this process a moment ago) is worked out from its row."""
        rows = [] if source_id in self._unpublished else await self.lookups.rows(FEED, id=source_id)
        if rows and rows[0][1] == self.publisher.base:
            version, _, status, fetched_at, expires_at, body = rows[0]
            return FeedSnapshot(source_id, version, status, fetched_at, expires_at, bytes(body))
        return await load_snapshot(self.db, source_id, self.media_url)

    def _note_request(self, snapshot: FeedSnapshot, now: float) -> bool:
        """Remember the request (in memory) and nudge the refresher when data is missing or old."""
        self.usage.requested(snapshot.source_id, now)
        stale = snapshot.is_stale(now)
        if stale or snapshot.status == "pending":
            self.refresher.request(snapshot.source_id)
        return stale

    def _reuse(self, client: ClientView, snapshots: list[FeedSnapshot], epochs: tuple[int, ...],
               now: float) -> dict[str, Any]:
        """What a stored answer depends on, and until when nothing can change it unseen."""
        deadlines = [now + self.settings.memory_ttl_seconds, client.key_expires_at or float("inf")]
        deadlines += [s.expires_at for s in snapshots if s.expires_at is not None and s.expires_at > now]
        return {
            "source_ids": tuple(s.source_id for s in snapshots),
            "epochs": epochs,
            "nudge": tuple(s.source_id for s in snapshots if s.status == "pending" or s.is_stale(now)),
            "valid_until": min(deadlines),
        }

    def _max_age(self, snapshot: FeedSnapshot, now: float) -> int:
        if snapshot.expires_at is None or snapshot.expires_at <= now:
            return 0
        return int(min(60, snapshot.expires_at - now))

    def _base_url(self, request: Request) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = request.headers.get("host", "localhost")
        return f"{request.scope.get('scheme', 'http')}://{host}"


@contextmanager
def _counted(quota: QuotaState | None) -> Iterator[None]:
    """An error after the request was counted still tells the caller where its quota stands."""
    try:
        yield
    except FlowkickError as error:
        if quota is not None:
            error.headers = {**quota.headers(), **error.headers}
        raise


def api_key(request: Request) -> str:
    """The request's key. Secret keys are refused in URLs: proxies, CDNs and browsers log those."""
    in_query = request.query_params.get("api_key")
    if in_query and keys.kind_of(in_query) == "secret":
        raise BadParameter("secret keys never go in a URL: send them as Authorization: Bearer sk_…, and rotate "
                           "this one, since it may already be in some log", code="secret_key_in_url")
    key = in_query or _bearer(request.headers.get("authorization", ""))
    if not key:
        raise Unauthorized("an API key is required: ?api_key=pk_… or Authorization: Bearer …", code="missing_key")
    if len(key) > 200:
        raise Unauthorized("unknown API key")
    return key


def feed_params(request: Request) -> FeedParams:
    query = request.query_params
    handle = query.get("handle")
    return FeedParams(
        limit=_int_param(query.get("limit"), "limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
        min_rating=_int_param(query.get("min_rating"), "min_rating", 1, 5, None),
        handle=handle if handle is None else _handle_param(handle),
        cursor=pagination.checked(query.get("cursor")),
    )


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _int_param(raw: str | None, name: str, low: int, high: int, default: int | None) -> int | None:
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.strip().isdigit():
        raise BadParameter(f"{name} must be a whole number from {low} to {high}", code=f"bad_{name}")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}", code=f"bad_{name}")
    return value


def _handle_param(raw: str) -> str:
    if len(raw) > 200 or not raw.isprintable():
        raise BadParameter("handle is not a valid account name", code="bad_handle")
    return raw


def _platform(name: str) -> str:
    platform = resolve_platform(name) if len(name) <= 40 else None
    if platform is None:
        raise NotFound(f"unknown platform; use one of: {', '.join(PLATFORMS)}", code="unknown_platform")
    return platform


def _pick(client: ClientView, platform: str, handle: str | None) -> Tracked:
    tracked = client.sources.get(platform, ())
    if handle is not None:
        wanted = normalize_handle(platform, handle)
        tracked = tuple(t for t in tracked if t.handle == wanted)
    if not tracked:
        raise NotFound(f"this key does not track that {platform} account", code="source_not_found")
    if len(tracked) > 1:
        names = ", ".join(t.handle for t in tracked)
        raise BadParameter(f"this key tracks several {platform} accounts; add handle= one of: {names}",
                           code="handle_required")
    return tracked[0]


def _max_optional(*values: int | None) -> int | None:
    return max((v for v in values if v is not None), default=None)


def _rules(client: ClientView, tracked: Tracked, min_rating: int | None) -> moderation.Rules:
    """The client's moderation of one source: the strictest of the three minimum ratings applies."""
    return moderation.Rules(hidden=tracked.hidden_ids, pinned=tracked.pinned_ids, keywords=client.keywords,
                            min_rating=_max_optional(min_rating, tracked.min_rating, client.min_rating))


def _envelope(tracked: Tracked, snapshot: FeedSnapshot, stale: bool, params: FeedParams,
              rules: moderation.Rules) -> dict[str, Any]:
    """The answer to a feed request, its addresses site-relative as stored (see `absolute`)."""
    items, profile = snapshot.content()
    page = pagination.page(moderation.visible(items, rules), rules.pinned, params.limit, params.cursor)
    return {
        "platform": tracked.platform,
        "handle": tracked.handle,
        "profile": profile,
        "status": snapshot.status,
        "stale": stale,
        "fetched_at": iso(snapshot.fetched_at),
        "expires_at": iso(snapshot.expires_at),
        "items": page.items,
        "next": page.next,
    }


def _wall(platforms: list[str], parts: list[tuple[Tracked, FeedSnapshot]], rules: tuple[moderation.Rules, ...],
          stales: tuple[bool, ...], params: FeedParams) -> dict[str, Any]:
    contents = [s.content() for _, s in parts]
    items = [i for (its, _), r in zip(contents, rules, strict=True) for i in moderation.visible(its, r)]
    items.sort(key=lambda i: i.get("published_at") or "", reverse=True)
    page = pagination.page(items, [p for r in rules for p in r.pinned], params.limit, params.cursor)
    statuses = {s.status for _, s in parts}
    return {
        "platforms": platforms,
        "status": "ok" if "ok" in statuses else ("pending" if statuses == {"pending"} else "error"),
        "stale": any(stales),
        "sources": [{"platform": t.platform, "handle": t.handle, "status": s.status, "stale": stale,
                     "fetched_at": iso(s.fetched_at), "profile": profile}
                    for (t, s), stale, (_, profile) in zip(parts, stales, contents, strict=True)],
        "items": page.items,
        "next": page.next,
    }


def absolute(body: bytes, base: str) -> bytes:
    """Serialized JSON with its site-relative addresses (the demo's pictures, the media
    folder's) made absolute on `base`, for apps that show them on other sites. The base (a
    Host header, maybe) goes in as JSON string text, and literally: no group references."""
    in_json = orjson.dumps(base)[1:-1]
    return _RELATIVE_URL.sub(in_json.replace(b"\\", b"\\\\") + b"/", body)


def _client_view(rows: list[Row], key: str) -> ClientView | None:
    """The client of `lookups.CLIENT`'s rows, when `key` really is one of its keys."""
    if not rows:
        return None
    (client_id, active, plan, origins_, keywords, min_rating, *hashes) = rows[0][:12]
    match = _key_match(key, hashes)
    if match is None:
        return None
    sources: dict[str, list[Tracked]] = {}
    for row in rows:
        source_id, platform, handle, link_min_rating, hidden, pinned = row[12:]
        if source_id is not None:
            sources.setdefault(platform, []).append(Tracked(source_id, platform, handle, link_min_rating,
                                                            _hidden(hidden), tuple(_json(pinned))))
    return ClientView(client_id, bool(active), plan, tuple(_json(origins_)), match[0],
                      {p: tuple(ts) for p, ts in sources.items()}, tuple(_json(keywords)), min_rating, match[1])


def _hidden(value: Any) -> frozenset[str]:
    """Hidden item ids; the one empty set shared (most sources hide nothing, and an empty set
    is 216 bytes and an object for the collector: 4 MB and 20,000 objects at 30,000 sources)."""
    ids = _json(value)
    return frozenset(ids) if ids else _NOTHING_HIDDEN


def _json(value: Any) -> Any:
    """A JSON column as the driver gives it: text (SQLite) or already parsed."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _key_match(key: str, hashes: list[Any]) -> tuple[keys.KeyKind, float | None] | None:
    """Which of the client's keys this is: current (no expiry) or rotated out (expires)."""
    publishable, secret, old_publishable, old_publishable_expires, old_secret, old_secret_expires = hashes
    candidates: list[tuple[str | None, keys.KeyKind, float | None]] = [
        (publishable, "publishable", None),
        (secret, "secret", None),
        (old_publishable, "publishable", old_publishable_expires or 0.0),
        (old_secret, "secret", old_secret_expires or 0.0),
    ]
    for stored, kind, expires_at in candidates:
        if stored and keys.matches(key, stored):
            return kind, expires_at
    return None
