"""How fast one core turns downloaded photos into stored renditions: `images.encode` throughput.

    .venv/bin/python bench/media_ingest.py [--images 40] [--rounds 3]

Encodes `--images` different photo-like 1080x1350 JPEGs (made with Pillow, ~250 KB each, like
Instagram originals) in this one process, `--rounds` times, and prints the best round's images
per second, milliseconds per image, and the bytes stored per image by format and width. The
target is 20 images a second per core. `bench/media.py` imports `measure`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the picture maker lives under tests/

from flowkick.media.images import encode  # noqa: E402
from tests.support.pictures import photo  # noqa: E402


@dataclass(frozen=True)
class Ingest:
    """One measurement: throughput on one core and what each image costs in storage."""

    images_per_second: float
    ms_per_image: float
    input_bytes_per_image: float
    stored_bytes_per_image: float
    bytes_by_rendition: dict[str, float]


def measure(images: int = 40, rounds: int = 3, width: int = 1080, height: int = 1350) -> Ingest:
    """Encodes `images` photos `rounds` times in this process and keeps the fastest round."""
    photos = [photo(width, height, seed=seed) for seed in range(images)]
    encode(photos[0])  # loads the codecs before the clock starts
    best = min(_round(photos) for _ in range(rounds))
    sizes: Counter[tuple[str, int]] = Counter()
    for rendition in (r for data in photos for r in encode(data).renditions):
        sizes[rendition.format, rendition.width] += len(rendition.data)
    return Ingest(images_per_second=images / best, ms_per_image=best / images * 1000,
                  input_bytes_per_image=sum(map(len, photos)) / images,
                  stored_bytes_per_image=sum(sizes.values()) / images,
                  bytes_by_rendition={f"{name} {width}": total / images for (name, width), total in sorted(sizes.items())})


def _round(photos: list[bytes]) -> float:
    started = time.process_time()
    for data in photos:
        encode(data)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.images, args.rounds)
    print(f"ingest: {result.images_per_second:.1f} images/s on one core "
          f"({result.ms_per_image:.1f} ms each, target 20/s), 1080x1350 photo-like JPEGs "
          f"of {result.input_bytes_per_image / 1000:.0f} KB")
    print(f"stored: {result.stored_bytes_per_image / 1000:.1f} KB per image: " +
          ", ".join(f"{name} {size / 1000:.1f} KB" for name, size in result.bytes_by_rendition.items()))


if __name__ == "__main__":
    main()
