"""Where stored pictures live: a folder served at /media, or S3-compatible storage.

Both backends keep files under content-addressed names (`ab/ab01…ef-640.webp`: the first two
hex digits of the digest shard the folder, then the digest, the width and the format), so a
file never changes once written: a second `put` of a name writes the same bytes, and every
copy may be cached for a year (`IMMUTABLE`). Names are checked strictly against that shape
before any file or key is touched, so no name can climb out of the store (`..`, absolute
paths, stray characters) however it reached us.

    FolderStore   one folder on this machine; Flowkick serves it at /media (routes/media.py)
    S3Store       a bucket (and key prefix) on S3 or any S3-compatible service; browsers fetch
                  the files from the bucket or from a CDN in front of it, never through us

`open_store` picks one from the `media_store` setting.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from flowkick.settings import Settings

IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp", "mp4": "video/mp4"}
_NAME_RE = re.compile(r"(?P<shard>[0-9a-f]{2})/(?P=shard)[0-9a-f]{30}-(?:0|[1-9][0-9]{0,4})\.(?:avif|webp|mp4)")
_DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects request takes


class InvalidName(ValueError):
    """A name that is not a stored file's content address: refused before touching storage."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    modified: float  # unix seconds


class MediaStore(Protocol):
    async def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store `data` under `name`, atomically: readers see the whole file or none."""
        ...

    async def exists(self, name: str) -> bool: ...

    async def delete(self, names: Iterable[str]) -> None:
        """Remove these files; names already gone are fine."""
        ...

    def files(self) -> AsyncIterator[StoredFile]:
        """Every stored file, for size accounting and clean-up."""
        ...

    def url(self, name: str) -> str:
        """Where a browser fetches the file: `/media/<name>` (this server) or an absolute URL."""
        ...

    async def aclose(self) -> None: ...


def is_valid_name(name: str) -> bool:
    return _NAME_RE.fullmatch(name) is not None


def check_name(name: str) -> str:
    if not is_valid_name(name):
        raise InvalidName(f"not a stored media name: {name[:120]!r}")
    return name


def content_type(name: str) -> str:
    """The MIME type of a stored file, from its (already checked) extension."""
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]


class FolderStore:
    """Files in one folder on this machine, written through a temporary file and a rename."""

    def __init__(self, root: str | os.PathLike[str], public_url: str = "") -> None:
        self.root = Path(root).absolute()
        self.public_url = public_url.rstrip("/")

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self.root / check_name(name), data)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread((self.root / check_name(name)).is_file)

    async def delete(self, names: Iterable[str]) -> None:
        paths = [self.root / check_name(name) for name in names]
        await asyncio.to_thread(_unlink_all, paths)

    async def files(self) -> AsyncIterator[StoredFile]:
        for shard in await asyncio.to_thread(_shards, self.root):
            for found in await asyncio.to_thread(_list_shard, shard):
                yield found

    def url(self, name: str) -> str:
        return f"{self.public_url or '/media'}/{check_name(name)}"

    def local_path(self, name: str) -> Path | None:
        """The file for a well-formed `name`, or None; never a path that leads out of the root
        (a symlink planted in the folder included)."""
        if not is_valid_name(name):
            return None
        path = self.root / name
        real = Path(os.path.realpath(path))
        return path if real.is_relative_to(os.path.realpath(self.root)) else None

    async def aclose(self) -> None:
        return None

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        """Write beside the target, flush to disk, then rename over it: a crash or a concurrent
        writer of the same name leaves either no file or a whole one, never a torn one. A name
        already stored is left alone: its address was handed out, so its bytes must not change."""
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _shards(root: Path) -> list[Path]:
    try:
        return sorted(entry for entry in root.iterdir() if entry.is_dir() and not entry.is_symlink())
    except FileNotFoundError:
        return []


def _list_shard(shard: Path) -> list[StoredFile]:
    """The stored files of one shard folder; half-written temporaries and strangers are skipped."""
    found = []
    for entry in os.scandir(shard):
        name = f"{shard.name}/{entry.name}"
        if is_valid_name(name) and entry.is_file(follow_symlinks=False):
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted since the folder was read (another clean-up pass): not stored
            found.append(StoredFile(name, stat.st_size, stat.st_mtime))
    return found


class S3Store:
    """Objects in an S3 bucket under a key prefix, through one boto3 client.

    boto3 is synchronous, so each call runs in a worker thread (its clients are thread-safe).
    S3 writes are atomic per object: a reader sees the old object, the new one or none.
    """

    def __init__(self, bucket: str, *, prefix: str = "", endpoint: str = "", region: str = "us-east-1",
                 access_key: str = "", secret_key: str = "", public_url: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_url = (public_url or _bucket_url(bucket, endpoint, region) + "/" + self.prefix).rstrip("/")
        self.client = _s3_client(endpoint, region, access_key, secret_key)

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=self._key(name), Body=data,
                                ContentType=content_type, CacheControl=IMMUTABLE)

    async def exists(self, name: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, names: Iterable[str]) -> None:
        keys = [self._key(name) for name in names]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + _DELETE_BATCH]]
            await asyncio.to_thread(self.client.delete_objects, Bucket=self.bucket,
                                    Delete={"Objects": batch, "Quiet": True})

    async def files(self) -> AsyncIterator[StoredFile]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        iterator = iter(pages)
        while (page := await asyncio.to_thread(next, iterator, None)) is not None:
            for found in self._stored(page.get("Contents", [])):
                yield found

    def url(self, name: str) -> str:
        return f"{self.public_url}/{check_name(name)}"

    async def aclose(self) -> None:
        await asyncio.to_thread(self.client.close)

    def _key(self, name: str) -> str:
        return self.prefix + check_name(name)

    def _stored(self, objects: list[Any]) -> Iterator[StoredFile]:
        for listed in objects:
            name = listed["Key"][len(self.prefix):]
            if is_valid_name(name):
                yield StoredFile(name, int(listed["Size"]), listed["LastModified"].timestamp())


def _s3_client(endpoint: str, region: str, access_key: str, secret_key: str) -> Any:
    """One client for the store's life; path-style addressing for self-hosted endpoints, whose
    buckets rarely have DNS names of their own."""
    import boto3  # imported here: a server on the folder store never pays for loading boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path" if endpoint else "auto"}, retries={"mode": "standard"},
                    connect_timeout=10, read_timeout=60)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint or None, region_name=region, config=config,
        aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
    )


def _bucket_url(bucket: str, endpoint: str, region: str) -> str:
    """The bucket's own public address: path style on a given endpoint, AWS's virtual host otherwise."""
    if endpoint:
        return f"{endpoint.rstrip('/')}/{bucket}"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


def open_store(settings: Settings, database_url: str | None = None) -> MediaStore:
    """The store the `media_store` setting names: empty for a `media` folder beside the SQLite
    file (or in the working folder on PostgreSQL), `s3://BUCKET[/PREFIX]`, or a folder path."""
    where = settings.media_store
    if where.startswith("s3://"):
        parts = urlsplit(where)
        return S3Store(parts.netloc, prefix=parts.path, endpoint=settings.media_s3_endpoint,
                       region=settings.media_s3_region, access_key=settings.media_s3_access_key,
                       secret_key=settings.media_s3_secret_key, public_url=settings.media_public_url)
    root = Path(where) if where else default_folder(database_url or settings.database_url)
    return FolderStore(root, settings.media_public_url)


def default_folder(database_url: str) -> Path:
    """`media` beside the SQLite database file, or in the working folder for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "media"
    return Path("media")
