"""The demo source: realistic sample feeds for any handle, with no network at all.

It stands in for Apify when no token is set, behind the same refresher and cache, so a
fresh checkout shows working feeds offline. Content is deterministic per (platform,
handle); only the timestamps follow the clock, so feeds look recent. Picture addresses are
the package's sample photos (`/static/demo/…`), which the media worker reads from the
package (`flowkick.media.demo`) and stores like any downloaded picture.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

from flowkick.clock import Clock, iso
from flowkick.sources import FetchResult, HandleResult, Item, Profile

IMAGES = ("latte", "croissant", "cake", "salad", "pasta", "pancakes", "bread", "smoothie",
          "terrace", "interior", "beans", "brunch")
AVATAR = "/static/demo/avatar.jpg"

CAPTIONS = (
    "Fresh out of the oven: our butter croissants, every morning from 7 ☕🥐",
    "Sunday brunch is back! Pancakes, seasonal fruit & maple syrup. Book a table via the link in bio.",
    "Latte art Friday — which one is your favourite? 1, 2 or 3?",
    "New on the menu: Käsekuchen with rhubarb compote. Only while the rhubarb lasts 🍰",
    "Our beans come from a small cooperative in Huila, Colombia — roasted 10 minutes from here.",
    "Terrace season is open 🌞 Come early, the corner table goes fast.",
    "Homemade sourdough, 36 hours of patience. Available to take home until we sell out.",
    "Thank you for 5 years, Berlin! Free espresso with every cake this weekend 🎉",
    "Quiet mornings, warm bread, good music. See you soon.",
    "Vegan smoothie bowl: mango, passion fruit, granola & coconut.",
    "We're hiring a barista (part-time). DM us or drop by with a smile.",
    "Rainy day special: hot chocolate with homemade marshmallows ☔",
)
REVIEWS = (
    (5, "Best flat white in the neighbourhood. Friendly staff and the croissants are outstanding."),
    (5, "Cozy place, great music, perfect for working an hour or two. Cheesecake is a must!"),
    (4, "Lovely brunch, a bit of a wait on Sunday but worth it."),
    (5, "Wir kommen jeden Samstag her — der Käsekuchen ist der beste in Berlin."),
    (3, "Good coffee, but it was very busy and our order took a while."),
    (5, "Excelente café y un trato muy amable. ¡Volveremos!"),
    (4, "Nice terrace, good sourdough. Prices are fair."),
    (5, None),
)
REPLIES = (
    "Thank you so much! See you soon ☕",
    "Danke für euren Besuch — bis Samstag!",
    "Sorry for the wait — we have added a second barista on weekends. Hope to see you again!",
)
REVIEWERS = ("Anna K.", "Jonas Weber", "María López", "Tom", "Sophie Martin", "Lukas", "Priya S.", "Ben O.")
VIDEO_TITLES = (
    "How we make our sourdough (36 hours in 60 seconds)",
    "A morning at Luna Café",
    "Latte art for beginners: the heart",
    "Our rhubarb cheesecake, step by step",
)
NAMES = {"lunacafe.berlin": "Luna Café Berlin", "lunacafeberlin": "Luna Café Berlin",
         "chijlunacafeberlin01": "Luna Café Berlin"}

TYPES = {
    "instagram": ("image", "carousel", "image", "video"),
    "tiktok": ("video",),
    "twitter": ("text", "image", "text"),
    "youtube": ("video",),
    "facebook": ("image", "text", "image", "video"),
}
PERMALINKS = {
    "instagram": "https://www.instagram.com/p/{code}/",
    "tiktok": "https://www.tiktok.com/@{handle}/video/{num}",
    "twitter": "https://x.com/{handle}/status/{num}",
    "youtube": "https://www.youtube.com/watch?v={code}",
    "facebook": "https://www.facebook.com/{handle}/posts/{num}",
    "google_reviews": "https://www.google.com/maps/reviews/{code}",
}
PROFILES = {
    "instagram": "https://www.instagram.com/{handle}/",
    "tiktok": "https://www.tiktok.com/@{handle}",
    "twitter": "https://x.com/{handle}",
    "youtube": "https://www.youtube.com/@{handle}",
    "facebook": "https://www.facebook.com/{handle}",
    "google_reviews": "https://www.google.com/maps/place/?q=place_id:{handle}",
}


class DemoSource:
    name = "demo"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def fetch(self, platform: str, handles: list[str], limit: int) -> FetchResult:
        now = self.clock.now()
        return FetchResult(handles={h: HandleResult(items=demo_items(platform, h, limit, now),
                                                    profile=demo_profile(platform, h)) for h in handles})


def demo_profile(platform: str, handle: str) -> Profile:
    rng = _rng(platform, handle)
    account = _Account(platform, handle)
    profile: Profile = {"name": account.name, "handle": handle, "url": account.profile_url, "avatar_url": AVATAR,
                        "followers": None, "rating": None, "review_count": None}
    if platform == "google_reviews":
        profile.update(rating=round(rng.uniform(4.3, 4.8), 1), review_count=rng.randint(180, 640))
    else:
        profile["followers"] = rng.randint(1200, 48000)
    return profile


def demo_items(platform: str, handle: str, limit: int, now: float) -> list[Item]:
    rng = _rng(platform, handle)
    account = _Account(platform, handle)
    moment = now - now % 3600  # on the hour, so repeated fetches within an hour agree
    items = []
    for index in range(limit):
        moment -= rng.randint(5, 40) * 3600
        make = _review if platform == "google_reviews" else _post
        items.append(make(account, index, moment, rng))
    return items


class _Account:
    """What every item of one account repeats, worked out once per fetch, not per item (the
    demo source was a fifth of a first fill's profile; this takes a third off its items)."""

    def __init__(self, platform: str, handle: str) -> None:
        self.platform, self.handle, self.seed = platform, handle, _seed(handle)
        self.name, self.profile_url = _display_name(handle), PROFILES[platform].format(handle=handle)

    def author(self) -> dict[str, Any]:
        return {"name": self.name, "handle": self.handle, "avatar_url": AVATAR, "url": self.profile_url}


def _post(account: _Account, index: int, at: float, rng: random.Random) -> Item:
    platform = account.platform
    kind = TYPES[platform][index % len(TYPES[platform])]
    caption = CAPTIONS[(index + account.seed) % len(CAPTIONS)]
    pictures = [IMAGES[(index + account.seed + k) % len(IMAGES)] for k in range(3 if kind == "carousel" else 1)]
    media = [] if kind == "text" else [_media("video" if kind == "video" else "image", p) for p in pictures]
    item = _base(account, index, at, kind, rng)
    item.update(
        title=VIDEO_TITLES[index % len(VIDEO_TITLES)] if platform == "youtube" else None,
        text=caption,
        image=media[0]["url"] if media else None,
        media=media,
        likes=rng.randint(20, 900),
        comments=rng.randint(0, 60),
        views=rng.randint(800, 40000) if kind == "video" else None,
        shares=rng.randint(0, 80) if platform in {"tiktok", "facebook", "twitter"} else None,
    )
    return item


def _review(account: _Account, index: int, at: float, rng: random.Random) -> Item:
    stars, text = REVIEWS[(index + account.seed) % len(REVIEWS)]
    reviewer = REVIEWERS[index % len(REVIEWERS)]
    item = _base(account, index, at, "review", rng)
    item.update(text=text, rating=stars, likes=rng.randint(0, 5) or None,
                author={"name": reviewer, "handle": None, "avatar_url": None, "url": None})
    if index % 3 == 0:
        item["reply"] = {"text": REPLIES[index % len(REPLIES)], "published_at": iso(at + 7200)}
    return item


def _base(account: _Account, index: int, at: float, kind: str, rng: random.Random) -> Item:
    num = str(rng.randrange(10**17, 10**18))
    code = f"{account.seed:x}{index:03d}{num[-6:]}"
    platform = account.platform
    item: dict[str, Any] = {
        "id": f"{platform}:{num}", "platform": platform, "type": kind,
        "url": PERMALINKS[platform].format(handle=account.handle, num=num, code=code),
        "title": None, "text": None, "image": None, "media": [],
        "published_at": iso(at),
        "author": account.author(),
        "likes": None, "comments": None, "views": None, "shares": None, "rating": None, "reply": None,
    }
    return item


def _media(kind: str, picture: str) -> dict[str, Any]:
    return {"type": kind, "url": f"/static/demo/{picture}.jpg", "width": 1080, "height": 1080,
            "alt": f"{picture.capitalize()}, photographed from above"}


def _display_name(handle: str) -> str:
    return NAMES.get(handle.lower()) or handle.replace(".", " ").replace("_", " ").title()


def _seed(handle: str) -> int:
    return zlib.crc32(handle.lower().encode()) % 97


def _rng(platform: str, handle: str) -> random.Random:
    return random.Random(zlib.crc32(f"{platform}:{handle}".encode()))
