"""Makes the demo's sample photos: each illustration in scripts/demo_illustrations rendered
by Chromium, with film grain so it encodes like a photograph, as the JPEG the demo links to.

The demo goes through the same media pipeline as real feeds (download, check, re-encode,
store), so it needs raster files that look and weigh like a café's photos. Run it once
after changing an illustration: `.venv/bin/python -m scripts.demo_photos`.
"""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

from PIL import Image, ImageFilter
from playwright.sync_api import sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
ILLUSTRATIONS = ROOT / "scripts" / "demo_illustrations"
DEMO = ROOT / "backend" / "flowkick" / "static" / "demo"
SIZES = {"avatar": 320}
PHOTO_SIZE = 1080


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for svg in sorted(ILLUSTRATIONS.glob("*.svg")):
            size = SIZES.get(svg.stem, PHOTO_SIZE)
            page.set_viewport_size({"width": size, "height": size})
            page.set_content(f'<body style="margin:0"><img src="data:image/svg+xml;base64,{_b64(svg)}" '
                             f'width="{size}" height="{size}" style="display:block"></body>')
            png = page.screenshot(clip={"x": 0, "y": 0, "width": size, "height": size})
            photo = _grain(Image.open(io.BytesIO(png)).convert("RGB"), seed=svg.stem)
            photo.save(DEMO / f"{svg.stem}.jpg", "JPEG", quality=82, optimize=True, progressive=True)
            print(svg.stem, (DEMO / f"{svg.stem}.jpg").stat().st_size)
        browser.close()


def _grain(image: Image.Image, seed: str) -> Image.Image:
    rng = random.Random(seed)
    noise = Image.effect_noise(image.size, 18).convert("RGB")
    blurred = image.filter(ImageFilter.GaussianBlur(0.6))
    return Image.blend(blurred, noise, 0.06 + rng.random() * 0.02)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


if __name__ == "__main__":
    main()
