"""Generated items' pictures pointed at the fake image CDN, when one is attached to the world.

The samples carry the platforms' real CDN addresses (`*.cdninstagram.com`, `*.fbcdn.net`,
`*.tiktokcdn.com`, ...), which tests must never contact. With a CDN attached
(`attach(world, cdn)`, done by the `fake_cdn` fixture), `point_pictures_at_cdn` replaces
every such address in an item, wherever it sits (display URLs, carousel children, image
lists, thumbnails, covers, avatars and profile pictures), by the fake CDN's address for a
path derived from the original and the post (an avatar's from the account and field), so
each post has pictures of its own and an account one avatar, always the same, signed the way
its platform signs (Instagram and Facebook `oh`/`oe`, TikTok `x-expires`/`x-signature`) and
expiring `URL_LIFETIME` after the world's clock, as a scrape's addresses expire some hours
after the scrape. Without a CDN, items keep the samples' addresses.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from .world import World, handle_key

# Host suffix -> the platform whose CDN style the fake copies.
_CDN_HOSTS = {
    "cdninstagram.com": "instagram",
    "fbcdn.net": "facebook",
    "tiktokcdn.com": "tiktok",
    "tiktokcdn-us.com": "tiktok",
    "googleusercontent.com": "google",
    "pbs.twimg.com": "twitter",
    "ytimg.com": "youtube",
}
_AVATAR_WORDS = ("avatar", "profilepic", "profile_pic", "profilepicture", "reviewerphoto")
_ID_FIELDS = ("id", "postId", "reviewId")
URL_LIFETIME = 6 * 3600.0  # seconds; Instagram's and TikTok's addresses last hours to days
AVATAR_SIZE = (320, 320)
PHOTO_SIZES = ((1080, 1080), (1080, 1350))


class Minter(Protocol):
    def mint(self, style: str, key: str, *, size: tuple[int, int], video: bool = False,
             expires: float | None = None) -> str:
        """A signed address on the CDN for the picture (or video) named `key`."""
        ...


_attached: WeakKeyDictionary[World, Minter] = WeakKeyDictionary()


def attach(world: World, cdn: Minter) -> None:
    _attached[world] = cdn


def detach(world: World) -> None:
    _attached.pop(world, None)


def point_pictures_at_cdn(world: World, platform: str, handle: str, item: dict[str, Any]) -> dict[str, Any]:
    """`item` (a post of `handle`) with every platform CDN address replaced by the attached fake
    CDN's, in place; unchanged when no CDN is attached."""
    cdn = _attached.get(world)
    if cdn is not None:
        account = f"{platform}:{handle_key(platform, handle)}"
        post = next((str(item[f]) for f in _ID_FIELDS if item.get(f)), "")
        _Rewriter(cdn, account, post, world.clock().timestamp() + URL_LIFETIME).rewrite(item)
    return item


class _Rewriter:
    def __init__(self, cdn: Minter, account: str, post: str, expires: float) -> None:
        self.cdn, self.account, self.post, self.expires = cdn, account, post, expires

    def rewrite(self, value: Any, field: str = "") -> Any:
        if isinstance(value, dict):
            for key, child in value.items():
                value[key] = self.rewrite(child, key)
        elif isinstance(value, list):
            value[:] = [self.rewrite(child, field) for child in value]
        elif isinstance(value, str):
            return self.address(value, field) or value
        return value

    def address(self, url: str, field: str) -> str | None:
        """The fake CDN's address standing for `url`, or None when `url` is no platform CDN's."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        style = next((s for suffix, s in _CDN_HOSTS.items() if host.endswith(suffix)), None)
        if style is None or not parts.path.strip("/"):
            return None
        avatar = any(word in field.lower() for word in _AVATAR_WORDS)
        origin = f"{self.account}|{field}" if avatar else f"{self.account}/{self.post}|{host}{parts.path}"
        key = hashlib.blake2b(origin.encode(), digest_size=10).hexdigest()
        size = AVATAR_SIZE if avatar else PHOTO_SIZES[int(key, 16) % len(PHOTO_SIZES)]
        return self.cdn.mint(style, key, size=size, video=parts.path.endswith(".mp4"), expires=self.expires)

