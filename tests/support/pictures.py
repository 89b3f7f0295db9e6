"""Pictures made with Pillow for the media tests and bench: photo-like, hostile or broken.

Flat colours compress a thousand to one and encode in no time, so `photo` paints what a
camera gives an encoder: gradients, soft shapes and grain, seeded so every run sees the same
bytes (a 1080x1350 one is a ~250 KB JPEG, like an Instagram original).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

from PIL import Image, ImageDraw, ImageFilter


def photo(width: int = 1080, height: int = 1350, *, seed: int = 0, fmt: str = "JPEG", **options: Any) -> bytes:
    """A photo-like picture in `fmt` (JPEG at quality 88 unless `options` say otherwise)."""
    return save(photo_image(width, height, seed=seed), fmt, **options)


def photo_image(width: int, height: int, *, seed: int = 0) -> Image.Image:
    rng = random.Random(seed)
    channels = [Image.linear_gradient("L").rotate(rng.randrange(360)).resize((width, height)) for _ in range(3)]
    picture = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(picture)
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(4, max(5, width // 4))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    return Image.blend(picture.filter(ImageFilter.GaussianBlur(3)), grain, 0.05)


def save(picture: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    output = io.BytesIO()
    picture.save(output, fmt, **({"quality": 88} if fmt == "JPEG" and not options else options))
    return output.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares `width` x `height` pixels: a decompression bomb's header."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + \
        _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def display_p3_profile() -> bytes:
    """A Display P3 ICC profile (matrix and gamma 2.2 curves), as iPhone photos carry one.

    Pillow can only make sRGB, Lab and XYZ profiles, so this one is written out: header, tag
    table, then the tags (D50 white point, the P3 primaries adapted to D50, the curves).
    """
    colorants = {b"rXYZ": (0.515121, 0.241196, -0.001053), b"gXYZ": (0.291977, 0.692245, 0.041885),
                 b"bXYZ": (0.157104, 0.066574, 0.784073), b"wtpt": (0.964203, 1.0, 0.824905)}
    name = b"Display P3 (Flowkick tests)"
    tags = {b"desc": b"desc" + bytes(4) + struct.pack(">I", len(name) + 1) + name + bytes(1 + 8 + 3 + 67),
            b"cprt": b"text" + bytes(4) + b"No copyright\x00",
            **{sig: b"XYZ " + bytes(4) + b"".join(struct.pack(">i", round(v * 65536)) for v in xyz)
               for sig, xyz in colorants.items()},
            **{sig: b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) for sig in (b"rTRC", b"gTRC", b"bTRC")}}
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags.items():
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    d50 = b"".join(struct.pack(">i", round(v * 65536)) for v in colorants[b"wtpt"])
    header = (struct.pack(">I", size) + bytes(4) + bytes((2, 0x10, 0, 0)) + b"mntrRGB XYZ " + bytes(12) + b"acsp" +
              bytes(4 + 4 + 4 + 4 + 8 + 4) + d50 + bytes(4 + 16 + 28))
    return header + table + body
