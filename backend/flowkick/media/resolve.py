"""Which pictures a feed shows, and the feed as visitors see it.

A stored picture's record is `{"d": digest, "w", "h": its size, "p": placeholder colour,
"s": [[width, height], ...] stored in WebP, "a": [widths also stored in AVIF]}`; a stored
video's is `{"d": digest, "v": "mp4"}`; a failed download's `{"x": reason, "n": attempts,
"t": next attempt}`.

A feed row keeps its items as the platform gave them (`feed_cache.items`, with the
platform's CDN addresses) and, beside them, a map from each picture's origin key to what
became of it (`feed_cache.media`): a stored picture, a stored video, or a failed download.
`wanted` lists the pictures a feed needs; `resolve` turns the items into what leaves the
server, where every picture is our copy or nothing at all, never a platform address.

An origin key names a picture independently of its signature: Instagram, Facebook and
TikTok sign their addresses with query parameters that change on every scrape (`oe`, `oh`,
`_nc_*`, `x-expires`, `x-signature`), so those are dropped before hashing, and a picture
seen again in the next scrape is recognised without downloading it twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flowkick.sources import Item, Profile

UrlFor = Callable[[str], str]  # a stored file's name -> the address a browser fetches it at

# Query parameters that sign or track a CDN address rather than choose the picture.
_SIGNING = frozenset({"oh", "oe", "ext", "x-expires", "x-signature", "ccb", "efg", "edm", "ig_cache_key", "dl"})
_SIGNING_PREFIXES = ("_nc_", "x-signature-")
_PLACEHOLDER_RE = re.compile(r"#[0-9a-f]{6}")
IMAGE_WIDTH = 640  # the width `image` points at; `picture.sizes` lists every width for a srcset
AVATAR_WIDTH = 160
AVATAR_WIDTHS = (48, 96, 160)  # avatars show at 32-36 CSS pixels: sharp at 1x to 3x, never oversized


@dataclass(frozen=True)
class Wanted:
    """A picture (or video) a feed shows: where to fetch it, and what it is."""

    key: str
    url: str
    kind: str  # image | avatar (stored in small widths only) | video


@lru_cache(maxsize=8192)  # a feed is resolved on every write, its addresses the same each time
def origin_key(url: str) -> str:
    """The picture's identity: its address without signature parameters, hashed."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_signing(k)]
    normalized = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(sorted(query)), ""))
    return hashlib.blake2b(normalized.encode(), digest_size=16).hexdigest()


def _is_signing(name: str) -> bool:
    name = name.lower()
    return name in _SIGNING or name.startswith(_SIGNING_PREFIXES)


def media_name(digest: str, width: int, fmt: str) -> str:
    """A stored file's name: content-addressed, so equal pictures share their files."""
    return f"{digest[:2]}/{digest}-{width}.{fmt}"


def wanted(items: Iterable[Item], profile: Profile, *, videos: bool) -> dict[str, Wanted]:
    """Every picture the feed shows (and, when `videos`, every video file), by origin key."""
    found: dict[str, Wanted] = {}

    def add(url: object, kind: str = "image") -> None:
        if isinstance(url, str) and url and (kind != "video" or videos):
            key = origin_key(url)
            found.setdefault(key, Wanted(key, url, kind))

    add(profile.get("avatar_url"), "avatar")
    for item in items:
        add(item.get("image"))
        for entry in _entries(item.get("media")):
            add(entry.get("url"), "video" if entry.get("type") == "video" else "image")
        add(_mapping(item.get("author")).get("avatar_url"), "avatar")
    return found


def resolve(items: Iterable[Item], profile: Profile, stored: Mapping[str, Any],
            url_for: UrlFor) -> tuple[list[Item], Profile]:
    """The items and profile with every picture address replaced by our copy, or None."""
    pictures = _Pictures(stored, url_for)
    return [pictures.item(item) for item in items], pictures.avatar_of(profile)


class _Pictures:
    def __init__(self, stored: Mapping[str, Any], url_for: UrlFor) -> None:
        self.stored = stored
        self.url_for = url_for
        self._made: dict[tuple[str, int], dict[str, Any] | None] = {}

    def item(self, item: Item) -> Item:
        picture = self.picture(item.get("image"))
        out = dict(item)
        out["image"] = picture["url"] if picture else None
        out["picture"] = picture
        out["media"] = [self.entry(e) for e in _entries(item.get("media"))]
        if isinstance(item.get("author"), dict):
            out["author"] = self.avatar_of(item["author"])
        return out

    def avatar_of(self, owner: Mapping[str, Any]) -> dict[str, Any]:
        """An author or profile with its avatar ours: `avatar_url`, and `avatar` with every size."""
        if "avatar_url" not in owner:
            return dict(owner)
        picture = self.picture(owner.get("avatar_url"), AVATAR_WIDTH)
        return {**owner, "avatar_url": picture["url"] if picture else None, "avatar": picture}

    def entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A media entry with our copy: sizes and placeholder for a picture, our file for a video."""
        base = {"type": entry.get("type"), "url": None, "width": entry.get("width"), "height": entry.get("height"),
                "alt": entry.get("alt"), "placeholder": None, "sizes": []}
        if entry.get("type") == "video":
            video = self._record(entry.get("url"))
            if video and video.get("v"):
                base["url"] = self.url_for(media_name(video["d"], 0, video["v"]))
            return base
        picture = self.picture(entry.get("url"), max(IMAGE_WIDTH, 1080))
        if picture:
            base.update(url=picture["url"], width=picture["width"], height=picture["height"],
                        placeholder=picture["placeholder"], sizes=picture["sizes"])
        return base

    def picture(self, url: object, width: int = IMAGE_WIDTH) -> dict[str, Any] | None:
        """A stored picture: the address of its WebP nearest `width`, its size, placeholder and every size.

        Made once per picture and width in a feed (an avatar recurs on every item), and with
        one call of `url_for`: the files of a picture differ only in their name's tail.
        """
        if not isinstance(url, str) or not url:
            return None
        if (url, width) not in self._made:
            self._made[url, width] = self._make(self._record(url), width)
        return self._made[url, width]

    def _make(self, record: Mapping[str, Any] | None, width: int) -> dict[str, Any] | None:
        if not record or not record.get("s"):
            return None
        digest, sizes = record["d"], [(int(w), int(h)) for w, h in record["s"]]
        avif = set(record.get("a", ()))
        chosen = min(sizes, key=lambda wh: (wh[0] < width, abs(wh[0] - width)))
        placeholder = record.get("p") if _PLACEHOLDER_RE.fullmatch(str(record.get("p"))) else None
        first = f"{sizes[0][0]}.webp"
        stem = self.url_for(media_name(digest, sizes[0][0], "webp")).removesuffix(first)  # ".../<digest>-"
        return {
            "url": f"{stem}{chosen[0]}.webp",
            "width": record["w"], "height": record["h"], "placeholder": placeholder,
            "sizes": [{"width": w, "height": h, "avif": f"{stem}{w}.avif" if w in avif else None,
                       "webp": f"{stem}{w}.webp"} for w, h in sizes],
        }

    def _record(self, url: object) -> Mapping[str, Any] | None:
        if not isinstance(url, str) or not url:
            return None
        record = self.stored.get(origin_key(url))
        return record if isinstance(record, dict) and record.get("d") else None


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
