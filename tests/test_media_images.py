"""Checking and re-encoding one picture: sizes, orientation, metadata, placeholder, refusals."""

from __future__ import annotations

import io
import pickle

import pytest
from PIL import ExifTags, Image, ImageCms

from flowkick.media.images import WIDTHS, BadImage, Encoded, encode, rendition_widths
from tests.support.pictures import display_p3_profile, photo, photo_image, png_bomb, save

CAMERA = "FlowkickCam"
SECRETS = (CAMERA.encode(), b"FlowkickXMP", b"a private comment")
METADATA_KEYS = {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "dpi", "Description"}


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def refusal(data: bytes, **options: int) -> str:
    with pytest.raises(BadImage) as caught:
        encode(data, **options)
    return caught.value.reason


def halves(size: tuple[int, int], first: str, second: str) -> Image.Image:
    """A picture whose left half is `first` and right half `second`."""
    picture = Image.new("RGB", size, second)
    picture.paste(first, (0, 0, size[0] // 2, size[1]))
    return picture


def camera_jpeg(orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF with camera and GPS, XMP, an ICC profile, a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (52.0, 31.0, 12.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return save(halves((400, 300), "red", "blue"), "JPEG", quality=90, exif=exif, icc_profile=icc,
                comment=SECRETS[2], xmp=b"<x:xmpmeta>FlowkickXMP</x:xmpmeta>")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


@pytest.fixture(scope="module")
def instagram() -> Encoded:
    return encode(photo(1080, 1350))


# --- sizes and formats ------------------------------------------------------------------


def test_an_instagram_photo_gets_every_width(instagram: Encoded) -> None:
    assert (instagram.width, instagram.height) == (1080, 1350)
    assert sorted({r.width for r in instagram.renditions}) == list(WIDTHS)


@pytest.mark.parametrize(("width", "expected"), [(2000, [160, 320, 640, 1080]), (1080, [160, 320, 640, 1080]),
                                                 (800, [160, 320, 640, 800]), (320, [160, 320]), (200, [160, 200]),
                                                 (160, [160]), (100, [100])])
def test_widths_are_never_wider_than_the_original(width: int, expected: list[int]) -> None:
    assert rendition_widths(width) == expected


def test_a_picture_narrower_than_the_largest_width_keeps_its_own_width() -> None:
    encoded = encode(photo(800, 600))
    assert sorted({r.width for r in encoded.renditions}) == [160, 320, 640, 800]
    assert max(r.height for r in encoded.renditions) == 600


def test_a_small_picture_gives_one_width_only() -> None:
    encoded = encode(photo(100, 100))
    assert {(r.width, r.height) for r in encoded.renditions} == {(100, 100)}
    assert sorted(r.format for r in encoded.renditions) == ["avif", "webp"]


def test_every_rendition_decodes_at_its_stated_size_and_format(instagram: Encoded) -> None:
    for rendition in instagram.renditions:
        picture = opened(rendition.data)
        assert picture.format == rendition.format.upper()
        assert picture.size == (rendition.width, rendition.height)
        assert Image.MIME[picture.format] == rendition.content_type


def test_each_width_keeps_the_aspect_ratio(instagram: Encoded) -> None:
    assert all(abs(r.height - r.width * 1350 / 1080) <= 1 for r in instagram.renditions)


def test_tile_widths_come_in_avif_and_webp_and_larger_ones_in_webp(instagram: Encoded) -> None:
    formats = {width: sorted(r.format for r in instagram.renditions if r.width == width) for width in WIDTHS}
    assert formats == {160: ["avif", "webp"], 320: ["avif", "webp"], 640: ["avif", "webp"], 1080: ["webp"]}


def test_a_large_jpeg_is_scaled_down_to_the_largest_width() -> None:
    encoded = encode(photo(2400, 3000))
    assert (encoded.width, encoded.height) == (2400, 3000)
    assert {(r.width, r.height) for r in encoded.renditions if r.width > 640} == {(1080, 1350)}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "AVIF"])
def test_each_accepted_format_is_read(fmt: str) -> None:
    assert encode(photo(300, 200, fmt=fmt)).width == 300


# --- orientation, metadata, colour ------------------------------------------------------


def test_exif_orientation_turns_a_landscape_file_into_a_portrait_picture() -> None:
    encoded = encode(camera_jpeg(orientation=6))  # stored 400x300, shown turned a quarter clockwise
    assert (encoded.width, encoded.height) == (300, 400)
    picture = opened(next(r.data for r in encoded.renditions if r.width == 300)).convert("RGB")
    assert picture.size == (300, 400)
    top, bottom = picture.getpixel((150, 50)), picture.getpixel((150, 350))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # the stored left (red) is now on top


def test_no_metadata_survives_in_any_rendition() -> None:
    original = camera_jpeg()
    assert all(secret in original for secret in SECRETS)
    for rendition in encode(original).renditions:
        picture = opened(rendition.data)
        assert not picture.getexif()
        assert not picture.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not METADATA_KEYS & picture.info.keys()
        assert not any(secret in rendition.data for secret in SECRETS)


def test_the_placeholder_of_a_red_picture_is_reddish() -> None:
    red = Image.blend(Image.new("RGB", (300, 300), (210, 30, 40)), photo_image(300, 300), 0.15)
    red_, green, blue = rgb(encode(save(red)).placeholder)
    assert red_ > 150 and green < 90 and blue < 90


def test_the_placeholder_is_a_css_hex_colour(instagram: Encoded) -> None:
    assert len(instagram.placeholder) == 7 and instagram.placeholder.startswith("#")
    int(instagram.placeholder[1:], 16)


def test_a_display_p3_picture_is_converted_to_srgb() -> None:
    green = Image.new("RGB", (64, 64), (60, 170, 90))
    assert encode(save(green, "PNG")).placeholder == "#3caa5a"
    red, green_, _ = rgb(encode(save(green, "PNG", icc_profile=display_p3_profile())).placeholder)
    assert red < 30 and green_ > 160  # P3's green is greener than sRGB can show: the red is gone


def test_an_unreadable_colour_profile_is_dropped() -> None:
    assert encode(save(Image.new("RGB", (64, 64), (60, 170, 90)), "PNG", icc_profile=b"junk")).placeholder == "#3caa5a"


def test_real_transparency_is_kept() -> None:
    picture = Image.new("RGBA", (200, 200), (0, 128, 0, 255))
    picture.paste((0, 0, 0, 0), (0, 0, 100, 200))
    encoded = encode(save(picture, "PNG"))
    assert {opened(r.data).mode for r in encoded.renditions} == {"RGBA"}
    assert rgb(encoded.placeholder) == (0, 128, 0)  # the visible pixels' colour, not grey from the hole


def test_an_opaque_alpha_channel_is_dropped() -> None:
    encoded = encode(save(photo_image(200, 200).convert("RGBA"), "PNG"))
    assert {opened(r.data).mode for r in encoded.renditions} == {"RGB"}


def test_a_gif_shows_its_first_frame() -> None:
    frames = [Image.new("RGB", (120, 120), colour) for colour in ("red", "blue")]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert rgb(encode(data).placeholder)[0] > 200


def test_sixteen_bit_grey_keeps_its_brightness() -> None:
    grey = Image.new("I;16", (64, 64), 32768)
    assert abs(rgb(encode(save(grey, "PNG")).placeholder)[0] - 128) <= 2


# --- content address --------------------------------------------------------------------


def test_the_same_bytes_give_the_same_digest(instagram: Encoded) -> None:
    again = encode(photo(1080, 1350))
    assert again.digest == instagram.digest and len(again.digest) == 32
    int(again.digest, 16)


def test_other_bytes_give_another_digest(instagram: Encoded) -> None:
    assert encode(photo(1080, 1350, seed=1)).digest != instagram.digest


# --- refusals ---------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    assert refusal(png_bomb(30_000, 30_000)) == "too_many_pixels"


@pytest.mark.parametrize("side", [7_000, 10_000])  # above our limit; above Pillow's own warning limit
def test_a_picture_above_the_pixel_limit_is_refused(side: int) -> None:
    assert refusal(png_bomb(side, side)) == "too_many_pixels"


def test_the_pixel_limit_is_per_call() -> None:
    data = photo(400, 300)
    assert refusal(data, max_pixels=100_000) == "too_many_pixels"
    assert encode(data).width == 400


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_a_truncated_picture_is_refused_as_truncated(fmt: str) -> None:
    data = photo(300, 200, fmt=fmt)
    assert refusal(data[: len(data) // 2]) == "truncated"


@pytest.mark.parametrize("data", [b"", b"<!doctype html><title>Not found</title>", b"\x00" * 2048,
                                  b'{"error": "expired"}'], ids=["empty", "html", "zeros", "json"])
def test_bytes_that_are_no_picture_are_refused(data: bytes) -> None:
    assert refusal(data) == "not_an_image"


@pytest.mark.parametrize("fmt", ["TIFF", "BMP"])
def test_a_picture_format_we_do_not_decode_is_unsupported(fmt: str) -> None:
    assert refusal(photo(64, 64, fmt=fmt)) == "unsupported"


def test_an_svg_is_unsupported() -> None:
    assert refusal(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') == "unsupported"


def test_a_refusal_survives_the_way_back_from_a_process_pool() -> None:
    with pytest.raises(BadImage) as caught:
        encode(b"<html>")
    returned = pickle.loads(pickle.dumps(caught.value))
    assert (returned.reason, str(returned)) == ("not_an_image", str(caught.value))
