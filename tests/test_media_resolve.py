"""Which pictures a feed shows, and the feed as visitors see it (flowkick.media.resolve)."""

from __future__ import annotations

from typing import Any

import orjson

from flowkick.media.resolve import media_name, origin_key, resolve, wanted

CDN = "https://scontent-fra5-1.cdninstagram.com/v/t51.2885-15/4711_n.jpg"
DIGEST = "0123456789abcdef0123456789abcdef"
STORED = {"d": DIGEST, "w": 1080, "h": 1350, "p": "#8a6f5c", "s": [[160, 200], [320, 400], [640, 800], [1080, 1350]],
          "a": [160, 320, 640]}


def url_for(name: str) -> str:
    return f"/media/{name}"


def post(image: str | None = CDN, **extra: Any) -> dict[str, Any]:
    return {"id": "instagram:1", "platform": "instagram", "type": "image", "image": image,
            "media": [{"type": "image", "url": image, "width": 1080, "height": 1350, "alt": "A latte"}],
            "author": {"name": "Luna", "handle": "luna", "avatar_url": CDN + "?avatar=1", "url": None}, **extra}


def test_origin_key_ignores_signatures_that_change_on_every_scrape() -> None:
    first = origin_key(CDN + "?stp=dst-jpg_e35&_nc_ht=x&_nc_cat=1&oh=00_AaB&oe=6745A1B2")
    second = origin_key(CDN + "?oe=67ffffff&oh=00_Zz&stp=dst-jpg_e35&_nc_ohc=9")
    assert first == second


def test_origin_key_keeps_parameters_that_choose_the_picture() -> None:
    assert origin_key(CDN + "?stp=dst-jpg_p1080x1080") != origin_key(CDN + "?stp=dst-jpg_p320x320")


def test_tiktok_signatures_are_ignored_too() -> None:
    base = "https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/abc~tplv-noop.image"
    assert origin_key(base + "?x-expires=1700000000&x-signature=abc%3D") == origin_key(
        base + "?x-expires=1800000000&x-signature=def%3D")


def test_wanted_lists_item_images_media_avatars_and_the_profile_avatar() -> None:
    items = [post(), post(image="https://cdn.example/two.jpg")]
    found = wanted(items, {"avatar_url": "https://cdn.example/me.jpg"}, videos=False)
    urls = {w.url for w in found.values()}
    assert urls == {CDN, CDN + "?avatar=1", "https://cdn.example/two.jpg", "https://cdn.example/me.jpg"}


def test_video_files_are_wanted_only_when_videos_are_stored() -> None:
    item = post(type="video", media=[{"type": "video", "url": "https://cdn.example/clip.mp4"}])
    assert "https://cdn.example/clip.mp4" not in {w.url for w in wanted([item], {}, videos=False).values()}
    videos = [w for w in wanted([item], {}, videos=True).values() if w.kind == "video"]
    assert [w.url for w in videos] == ["https://cdn.example/clip.mp4"]


def test_a_stored_picture_becomes_our_copy_with_every_size() -> None:
    [item], _ = resolve([post()], {}, {origin_key(CDN): STORED}, url_for)
    assert item["image"] == url_for(media_name(DIGEST, 640, "webp"))
    assert item["picture"]["placeholder"] == "#8a6f5c"
    assert item["picture"]["width"] == 1080 and item["picture"]["height"] == 1350
    assert [s["width"] for s in item["picture"]["sizes"]] == [160, 320, 640, 1080]
    assert item["picture"]["sizes"][0]["avif"] == url_for(media_name(DIGEST, 160, "avif"))
    assert item["picture"]["sizes"][3]["avif"] is None  # the largest width is WebP only
    entry = item["media"][0]
    assert entry["url"] == url_for(media_name(DIGEST, 1080, "webp")) and entry["alt"] == "A latte"
    assert entry["sizes"] == item["picture"]["sizes"]


def test_a_picture_not_stored_yet_is_no_address_at_all() -> None:
    [item], profile = resolve([post()], {"avatar_url": CDN}, {}, url_for)
    assert item["image"] is None and item["picture"] is None
    assert item["media"][0]["url"] is None and item["media"][0]["sizes"] == []
    assert item["author"]["avatar_url"] is None and profile["avatar_url"] is None


def test_a_failed_download_is_no_address_either() -> None:
    failed = {origin_key(CDN): {"x": "http_404", "n": 1, "t": 0}}
    [item], _ = resolve([post()], {}, failed, url_for)
    assert item["image"] is None


def test_no_platform_address_survives_resolution() -> None:
    items = [post(), post(type="video", media=[{"type": "video", "url": "https://v.cdninstagram.com/clip.mp4"}])]
    resolved, profile = resolve(items, {"avatar_url": CDN}, {origin_key(CDN): STORED}, url_for)
    assert b"cdninstagram" not in orjson.dumps([resolved, profile])


def test_avatars_point_at_a_small_size() -> None:
    avatar = CDN + "?avatar=1"
    [item], _ = resolve([post()], {}, {origin_key(avatar): STORED}, url_for)
    assert item["author"]["avatar_url"] == url_for(media_name(DIGEST, 160, "webp"))


def test_a_small_picture_points_at_its_only_size() -> None:
    small = {**STORED, "w": 100, "h": 100, "s": [[100, 100]]}
    [item], _ = resolve([post()], {}, {origin_key(CDN): small}, url_for)
    assert item["image"] == url_for(media_name(DIGEST, 100, "webp"))


def test_a_placeholder_that_is_not_a_colour_is_dropped() -> None:
    hostile = {**STORED, "p": "red;background:url(https://evil.example)"}
    [item], _ = resolve([post()], {}, {origin_key(CDN): hostile}, url_for)
    assert item["picture"]["placeholder"] is None
