"""The demo's pictures, fetched from the package instead of the web.

Demo feeds link to the sample photos shipped in `static/demo/`. Reading them here (rather
than over HTTP from this very server) keeps demo mode offline and start-up order free,
while everything after the fetch (checking, re-encoding, storing, resolving) is the same
pipeline real feeds go through. Every other address goes to the web downloader: platform
parsers only ever produce absolute http(s) addresses, so no feed reaches the package.
"""

from __future__ import annotations

import re
from importlib.resources import files

from flowkick.media.download import DownloadError
from flowkick.media.worker import Fetcher

PREFIX = "/static/demo/"
_NAME_RE = re.compile(r"[a-z0-9_-]{1,64}\.jpg")


class DemoPictures:
    def __init__(self, web: Fetcher) -> None:
        self.web = web

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        if not url.startswith(PREFIX):
            return await self.web.fetch(url, max_bytes=max_bytes)
        name = url.removeprefix(PREFIX)
        if not _NAME_RE.fullmatch(name):
            raise DownloadError("not_a_demo_picture", f"{url} is not one of the sample photos")
        path = files("flowkick").joinpath("static", "demo", name)
        if not path.is_file():
            raise DownloadError("http_404", f"{url} is not in the package")
        return path.read_bytes()

    async def aclose(self) -> None:
        await self.web.aclose()
