"""Every setting Flowkick reads, in one table: the `Settings` dataclass.

Each field carries its default, its type and one line of help. The same table reads the
environment (`FLOWKICK_<NAME>`), prints `flowkick settings` and is checked against the
README by a test, so a setting cannot exist without being documented.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from flowkick.sources.actors import ACTORS

_TYPES = {"str": str, "int": int, "float": float}
_FALLBACK_ENV = {"apify_token": "APIFY_TOKEN"}


def setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting("sqlite+aiosqlite:///flowkick.db",
                                "Database URL: SQLite file in the working folder, or postgresql+asyncpg://…")
    apify_token: str = setting("", "Apify API token (APIFY_TOKEN also works). Empty: demo mode with sample data.")
    apify_api_url: str = setting("https://api.apify.com", "Apify API base URL (tests point it at a fake server).")
    public_url: str = setting("", "Public base URL of this server; when set, Apify runs call back on finish.")
    secret_key: str = setting("", "Secret for signing sessions and the webhook path; random per `flowkick serve` "
                                "if empty.")
    admin_password: str = setting("", "Password for /admin; the dashboard is off when empty.")
    batch_size: int = setting(25, "Handles of one platform fetched together in one actor run.")
    max_concurrent_runs: int = setting(4, "Batches (actor runs) running at the same time.")
    items_per_source: int = setting(24, "Newest items kept per tracked account (the API serves at most 50).")
    tick_seconds: float = setting(5.0, "How often the refresher looks for due sources.")
    refresh_ahead_seconds: float = setting(120.0, "Refresh a requested source this long before its data expires.")
    active_window_hours: float = setting(24.0, "Sources requested within this window are kept fresh; "
                                               "others refresh on their next request.")
    backoff_base_seconds: float = setting(60.0, "First retry delay after a failed fetch; doubles per failure.")
    backoff_max_seconds: float = setting(21600.0, "Longest retry delay after repeated failures.")
    lease_seconds: float = setting(900.0, "How long a process owns a source it is refreshing.")
    usage_flush_seconds: float = setting(1.0, "How often in-memory usage counters are written to the database "
                                              "and other processes' counts read (monthly quotas across processes "
                                              "lag by about twice this).")
    memory_ttl_seconds: float = setting(3600.0, "Longest a process keeps its in-memory copy of a feed; a change "
                                                "is seen sooner: its own at once, other processes' within "
                                                "FLOWKICK_FEED_WATCH_SECONDS.")
    feed_watch_seconds: float = setting(1.0, "How often a process asks the database which feeds other processes "
                                             "changed (a read of the feed changes logged since the last look).")
    memory_cache_mb: float = setting(128.0, "Memory the read path may keep feeds, bodies, fragments and stored "
                                            "answers in, in megabytes; the least recently used go first.")
    ttl_instagram: int = setting(1800, "Seconds Instagram items stay fresh.")
    ttl_tiktok: int = setting(1800, "Seconds TikTok items stay fresh.")
    ttl_google_reviews: int = setting(7200, "Seconds Google reviews stay fresh.")
    ttl_twitter: int = setting(900, "Seconds X posts stay fresh.")
    ttl_youtube: int = setting(3600, "Seconds YouTube videos stay fresh.")
    ttl_facebook: int = setting(3600, "Seconds Facebook posts stay fresh.")
    apify_run_timeout_seconds: int = setting(600, "Longest an actor run may take; Apify stops it there (TIMED-OUT).")
    apify_poll_seconds: float = setting(30.0, "How often a running actor run is checked; its webhook ends the wait "
                                              "sooner when FLOWKICK_PUBLIC_URL is set.")
    apify_retry_delay_seconds: float = setting(0.5, "First pause before a rate-limited or failed Apify request is "
                                                    "retried (4 retries, the pause doubles each time).")
    counts_refresh_hours: float = setting(24.0, "How often likes, comments and views are renewed; in between a "
                                                "refresh asks Apify only for items newer than those stored.")
    counts_window_hours: float = setting(24.0, "How far back a renewal of counts reaches (items still collecting "
                                               "likes); 0: it fetches every kept item again.")
    quiet_max_hours: float = setting(6.0, "Longest wait between checks of a source that posts rarely (checked "
                                          "about 20 times between two of its posts, never more often than its TTL).")
    apify_budget_usd: float = setting(0.0, "Monthly Apify spend at which refreshing stops (stored items are still "
                                           "served); 0: no budget.")
    apify_plan_budgets: str = setting("", 'Monthly Apify spend per plan as JSON, e.g. {"free": 5, "starter": 40}: '
                                          "a plan's clients stop refreshing once their shares reach it.")
    actor_instagram: str = setting(ACTORS["instagram"].default_actor_id, "Apify actor fetching Instagram posts.")
    actor_tiktok: str = setting(ACTORS["tiktok"].default_actor_id, "Apify actor fetching TikTok videos.")
    actor_google_reviews: str = setting(ACTORS["google_reviews"].default_actor_id,
                                        "Apify actor fetching Google reviews.")
    actor_twitter: str = setting(ACTORS["twitter"].default_actor_id, "Apify actor fetching X posts.")
    actor_youtube: str = setting(ACTORS["youtube"].default_actor_id, "Apify actor fetching YouTube videos.")
    actor_facebook: str = setting(ACTORS["facebook"].default_actor_id, "Apify actor fetching Facebook posts.")
    plans: str = setting("", 'Plan limits as JSON over the defaults, e.g. {"starter": {"monthly_requests": 50000, '
                             '"over_limit": "block"}}; keys: monthly_requests, max_sources, min_refresh_seconds, '
                             'over_limit (freeze|block), burst.')
    burst_per_second: float = setting(20.0, "Requests a second one API key may make on average (token bucket); "
                                            "0 turns the burst limit off.")
    burst_capacity: int = setting(100, "Requests one API key may make at once before the burst limit answers 429.")
    key_grace_hours: float = setting(24.0, "How long a rotated key keeps working next to its replacement.")
    admin_session_hours: float = setting(12.0, "How long an /admin login lasts.")
    admin_login_attempts: int = setting(5, "Failed /admin logins allowed per address in 15 minutes.")
    analytics_per_minute: int = setting(60, "Widget events (views, opened posts) one sender may send a minute.")
    analytics_daily_events: int = setting(200_000, "Widget events counted per client and day; more answer 429.")
    analytics_item_clicks: int = setting(2_000, "Opened-post clicks counted per post and day; more answer 429.")
    media_store: str = setting("", "Where stored pictures go: empty for a media folder beside the SQLite file (or the "
                                   "working folder), a folder path, or s3://BUCKET for S3-compatible storage.")
    media_public_url: str = setting("", "Base URL the stored pictures are served from (a CDN in front of the store); "
                                        "empty: /media on this server, or the S3 endpoint's bucket URL.")
    media_s3_endpoint: str = setting("", "S3-compatible endpoint URL (empty: AWS S3).")
    media_s3_region: str = setting("us-east-1", "S3 region.")
    media_s3_access_key: str = setting("", "S3 access key id.")
    media_s3_secret_key: str = setting("", "S3 secret access key.")
    media_allow_private_hosts: int = setting(0, "1 lets picture downloads reach private and loopback addresses "
                                                "(tests only: their fake CDN runs on 127.0.0.1).")
    media_max_download_bytes: int = setting(20_000_000, "Largest picture downloaded; bigger files are refused.")
    media_download_timeout_seconds: float = setting(20.0, "Longest one download may take, slow senders included.")
    media_max_store_bytes: int = setting(10_000_000_000, "Size cap of the media store; the pictures shown least "
                                                         "recently are evicted first. 0: no cap.")
    media_grace_hours: float = setting(72.0, "How long a stored picture no feed shows any more is kept.")
    media_store_videos: int = setting(0, "1 also stores video files for inline playback (posters are always stored).")
    media_video_max_bytes: int = setting(50_000_000, "Largest video file stored when media_store_videos is 1.")
    log_level: str = setting("info", "Lowest level logged: debug, info (one line per request), warning or error.")
    log_format: str = setting("auto", "json (one object per line), text (for people), or auto: text on a terminal, "
                                      "else json.")
    metrics_token: str = setting("", "When set, GET /metrics needs Authorization: Bearer with this token.")
    alert_webhook_url: str = setting("", "Alerts go here as JSON POSTs (Slack, Discord and generic receivers accept "
                                         "them); retried with backoff. Empty: no alert webhook.")
    alert_email_to: str = setting("", "Alert e-mail recipients, comma-separated (needs FLOWKICK_SMTP_HOST).")
    smtp_host: str = setting("", "SMTP server for alert e-mail; empty: no e-mail.")
    smtp_port: int = setting(587, "SMTP server port.")
    smtp_security: str = setting("starttls", "starttls, tls (implicit, usually port 465) or none.")
    smtp_username: str = setting("", "SMTP login; empty: no login.")
    smtp_password: str = setting("", "SMTP password.")
    smtp_from: str = setting("flowkick@localhost", "Sender address of alert e-mail.")
    alert_check_seconds: float = setting(60.0, "How often alert conditions are checked.")
    alert_failures: int = setting(3, "A source failing this many refreshes in a row opens an alert.")
    alert_stale_hours: float = setting(6.0, "A source whose items stay stale this long opens an alert.")
    alert_near_percent: float = setting(80.0, "Share of a monthly limit (a client's requests, an Apify budget) "
                                              "that opens a warning; reaching all of it opens another.")
    alert_media_failures: int = setting(5, "A source with this many failed picture downloads opens an alert.")
    webhooks_allow_private_hosts: int = setting(0, "1 lets client webhooks call private and loopback addresses "
                                                   "(tests only: their receivers run on 127.0.0.1).")

    @property
    def demo_mode(self) -> bool:
        """No Apify token: the built-in demo source fills every feed."""
        return not self.apify_token

    def ttl(self, platform: str) -> int:
        return int(getattr(self, f"ttl_{platform}"))

    def actor(self, platform: str) -> str:
        """The Apify actor run for `platform` (the `actor_<platform>` setting)."""
        return str(getattr(self, f"actor_{platform}"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(env_name(f)) or env.get(_FALLBACK_ENV.get(f.name, ""), "")
            if raw:
                values[f.name] = _parse(f, raw)
        values.update(overrides)
        return cls(**values)


def env_name(f: Field[Any]) -> str:
    return f"FLOWKICK_{f.name.upper()}"


def table() -> Iterator[tuple[str, Any, str, str]]:
    """(environment variable, default, type name, help) for every setting."""
    for f in fields(Settings):
        assert f.default is not MISSING
        yield env_name(f), f.default, str(f.type), f.metadata["help"]


def _parse(f: Field[Any], raw: str) -> Any:
    kind = _TYPES[str(f.type)]
    try:
        return kind(raw)
    except ValueError as exc:
        raise SystemExit(f"{env_name(f)}={raw!r} is not a valid {kind.__name__}: {f.metadata['help']}") from exc
