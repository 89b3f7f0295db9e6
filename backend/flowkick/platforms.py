"""The six platforms Flowkick knows, their aliases and how a handle is written.

Everything that varies per platform but is not about fetching (that lives in
`flowkick.sources`) is here, so routes, the CLI and the refresher agree on names.
"""

from __future__ import annotations

import re

PLATFORMS: tuple[str, ...] = ("instagram", "tiktok", "google_reviews", "twitter", "youtube", "facebook")

ALIASES: dict[str, str] = {"google": "google_reviews", "google_maps": "google_reviews", "x": "twitter"}

LABELS: dict[str, str] = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "google_reviews": "Google reviews",
    "twitter": "X",
    "youtube": "YouTube",
    "facebook": "Facebook",
}

# Google place ids are case-sensitive; every other platform's handles are not.
_CASE_SENSITIVE = {"google_reviews"}
_HANDLE_RE = re.compile(r"^[A-Za-z0-9._\-:]{1,120}$")


def resolve_platform(name: str) -> str | None:
    """The canonical platform id for a name or alias, or None when unknown."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in PLATFORMS else None


def normalize_handle(platform: str, handle: str) -> str | None:
    """The canonical spelling of a handle, or None when it cannot be one.

    Handles become cache keys and actor input, so one account must have exactly one
    spelling: '@LunaCafe.Berlin ' and 'lunacafe.berlin' are the same source.
    """
    cleaned = handle.strip().lstrip("@")
    if not _HANDLE_RE.fullmatch(cleaned):
        return None
    return cleaned if platform in _CASE_SENSITIVE else cleaned.lower()
