"""`GET /media/{name}`: the stored pictures of the folder store, served by Flowkick itself.

A name is a content address, so a file never changes: it may be cached for a year, and the
name is its strong ETag. Pictures are embedded on customers' sites, hence
`Cross-Origin-Resource-Policy: cross-origin` (the very header the platforms' CDNs refuse
to send). Malformed names, names outside the store and files not stored answer the same
JSON 404; nothing but a well-formed name ever reaches the filesystem (`FolderStore.local_path`).
With an S3 store, browsers fetch files from the bucket (or its CDN), so this route has none.
"""

from __future__ import annotations

import asyncio
import os
import stat

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from flowkick.errors import NotFound
from flowkick.media.store import IMMUTABLE, FolderStore, content_type


async def media_file(request: Request) -> Response:
    name = request.path_params["name"]
    path = _path(request, name)
    found = await asyncio.to_thread(_regular_file, path) if path is not None else None
    if path is None or found is None:
        raise NotFound("no stored picture has this name", code="media_not_found")
    etag = f'"{name.rsplit("/", 1)[1]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=content_type(name), headers=headers, stat_result=found)


def _path(request: Request, name: str) -> os.PathLike[str] | None:
    store = request.app.state.media_store
    return store.local_path(name) if isinstance(store, FolderStore) else None


def _regular_file(path: os.PathLike[str]) -> os.stat_result | None:
    try:
        found = os.stat(path)
    except OSError:  # missing, or a folder where a shard should be a file's parent
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match compares weakly: `W/"x"` matches `"x"`, and `*` matches any stored file."""
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


routes: list[BaseRoute] = [Route("/media/{name:path}", media_file, methods=["GET", "HEAD"])]
