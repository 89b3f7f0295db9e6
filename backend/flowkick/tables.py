"""The database tables (SQLModel).

Times are stored as float Unix seconds (UTC): the same on SQLite and PostgreSQL, cheap to
compare in the refresher's queries, and turned into ISO 8601 only at the edge.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(), sa_column=Column(JSON, nullable=False))


class Client(SQLModel, table=True):
    """A paying customer. Holds hashes of its keys, never the keys themselves."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = ""
    plan: str = "free"
    active: bool = True
    allowed_origins: list[str] = _json([])
    publishable_key_hash: str = Field(unique=True, index=True)
    secret_key_hash: str = Field(unique=True, index=True)
    created_at: float
    # Key rotation: the replaced key keeps working until its expiry (the grace period).
    previous_publishable_key_hash: str | None = Field(default=None, index=True)
    previous_publishable_expires_at: float | None = None
    previous_secret_key_hash: str | None = Field(default=None, index=True)
    previous_secret_expires_at: float | None = None
    # Moderation for every feed of the client: blocked words and a minimum review rating.
    keyword_filter: list[str] = _json([])
    min_rating: int | None = None


class Source(SQLModel, table=True):
    """One tracked account, shared by every client that shows it (one scrape, many clients)."""

    __table_args__ = (UniqueConstraint("platform", "handle"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    handle: str
    created_at: float


class ClientSource(SQLModel, table=True):
    """Which client shows which source, with that client's display options."""

    __tablename__ = "client_source"

    client_id: int = Field(foreign_key="client.id", primary_key=True)
    source_id: int = Field(foreign_key="source.id", primary_key=True, index=True)
    min_rating: int | None = None
    hidden_ids: list[str] = _json([])
    pinned_ids: list[str] = _json([])
    created_at: float


REFRESH_COLUMNS = ("fetched_at", "expires_at", "next_attempt_at", "lease_until", "last_requested_at", "version",
                   "newest_at", "counts_renewed_at")


class FeedCache(SQLModel, table=True):
    """The latest good items of one source and everything the refresher knows about it."""

    __tablename__ = "feed_cache"
    # ix_feed_cache_version covers the check for unpublished feeds (lookups.UNPUBLISHED): it never
    # reads the big rows.
    # ix_feed_cache_media covers the media worker's choice of feeds to gather (media/catalog.py),
    # ix_feed_cache_refresh the refresher's (`Refresher._due`): SQLite keeps a long row's
    # later columns on overflow pages, so filtering on the rows walked every feed's items.
    __table_args__ = (Index("ix_feed_cache_due", "status", "expires_at"),
                      Index("ix_feed_cache_version", "source_id", "version"),
                      Index("ix_feed_cache_media", "status", "content_hash", "media_hash", "media_retry_at",
                            "last_requested_at"),
                      Index("ix_feed_cache_refresh", *REFRESH_COLUMNS))

    source_id: int = Field(foreign_key="source.id", primary_key=True)
    items: list[dict[str, Any]] = _json([])
    profile: dict[str, Any] = _json({})
    item_count: int = 0
    version: int = 0
    content_hash: str = ""
    status: str = "pending"  # pending: never fetched | ok: has data | error: never got data
    fetched_at: float | None = None
    expires_at: float | None = None
    last_requested_at: float | None = None
    last_error: str | None = None
    error_count: int = 0
    next_attempt_at: float | None = None
    run_id: str | None = None
    dataset_id: str | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    newest_at: float | None = None  # publication time of the newest stored item
    counts_renewed_at: float | None = None  # last fetch that renewed likes and other counts
    # Media (see flowkick.media): origin key -> stored picture or failed download, the
    # content hash those pictures were last gathered for, and when failures retry.
    media: dict[str, Any] = _json({})
    media_hash: str = ""
    media_failures: int = 0
    media_retry_at: float | None = None


class FeedPublic(SQLModel, table=True):
    """A feed as visitors see it (pictures resolved to our copies), serialized and compressed
    once by the process that wrote the feed (`feeds.public_body`): a first request reads
    this one row and parses nothing of the ORM's. Valid while `version` equals the feed
    row's; `base` is the media address prefix the pictures were resolved with. The body
    comes last so that reading the small columns never walks its overflow pages."""

    __tablename__ = "feed_public"

    source_id: int = Field(sa_column=Column(Integer, ForeignKey("feed_cache.source_id", ondelete="CASCADE"),
                                            primary_key=True))
    version: int
    base: str
    status: str
    fetched_at: float | None = None
    expires_at: float | None = None
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RefreshRun(SQLModel, table=True):
    """One fetch of a batch of handles: the audit trail of data collection."""

    __tablename__ = "refresh_run"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)
    source_name: str
    handles: list[str] = _json([])
    run_id: str | None = Field(default=None, index=True)
    dataset_id: str | None = None
    status: str = "RUNNING"
    started_at: float = Field(index=True)
    finished_at: float | None = None
    item_count: int = 0
    skipped: int = 0
    error: str | None = None
    cost_usd: float | None = None
    charged: int = 0  # results Apify charged the run for
    owner: str = ""


class MediaAsset(SQLModel, table=True):
    """One stored picture (or video), content-addressed: shared by every feed that shows it.

    `last_shown_at` is the last time a feed showing it was requested; the media clean-up
    evicts by it when the store is over its size cap, and deletes files no feed references
    once `unreferenced_since` is older than the grace period.
    """

    __tablename__ = "media_asset"

    digest: str = Field(primary_key=True)
    kind: str = "image"
    width: int = 0
    height: int = 0
    placeholder: str = ""
    files: list[str] = _json([])
    bytes: int = 0
    created_at: float
    last_shown_at: float = Field(index=True)
    unreferenced_since: float | None = None


class SourceCost(SQLModel, table=True):
    """What collecting one source cost in one calendar month (UTC): its shares of the runs."""

    __tablename__ = "source_cost"

    source_id: int = Field(foreign_key="source.id", primary_key=True)
    month: str = Field(primary_key=True, index=True)  # YYYY-MM
    cost_usd: float = 0.0
    results: int = 0
    runs: int = 0


class WebhookEvent(SQLModel, table=True):
    """Webhook dispatches already handled, so a replay does nothing."""

    __tablename__ = "webhook_event"

    dispatch_id: str = Field(primary_key=True)
    run_id: str = Field(index=True)
    event_type: str = ""
    received_at: float


class Usage(SQLModel, table=True):
    """Per-client counters per day, written in batches from memory."""

    client_id: int = Field(foreign_key="client.id", primary_key=True)
    day: str = Field(primary_key=True)
    requests: int = 0
    cache_hits: int = 0
    errors: int = 0
    views: int = 0  # feeds seen by visitors (widget beacons, analytics.py)
    clicks: int = 0  # posts opened


class ItemClicks(SQLModel, table=True):
    """Posts opened per client and day (analytics.py): the most clicked posts in /admin."""

    __tablename__ = "item_clicks"

    client_id: int = Field(foreign_key="client.id", primary_key=True)
    day: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True, max_length=200)
    clicks: int = 0


class ClientsVersion(SQLModel, table=True):
    """One counter that database triggers bump on every change to clients, their sources'
    links and sources (`changes.py`): a process learns that its clients in memory
    are out of date with one point read, whoever made the change."""

    __tablename__ = "clients_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class FeedsVersion(SQLModel, table=True):
    """How many times any feed's version changed (its row's or its published copy's):
    database triggers bump it and number each change with it (`changes.py`), in the order
    the changes were committed."""

    __tablename__ = "feeds_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class FeedChange(SQLModel, table=True):
    """Each feed's latest version, of its row or its published copy, and the number of that
    change (`FeedsVersion`): a process learns which feeds changed since it last looked by
    reading the changes after that number."""

    __tablename__ = "feed_change"

    source_id: int = Field(primary_key=True)
    version: int
    seq: int = Field(index=True)


class SchemaVersion(SQLModel, table=True):
    """The schema version this database is at, so a later release can migrate it."""

    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int
    migrated_at: float


class Alert(SQLModel, table=True):
    """One incident: opened when a condition starts, resolved when it clears, told once each way.

    At most one open alert per (kind, subject): the partial unique index makes a second
    process's duplicate fail instead of notifying twice.
    """

    __table_args__ = (Index("ux_alert_open", "kind", "subject", unique=True,
                            sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    subject: str
    severity: str = "warning"
    message: str
    opened_at: float = Field(index=True)
    resolved_at: float | None = None
    opened_sent_at: float | None = None
    resolved_sent_at: float | None = None
    send_error: str | None = None


class ClientWebhook(SQLModel, table=True):
    """A URL a client registered: it gets a signed POST when one of its feeds changes or fails."""

    __tablename__ = "client_webhook"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"), index=True,
                                            nullable=False))
    url: str
    secret: str  # whsec_…: Standard Webhooks signs with it, so it is kept, like the Apify token
    events: list[str] = _json([])
    active: bool = True
    created_at: float


class WebhookBaseline(SQLModel, table=True):
    """What client webhooks last heard about a source: its item ids and its failure count.

    A refresh that stores items not listed here is "feed.updated"; a failure count above
    this one is "feed.failed". Kept in the database, so a restart announces nothing twice.
    """

    __tablename__ = "webhook_baseline"

    source_id: int = Field(sa_column=Column(Integer, ForeignKey("source.id", ondelete="CASCADE"), primary_key=True))
    item_ids: list[str] = _json([])
    error_count: int = 0


class WebhookDelivery(SQLModel, table=True):
    """One message to one client webhook, and how its delivery went (the delivery log)."""

    __tablename__ = "webhook_delivery"

    id: str = Field(primary_key=True)  # msg_…, the webhook-id header: receivers de-duplicate on it
    webhook_id: int = Field(sa_column=Column(Integer, ForeignKey("client_webhook.id", ondelete="CASCADE"),
                                             index=True, nullable=False))
    event_type: str
    payload: dict[str, Any] = _json({})
    created_at: float = Field(index=True)
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    next_attempt_at: float | None = Field(default=None, index=True)
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None
