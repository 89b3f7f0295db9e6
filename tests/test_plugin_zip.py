"""`GET /wordpress-plugin.zip` serves the plugin folder as WordPress's uploader wants it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import flowkick
from flowkick.routes import plugin

PLUGIN_DIR = plugin.PLUGIN_ROOT / plugin.PLUGIN_SLUG
pytestmark = pytest.mark.anyio


async def _get(headers: dict[str, str] | None = None) -> httpx.Response:
    """One request to an app that has only the plugin routes."""
    transport = httpx.ASGITransport(app=Starlette(routes=plugin.routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://flowkick.test") as client:
        return await client.get("/wordpress-plugin.zip", headers=headers)


@pytest.fixture
async def archive() -> AsyncIterator[zipfile.ZipFile]:
    with zipfile.ZipFile(io.BytesIO((await _get()).content)) as opened:
        yield opened


def _read(archive: zipfile.ZipFile, name: str) -> str:
    return archive.read(f"flowkick/{name}").decode("utf-8")


async def test_zip_is_served_as_an_attachment() -> None:
    response = await _get()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_zip_holds_the_plugin_in_one_flowkick_folder(archive: zipfile.ZipFile) -> None:
    names = archive.namelist()
    assert {"flowkick/flowkick.php", "flowkick/uninstall.php", "flowkick/readme.txt",
            "flowkick/blocks/feed/block.json"} <= set(names)
    assert all(name.startswith("flowkick/") for name in names)


async def test_zip_holds_every_file_of_the_plugin_folder(archive: zipfile.ZipFile) -> None:
    on_disk = {f"flowkick/{p.relative_to(PLUGIN_DIR).as_posix()}" for p in PLUGIN_DIR.rglob("*") if p.is_file()}
    assert set(archive.namelist()) == on_disk


async def test_plugin_header_version_is_the_package_version(archive: zipfile.ZipFile) -> None:
    assert re.search(r"^ \* Version:\s+(\S+)$", _read(archive, "flowkick.php"), re.M).group(1) == flowkick.__version__


async def test_version_constant_readme_and_block_agree_with_the_package(archive: zipfile.ZipFile) -> None:
    constant = re.search(r"define\( 'FLOWKICK_VERSION', '([^']+)' \)", _read(archive, "flowkick.php")).group(1)
    stable_tag = re.search(r"^Stable tag: (\S+)$", _read(archive, "readme.txt"), re.M).group(1)
    block = json.loads(_read(archive, "blocks/feed/block.json"))["version"]
    assert [constant, stable_tag, block] == [flowkick.__version__] * 3


def test_same_tree_gives_the_same_bytes() -> None:
    assert plugin.build_zip(PLUGIN_DIR, flowkick.__version__) == plugin.build_zip(PLUGIN_DIR, flowkick.__version__)


async def test_unchanged_zip_answers_304_to_its_etag() -> None:
    etag = (await _get()).headers["etag"]
    assert (await _get({"If-None-Match": etag})).status_code == 304


def test_plugin_from_another_release_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flowkick.php").write_text("<?php\n/**\n * Plugin Name: Flowkick\n * Version: 9.9.9\n */\n")
    with pytest.raises(plugin.PluginVersionMismatch):
        plugin.build_zip(tmp_path, flowkick.__version__)
