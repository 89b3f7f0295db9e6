"""Check and re-encode one downloaded picture: bytes in, upright AVIF and WebP widths out.

`encode` is synchronous and CPU-bound; the media worker runs it in a thread or process pool.
It trusts nothing it is given: the bytes are decoded for real (a header that parses is not a
picture), only JPEG, PNG, WebP, GIF (first frame), AVIF and HEIC (when a Pillow plugin for it
is installed) are opened, so no other Pillow plugin (EPS, which runs Ghostscript, among them)
ever sees platform bytes, and the pixel count declared in the header is checked before any
pixel is decoded. Every failure is a `BadImage` with a stable `reason`:

    not_an_image      no accepted format recognises the bytes (an HTML error page, say)
    unsupported       a picture in a format we do not decode (HEIC without a plugin, TIFF, SVG...)
    too_many_pixels   the header declares more than `max_pixels` (a decompression bomb)
    truncated         the data ends before the picture does
    corrupt           the decoder refused the data for another reason

What leaves is clean: EXIF orientation applied, colours converted to sRGB when an ICC profile
says they are something else, and every piece of metadata (EXIF with GPS, ICC, XMP, comments,
text chunks) gone, because each rendition is encoded from pixels alone. Pictures with real
transparency stay RGBA; all others become RGB.

Speed, measured with `bench/media_ingest.py` on one core of this machine for photo-like
1080x1350 JPEGs (~250 KB, like Instagram originals): about 60 ms an image, 16-17 images a
second, storing ~110 KB. Per image: decoding 3 ms; resizing 9 ms (HAMMING, each width from the
next larger one: under half the cost of LANCZOS, antialiased like it, a little softer);
WebP at `method` 0 about 1, 2, 7 and 20 ms at 160, 320, 640 and 1080 px; AVIF at `speed` 10
about 2, 4, 12 and (not done) 40-50 ms. So widths above `AVIF_MAX_WIDTH` (640) are WebP only:
1080 px is shown only in a lightbox or a one-column layout, every browser that decodes AVIF
decodes WebP, and with AVIF at 1080 an image costs ~110 ms. That still misses the 20 images a
second target (~50 ms): what is left is AVIF itself, ~19 ms for 160 to 640 px (WebP only:
~36 ms, 27 a second). Stopping AVIF below 640 px would hit the target but leave the tiles of a
phone's grid (390 device pixels and more) with a blurry 320 px AVIF, so it stays; set
`AVIF_MAX_WIDTH` to trade. At speed 10, AVIF q50 and WebP q78 come out about the same size
and PSNR (640 px: 11-12 KB, ~40 dB); slower AVIF speeds or WebP methods bought 10-20 % fewer
bytes for two to ten times the time. A JPEG much wider than the largest width is decoded at
1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), so a 12-megapixel review photo costs little
more than a 1080 px one.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from math import ceil

from PIL import ExifTags, Image, ImageCms, ImageOps, ImageStat, UnidentifiedImageError

WIDTHS = (160, 320, 640, 1080)
AVIF_MAX_WIDTH = 640
RESAMPLE = Image.Resampling.HAMMING
AVIF_OPTIONS = {"quality": 50, "speed": 10, "max_threads": 1}
WEBP_OPTIONS = {"quality": 78, "method": 0}
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp"}
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the picture a quarter
OTHER_PICTURES = (b"BM", b"II*\x00", b"MM\x00*", b"8BPS", b"\x00\x00\x01\x00", b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
# Pillow's bomb check raises the error, or the warning when pytest turns warnings into errors;
# its decoders raise the rest for data they cannot read.
DECODE_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, SyntaxError, EOFError,
                 ValueError, IndexError)


def _accepted_formats() -> tuple[str, ...]:
    """The formats we open, HEIF only when a plugin (pillow-heif) has registered it."""
    Image.init()
    return tuple(name for name in ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF") if name in Image.OPEN)


ACCEPTED_FORMATS = _accepted_formats()


class BadImage(Exception):
    """A downloaded file that is not a picture we can show; `reason` is a stable short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message)  # both in args, so it survives pickling out of a process pool
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.args[1]}"


@dataclass(frozen=True)
class Rendition:
    """One stored file: a width of the picture in one format."""

    width: int
    height: int
    format: str
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class Encoded:
    """A checked picture: its content address, upright size, placeholder colour and files."""

    digest: str
    width: int
    height: int
    placeholder: str
    renditions: tuple[Rendition, ...]


def encode(data: bytes, widths: tuple[int, ...] = WIDTHS, max_pixels: int = 40_000_000) -> Encoded:
    """Checks `data` is a picture and encodes it into `widths` (never wider than it is).

    `digest` addresses the input bytes: calling `digest(data)` first finds a download that is
    already stored without decoding it.
    `max_pixels` can only lower Pillow's own bomb limit (`Image.MAX_IMAGE_PIXELS`), which
    `Image.open` applies first. Raises `BadImage`.
    """
    picture = _open(data)
    width, height = _upright_size(picture)
    if width * height > max_pixels:
        raise BadImage("too_many_pixels", f"{width}x{height} is more than {max_pixels} pixels")
    sizes = rendition_widths(width, widths)
    _decode_small(picture, sizes[-1] / width)
    pixels = _clean(_load(picture))
    scaled = _scaled(pixels, sizes, height / width)
    return Encoded(digest=digest(data), width=width, height=height, placeholder=placeholder(scaled[0]),
                   renditions=tuple(rendition for image in scaled for rendition in _renditions(image)))


def digest(data: bytes) -> str:
    """The content address of a download: 32 hex characters of BLAKE2b."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def rendition_widths(width: int, widths: tuple[int, ...] = WIDTHS) -> list[int]:
    """The widths stored for a picture `width` pixels wide, smallest first; never an upscale."""
    kept = {wanted for wanted in widths if wanted <= width}
    if width < max(widths):
        kept.add(width)
    return sorted(kept)


def placeholder(image: Image.Image) -> str:
    """The average colour of the visible pixels as `#rrggbb`: the tile's background until it loads."""
    mask = None
    if image.mode == "RGBA":
        mask = image.getchannel("A").point(lambda alpha: 255 if alpha >= 128 else 0)
        mask = mask if mask.getbbox() else None
    red, green, blue = (round(value) for value in ImageStat.Stat(image.convert("RGB"), mask).mean)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _open(data: bytes) -> Image.Image:
    """Parses the header with the accepted formats' plugins only; no pixel is decoded yet."""
    try:
        return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        if _other_picture(data):
            raise BadImage("unsupported", "a picture format Flowkick does not decode") from None
        raise BadImage("not_an_image", "no picture format recognises these bytes") from None
    except DECODE_ERRORS as error:
        raise _refusal(error) from None


def _other_picture(data: bytes) -> bool:
    """Whether the bytes start like a picture format we do not open (so not 'not an image')."""
    head = data[:512]
    return (head.startswith(OTHER_PICTURES) or b"<svg" in head.lower()
            or (head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS))


def _upright_size(picture: Image.Image) -> tuple[int, int]:
    """The size the picture is shown at: EXIF orientations 5 to 8 swap width and height."""
    width, height = picture.size
    return (height, width) if _orientation(picture) in SWAPPED_ORIENTATIONS else (width, height)


def _orientation(picture: Image.Image) -> int:
    try:
        return int(picture.getexif().get(ExifTags.Base.Orientation, 1))
    except (ValueError, TypeError, SyntaxError, OSError):  # a broken EXIF block: shown as stored
        return 1


def _decode_small(picture: Image.Image, scale: float) -> None:
    """Lets a JPEG decode straight to 1/2, 1/4 or 1/8 of its size when only a smaller one is kept."""
    if picture.format == "JPEG" and scale < 0.5:
        width, height = picture.size
        picture.draft(None, (ceil(width * scale), ceil(height * scale)))


def _load(picture: Image.Image) -> Image.Image:
    """Decodes every pixel of the first frame, which is what finds truncated and broken files."""
    try:
        picture.load()
    except DECODE_ERRORS as error:
        raise _refusal(error) from None
    return picture


def _refusal(error: Exception) -> BadImage:
    """The `BadImage` for what Pillow raised while parsing or decoding."""
    message = str(error) or type(error).__name__
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return BadImage("too_many_pixels", message)
    truncated = isinstance(error, EOFError) or "truncated" in message or "end of file" in message.lower()
    return BadImage("truncated" if truncated else "corrupt", message)


def _clean(picture: Image.Image) -> Image.Image:
    """Upright, sRGB, RGB or RGBA, and carrying no metadata at all."""
    ImageOps.exif_transpose(picture, in_place=True)
    pixels = _to_srgb(_eight_bit(picture), "RGBA" if _may_be_transparent(picture) else "RGB")
    if pixels.mode == "RGBA" and pixels.getchannel("A").getextrema()[0] == 255:
        pixels = pixels.convert("RGB")
    pixels.info.clear()
    return pixels


def _may_be_transparent(image: Image.Image) -> bool:
    return image.mode in ALPHA_MODES or "transparency" in image.info


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale scaled to 8 bits; Pillow's convert would clip it to white."""
    if image.mode not in SIXTEEN_BIT_MODES:
        return image
    scaled = image.convert("I").point(lambda value: value / 257).convert("L")
    scaled.info = dict(image.info)
    return scaled


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """`image` in `mode`, its colours moved to sRGB when its ICC profile describes another space.

    A profile that cannot be read is dropped: the picture is then shown as if it were sRGB.
    The sRGB profile is made per call: LittleCMS profiles are not to be shared across threads.
    """
    icc = image.info.get("icc_profile")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if "srgb" not in ImageCms.getProfileDescription(profile).lower():
                srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
                converted = ImageCms.profileToProfile(image, profile, srgb, outputMode=mode)
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return image.convert(mode) if image.mode != mode else image


def _scaled(image: Image.Image, sizes: list[int], ratio: float) -> list[Image.Image]:
    """`image` at each width in `sizes` (smallest first), each made from the next larger one.

    Resizing 640 from 1080 and 320 from 640 costs a third of resizing each from the original,
    and a filter with antialiasing loses nothing visible doing it.
    """
    scaled: list[Image.Image] = []
    source = image
    for width in reversed(sizes):
        size = (width, max(1, round(width * ratio)))
        source = source if source.size == size else source.resize(size, RESAMPLE)
        scaled.append(source)
    return scaled[::-1]


def _renditions(image: Image.Image) -> list[Rendition]:
    """`image` as AVIF (up to AVIF_MAX_WIDTH) and WebP."""
    formats = ("avif", "webp") if image.width <= AVIF_MAX_WIDTH else ("webp",)
    return [Rendition(image.width, image.height, name, _save(image, name)) for name in formats]


def _save(image: Image.Image, name: str) -> bytes:
    output = io.BytesIO()
    image.save(output, name.upper(), **(AVIF_OPTIONS if name == "avif" else WEBP_OPTIONS))
    return output.getvalue()
