"""`GET /wordpress-plugin.zip`: the WordPress plugin, zipped from the source tree.

The zip is built in memory from `wordpress-plugin/flowkick/` the first time it is asked
for and kept for the life of the process. Its entries have a fixed timestamp, so the
same tree always gives the same bytes and the same ETag. The plugin header's `Version:`
must equal the package version: a server never hands out a plugin from another release.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import flowkick
from flowkick.errors import FlowkickError, NotFound

PLUGIN_ROOT = Path(flowkick.__file__).resolve().parents[2] / "wordpress-plugin"
PLUGIN_SLUG = "flowkick"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_VERSION_RE = re.compile(r"^\s*\*\s*Version:\s*(\S+)\s*$", re.MULTILINE)


class PluginVersionMismatch(FlowkickError):
    """The plugin in the tree belongs to another release than the running package."""

    code = "plugin_version_mismatch"


@dataclass(frozen=True)
class PluginZip:
    content: bytes
    etag: str


def header_version(plugin_dir: Path) -> str | None:
    """The `Version:` in the bootstrap file's plugin header, or None when it has none."""
    match = _VERSION_RE.search((plugin_dir / f"{PLUGIN_SLUG}.php").read_text(encoding="utf-8"))
    return match.group(1) if match else None


def build_zip(plugin_dir: Path, version: str) -> PluginZip:
    """The plugin folder as a zip with `flowkick/` at its top, as WordPress's uploader wants."""
    found = header_version(plugin_dir)
    if found != version:
        raise PluginVersionMismatch(f"plugin header says {found}, the package is {version}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _plugin_files(plugin_dir):
            entry = zipfile.ZipInfo(f"{PLUGIN_SLUG}/{path.relative_to(plugin_dir).as_posix()}", _FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    content = buffer.getvalue()
    return PluginZip(content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')


def _plugin_files(plugin_dir: Path) -> list[Path]:
    """Every file of the plugin in a stable order, without hidden files."""
    return sorted(
        path for path in plugin_dir.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(plugin_dir).parts)
    )


@cache
def served_zip() -> PluginZip:
    """The zip of this checkout's plugin, built once per process."""
    plugin_dir = PLUGIN_ROOT / PLUGIN_SLUG
    if not (plugin_dir / f"{PLUGIN_SLUG}.php").is_file():
        raise NotFound("this installation has no WordPress plugin source", code="no_plugin")
    return build_zip(plugin_dir, flowkick.__version__)


async def wordpress_plugin_zip(request: Request) -> Response:
    """Serves the zip; 304 when the client already has these bytes."""
    plugin = served_zip()
    headers = {
        "ETag": plugin.etag,
        "Cache-Control": "public, max-age=3600",
        "Content-Disposition": f'attachment; filename="{PLUGIN_SLUG}-{flowkick.__version__}.zip"',
    }
    if request.headers.get("if-none-match") == plugin.etag:
        return Response(status_code=304, headers=headers)
    return Response(plugin.content, media_type="application/zip", headers=headers)


routes: list[BaseRoute] = [Route("/wordpress-plugin.zip", wordpress_plugin_zip, methods=["GET"])]
