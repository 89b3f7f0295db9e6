"""The fake image CDN behaves like Instagram's, Facebook's and TikTok's: pictures other sites
may not embed, signed addresses that expire, and every fault a downloader must survive."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from PIL import ExifTags, Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.support.browser import chromium, open_tab
from tests.support.fake_apify import FakeApify
from tests.support.fake_apify.cdn_urls import AVATAR_SIZE
from tests.support.fake_cdn import ENDLESS_BYTES, FakeCdn, picture, size_of
from tests.support.servers import serving

PLATFORM_CDN_HOSTS = ("cdninstagram.com", "fbcdn.net", "tiktokcdn.com", "tiktokcdn-us.com", "googleusercontent.com",
                      "pbs.twimg.com", "ytimg.com")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def decoded(answer: httpx.Response) -> Image.Image:
    return Image.open(io.BytesIO(answer.content))


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **changes})).geturl()


# --- pictures -----------------------------------------------------------------------------


def test_a_picture_is_a_jpeg_of_the_size_its_path_names(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    answer = http.get(fake_cdn.mint("instagram", "portrait1", size=(1080, 1350)))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    picture = decoded(answer)
    upright = (picture.height, picture.width) if picture.getexif().get(ExifTags.Base.Orientation) == 6 else \
        picture.size
    assert picture.format == "JPEG" and upright == (1080, 1350)


def test_every_picture_refuses_embedding_on_other_sites(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    for style in ("instagram", "facebook", "tiktok", "google", "twitter", "youtube"):
        answer = http.get(fake_cdn.mint(style, f"corp{style}"))
        assert answer.status_code == 200
        assert answer.headers["cross-origin-resource-policy"] == "same-origin"


def test_each_path_has_its_own_bytes_and_always_the_same(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    first, again, other = (http.get(fake_cdn.mint("facebook", key)).content for key in ("one", "one", "two"))
    assert first == again != other


def test_some_pictures_carry_a_gps_position_and_some_lie_on_their_side(fake_cdn: FakeCdn,
                                                                        http: httpx.Client) -> None:
    exifs = [decoded(http.get(fake_cdn.mint("instagram", f"exif{n}"))).getexif() for n in range(12)]
    assert any(exif.get_ifd(ExifTags.IFD.GPSInfo) for exif in exifs)
    assert any(not exif.get_ifd(ExifTags.IFD.GPSInfo) for exif in exifs)
    assert {exif.get(ExifTags.Base.Orientation) for exif in exifs} == {None, 6}


def test_a_video_path_answers_an_mp4(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    answer = http.get(fake_cdn.mint("instagram", "reel", video=True))
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    assert answer.content[4:8] == b"ftyp"


def host_page(cdn_url: str) -> Starlette:
    """Another site: a page with the CDN's picture and, beside it, the same bytes from the site itself."""
    copy = picture(urlsplit(cdn_url).path)

    async def page(request: Request) -> Response:
        return HTMLResponse(f'<img src="{cdn_url}"><img src="/copy.jpg">')

    async def copied(request: Request) -> Response:
        return Response(copy, media_type="image/jpeg")

    return Starlette(routes=[Route("/", page), Route("/copy.jpg", copied)])


def test_chromium_refuses_the_picture_on_another_site(fake_cdn: FakeCdn) -> None:
    url = fake_cdn.mint("instagram", "embedded elsewhere")
    with serving(lambda _: host_page(url)) as site, chromium() as browser, open_tab(browser) as tab:
        tab.page.goto(site, wait_until="load")
        cdn_width, copy_width = tab.page.evaluate("[...document.images].map(image => image.naturalWidth)")
    assert cdn_width == 0 and copy_width > 0
    assert fake_cdn.hits(url) == 1
    assert any("ERR_BLOCKED_BY_RESPONSE" in text for _, text in tab.console)


# --- signed addresses ----------------------------------------------------------------------


def test_instagram_addresses_carry_a_hex_expiry_and_a_signature(fake_cdn: FakeCdn) -> None:
    query = parse_qs(urlsplit(fake_cdn.mint("instagram", "signed")).query)
    assert query["oh"][0].startswith("00_") and query["_nc_ht"] == ["scontent-fra5-1.cdninstagram.com"]
    assert int(query["oe"][0], 16) == int(fake_cdn.now() + 6 * 3600)


def test_tiktok_addresses_carry_x_expires_and_x_signature(fake_cdn: FakeCdn) -> None:
    query = parse_qs(urlsplit(fake_cdn.mint("tiktok", "signed")).query)
    assert int(query["x-expires"][0]) == int(fake_cdn.now() + 6 * 3600) and query["x-signature"][0]


@pytest.mark.parametrize("style", ["instagram", "facebook", "tiktok"])
def test_an_address_past_its_expiry_answers_403_signature_expired(fake_cdn: FakeCdn, http: httpx.Client,
                                                                   style: str) -> None:
    url = fake_cdn.mint(style, "expiring")
    assert http.get(url).status_code == 200
    fake_cdn.advance(6 * 3600 + 1)
    answer = http.get(url)
    assert (answer.status_code, answer.text) == (403, "URL signature expired")
    assert answer.headers["cross-origin-resource-policy"] == "same-origin"


def test_an_address_minted_already_expired_is_refused(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    path = "/tos-maliva-p-0068/old_1080x1080~tplv-tiktokx-origin.image"
    answer = http.get(fake_cdn.url(path, expires=fake_cdn.now() - 1))
    assert (answer.status_code, answer.text) == (403, "URL signature expired")


@pytest.mark.parametrize("changes", [{"oe": "7FFFFFFF"}, {"oh": "00_forged"}, {"oh": ""}, {"oe": "not-hex"}])
def test_a_tampered_instagram_address_answers_403_bad_url_hash(fake_cdn: FakeCdn, http: httpx.Client,
                                                               changes: dict[str, str]) -> None:
    answer = http.get(with_query(fake_cdn.mint("instagram", "tampered"), **changes))
    assert (answer.status_code, answer.text) == (403, "Bad URL hash")


def test_a_tiktok_address_with_a_later_expiry_answers_403_bad_url_hash(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("tiktok", "tampered")
    answer = http.get(with_query(url, **{"x-expires": str(int(fake_cdn.now()) + 10**6)}))
    assert (answer.status_code, answer.text) == (403, "Bad URL hash")


def test_a_signed_path_without_its_query_answers_403_bad_url_hash(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    answer = http.get(fake_cdn.mint("facebook", "bare").split("?")[0])
    assert (answer.status_code, answer.text) == (403, "Bad URL hash")


def test_google_x_and_youtube_pictures_are_unsigned_and_never_expire(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    urls = [fake_cdn.mint(style, "plain") for style in ("google", "twitter", "youtube")]
    fake_cdn.advance(365 * 86400)
    assert all("?" not in url and http.get(url).status_code == 200 for url in urls)


# --- counting ------------------------------------------------------------------------------


def test_requests_are_counted_per_path(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    counted, other = fake_cdn.mint("instagram", "counted"), fake_cdn.mint("instagram", "other")
    assert fake_cdn.hits() == 0
    http.get(counted)
    http.get(counted)
    http.get(with_query(other, oh="00_forged"))
    assert (fake_cdn.hits(counted), fake_cdn.hits(other), fake_cdn.hits()) == (2, 1, 3)
    assert [hit.status for hit in fake_cdn.log] == [200, 200, 403]


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("not_found", 404), ("server_error", 500), ("unavailable", 503)])
def test_an_error_fault_answers_its_status(fake_cdn: FakeCdn, http: httpx.Client, kind: str, status: int) -> None:
    url = fake_cdn.mint("instagram", kind)
    fake_cdn.fault(url, kind)
    answer = http.get(url)
    assert answer.status_code == status
    assert answer.headers["cross-origin-resource-policy"] == "same-origin"


def test_unavailable_says_when_to_retry(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("tiktok", "busy")
    fake_cdn.fault(url, "unavailable")
    assert http.get(url).headers["retry-after"] == "1"


def test_a_fault_for_a_few_requests_heals_by_itself(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "flaky")
    fake_cdn.fault(url, "server_error", times=2)
    assert [http.get(url).status_code for _ in range(3)] == [500, 500, 200]


def test_a_healed_path_answers_again(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "healed")
    fake_cdn.fault(url, "not_found")
    fake_cdn.heal(url)
    assert http.get(url).status_code == 200


def test_an_expired_address_is_refused_before_any_fault(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "expired and broken")
    fake_cdn.fault(url, "server_error")
    fake_cdn.advance(7 * 3600)
    assert http.get(url).status_code == 403


def test_a_slow_drip_sends_the_picture_a_little_at_a_time(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "slow")
    fake_cdn.fault(url, "slow")
    with http.stream("GET", url) as answer:
        chunks = answer.iter_raw()
        first, second = next(chunks), next(chunks)
        assert int(answer.headers["content-length"]) > 100_000
    assert first.startswith(b"\xff\xd8") and len(first) + len(second) < 4096  # 256 bytes a drip, unless reads lag


def test_a_hanging_path_never_answers(fake_cdn: FakeCdn) -> None:
    url = fake_cdn.mint("instagram", "hang")
    fake_cdn.fault(url, "hang")
    with httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as client, pytest.raises(httpx.ReadTimeout):
        client.get(url)
    assert [hit.status for hit in fake_cdn.log] == [0]


def test_a_truncated_body_ends_before_its_content_length(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "cut")
    fake_cdn.fault(url, "truncated")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(url)
    assert http.get(fake_cdn.mint("instagram", "after the cut")).status_code == 200


def test_image_bytes_labelled_html_are_still_a_picture(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("facebook", "mislabelled")
    fake_cdn.fault(url, "html_type")
    answer = http.get(url)
    assert answer.headers["content-type"].startswith("text/html") and decoded(answer).format == "JPEG"


def test_html_labelled_as_a_jpeg_is_no_picture(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "login wall")
    fake_cdn.fault(url, "html_body")
    answer = http.get(url)
    assert answer.headers["content-type"] == "image/jpeg" and answer.content.startswith(b"<!DOCTYPE html>")
    with pytest.raises(UnidentifiedImageError):
        decoded(answer)


def test_bytes_that_are_no_image_are_labelled_as_a_jpeg(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("tiktok", "noise")
    fake_cdn.fault(url, "not_image")
    answer = http.get(url)
    assert answer.headers["content-type"] == "image/jpeg"
    with pytest.raises(UnidentifiedImageError):
        decoded(answer)


def test_a_huge_picture_is_8000_pixels_square(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "huge")
    fake_cdn.fault(url, "huge")
    assert decoded(http.get(url)).size == (8000, 8000)


def test_a_decompression_bomb_is_tiny_and_declares_a_billion_pixels(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "bomb")
    fake_cdn.fault(url, "bomb")
    answer = http.get(url)
    assert len(answer.content) < 10_000
    with pytest.raises(Image.DecompressionBombError):
        decoded(answer)


def test_an_endless_body_streams_without_a_length(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "endless")
    fake_cdn.fault(url, "endless")
    received = 0
    with http.stream("GET", url) as answer:
        assert "content-length" not in answer.headers
        for chunk in answer.iter_raw():
            received += len(chunk)
            if received > 5_000_000:
                break
    assert 5_000_000 < received < ENDLESS_BYTES
    assert http.get(fake_cdn.mint("instagram", "after the flood")).status_code == 200


def test_a_redirect_loop_never_reaches_a_picture(fake_cdn: FakeCdn, http: httpx.Client) -> None:
    url = fake_cdn.mint("instagram", "loop")
    fake_cdn.fault(url, "redirect_loop")
    with pytest.raises(httpx.TooManyRedirects):
        http.get(url, follow_redirects=True)
    assert fake_cdn.hits(url) > 10


def test_an_unknown_fault_is_refused(fake_cdn: FakeCdn) -> None:
    with pytest.raises(ValueError):
        fake_cdn.fault("/v/x.jpg", "gremlins")


# --- the fake Apify's items point at the CDN ----------------------------------------------


def urls_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [url for child in value.values() for url in urls_in(child)]
    if isinstance(value, list):
        return [url for child in value for url in urls_in(child)]
    return [value] if isinstance(value, str) and value.startswith("http") else []


def cdn_urls_in(value: Any, base_url: str) -> list[str]:
    return [url for url in urls_in(value) if url.startswith(base_url)]


@pytest.mark.parametrize("platform", ["instagram", "tiktok", "google_reviews", "twitter", "youtube", "facebook"])
def test_generated_items_show_no_platform_cdn_address(fake_cdn: FakeCdn, fake_apify: FakeApify, platform: str) -> None:
    items = fake_apify.make_items(platform, "luna.cafe", 6)
    hosts = {urlsplit(url).hostname or "" for url in urls_in(items)}
    assert not {host for host in hosts if host.endswith(PLATFORM_CDN_HOSTS)}
    assert cdn_urls_in(items, fake_cdn.base_url)


@pytest.mark.parametrize("platform", ["instagram", "tiktok", "facebook"])
def test_every_picture_of_a_generated_item_is_served(fake_cdn: FakeCdn, fake_apify: FakeApify, http: httpx.Client,
                                                      platform: str) -> None:
    urls = cdn_urls_in(fake_apify.make_items(platform, "luna.cafe", 3), fake_cdn.base_url)
    answers = [http.get(url) for url in urls]
    assert all(answer.status_code == 200 for answer in answers)
    assert {answer.headers["content-type"] for answer in answers} <= {"image/jpeg", "video/mp4"}


def test_posts_have_pictures_of_their_own_and_an_account_one_avatar(fake_cdn: FakeCdn, fake_apify: FakeApify) -> None:
    posts = fake_apify.make_items("instagram", "luna.cafe", 4) + fake_apify.make_items("tiktok", "luna.cafe", 4)
    instagram, tiktok = posts[:4], posts[4:]
    assert len({urlsplit(post["displayUrl"]).path for post in instagram}) == 4
    assert len({urlsplit(post["authorMeta"]["avatar"]).path for post in tiktok}) == 1
    assert size_of(urlsplit(tiktok[0]["authorMeta"]["avatar"]).path) == AVATAR_SIZE


def test_the_same_post_gets_the_same_picture_on_every_run(fake_cdn: FakeCdn, fake_apify: FakeApify) -> None:
    paths = [urlsplit(fake_apify.make_items("instagram", "luna.cafe", 1)[0]["displayUrl"]).path for _ in range(2)]
    assert paths[0] == paths[1]


def test_generated_addresses_expire_hours_after_the_world_clock(fake_cdn: FakeCdn, fake_apify: FakeApify,
                                                              http: httpx.Client) -> None:
    url = fake_apify.make_items("instagram", "luna.cafe", 1)[0]["displayUrl"]
    fake_cdn.advance(5 * 3600)
    assert http.get(url).status_code == 200
    fake_cdn.advance(2 * 3600)
    assert http.get(url).status_code == 403


def test_without_a_cdn_items_keep_the_platform_addresses(fake_apify: FakeApify) -> None:
    [post] = fake_apify.make_items("instagram", "luna.cafe", 1)
    assert urlsplit(post["displayUrl"]).hostname.endswith("cdninstagram.com")
