"""The media store: the same behaviour from the folder and from S3 (a real SeaweedFS server),
and the folder's files served at /media with the headers a year-long cache wants."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from flowkick.app import create_app
from flowkick.media.store import (
    IMMUTABLE,
    FolderStore,
    InvalidName,
    MediaStore,
    S3Store,
    default_folder,
    open_store,
)
from flowkick.settings import Settings
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, SeaweedFS
from tests.support.servers import live_app

pytestmark = pytest.mark.anyio

WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"

BAD_NAMES = [
    "../flowkick.db",
    "ab/../../etc/passwd",
    "/etc/passwd",
    "ab/ab00000000000000000000000000000-640.webp",  # 31 hex digits
    "ab/cd000000000000000000000000000000-640.webp",  # shard is not the digest's first two digits
    "AB/AB000000000000000000000000000000-640.webp",
    "ab/ab000000000000000000000000000000-640.jpg",
    "ab/ab000000000000000000000000000000-640.webp/",
    "ab/ab000000000000000000000000000000-0640.webp",
    "ab//ab000000000000000000000000000000-640.webp",
    "ab\\ab000000000000000000000000000000-640.webp",
    "ab/ab000000000000000000000000000000-640.webp\x00",
    "ab/ab000000000000000000000000000000-640.webp\n",
    "ab/.ab00000000000000000000000000000-640.webp",
    "",
]


def media_name(seed: object, width: int = 640, fmt: str = "webp") -> str:
    digest = hashlib.blake2b(str(seed).encode(), digest_size=16).hexdigest()
    return f"{digest[:2]}/{digest}-{width}.{fmt}"


def folder_settings(root: Path, **overrides: str) -> Settings:
    return Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{root / 'flowkick.db'}",
                             media_store=str(root / "media"), **overrides)


@pytest.fixture
def folder_app(tmp_path: Path) -> Starlette:
    return create_app(folder_settings(tmp_path))


@pytest.fixture(params=["folder", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "folder":
        opened = open_store(folder_settings(tmp_path))
    else:
        server: SeaweedFS = request.getfixturevalue("s3_server")
        bucket, prefix = request.getfixturevalue("s3_bucket"), request.getfixturevalue("s3_prefix")
        opened = open_store(Settings.from_env(
            {}, media_store=f"s3://{bucket}/{prefix}", media_s3_endpoint=server.endpoint,
            media_s3_access_key=ACCESS_KEY, media_s3_secret_key=SECRET_KEY,
        ))
    yield opened
    await opened.aclose()


async def listed(store: MediaStore) -> dict[str, int]:
    return {found.name: found.size async for found in store.files()}


async def fetch(store: MediaStore, name: str, tmp_path: Path) -> httpx.Response:
    """GET the file at `store.url(name)`: from the bucket, or from the app serving the folder."""
    if isinstance(store, FolderStore):
        app = create_app(folder_settings(tmp_path))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://flowkick.test") as client:
            return await client.get(store.url(name))
    async with httpx.AsyncClient() as client:
        return await client.get(store.url(name))


# --- both backends ----------------------------------------------------------------------


async def test_a_stored_file_exists_and_is_listed_with_its_size(store: MediaStore) -> None:
    name = media_name("one")
    assert not await store.exists(name)
    await store.put(name, WEBP, "image/webp")
    assert await store.exists(name)
    assert await listed(store) == {name: len(WEBP)}


async def test_listing_gives_each_file_its_modification_time(store: MediaStore) -> None:
    before = time.time()
    await store.put(media_name("timed"), WEBP, "image/webp")
    [found] = [found async for found in store.files()]
    assert before - 2 <= found.modified <= time.time() + 2  # S3 keeps whole seconds


async def test_putting_a_name_again_keeps_one_whole_file(store: MediaStore) -> None:
    name = media_name("twice")
    await store.put(name, WEBP, "image/webp")
    await store.put(name, WEBP, "image/webp")
    assert await listed(store) == {name: len(WEBP)}


async def test_a_file_deleted_while_the_folder_is_listed_is_left_out(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(folder_settings(tmp_path))
    kept, gone = media_name("kept"), media_name("deleted by another pass")
    for name in (kept, gone):
        await store.put(name, WEBP, "image/webp")
    real_scandir = os.scandir

    def scandir_then_delete(path: Path) -> Iterator[os.DirEntry[str]]:
        entries = list(real_scandir(path))
        if Path(path).name == gone.split("/")[0]:
            (tmp_path / "media" / gone).unlink()
        return iter(entries)

    monkeypatch.setattr(os, "scandir", scandir_then_delete)
    assert await listed(store) == {kept: len(WEBP)}


async def test_a_stored_folder_file_is_never_rewritten(tmp_path: Path) -> None:
    store = open_store(folder_settings(tmp_path))
    name = media_name("kept as first written")
    await store.put(name, WEBP, "image/webp")
    await store.put(name, WEBP + b"re-encoded by a newer Pillow", "image/webp")
    assert (tmp_path / "media" / name).read_bytes() == WEBP


async def test_concurrent_puts_of_one_name_leave_one_whole_file(store: MediaStore) -> None:
    name = media_name("racing")
    await asyncio.gather(*(store.put(name, WEBP, "image/webp") for _ in range(12)))
    assert await listed(store) == {name: len(WEBP)}


async def test_delete_removes_files_and_ignores_names_already_gone(store: MediaStore) -> None:
    kept, removed, never = media_name("kept"), media_name("removed"), media_name("never stored")
    await store.put(kept, WEBP, "image/webp")
    await store.put(removed, WEBP, "image/webp")
    await store.delete([removed, never])
    assert await listed(store) == {kept: len(WEBP)}
    assert not await store.exists(removed)


async def test_delete_of_many_files_at_once(store: MediaStore) -> None:
    names = [media_name(n, width) for n in range(30) for width in (320, 640)]
    await asyncio.gather(*(store.put(name, WEBP, "image/webp") for name in names))
    await store.delete(names[:50])
    assert set(await listed(store)) == set(names[50:])


async def test_url_serves_the_bytes_with_their_type_and_a_year_of_caching(store: MediaStore, tmp_path: Path) -> None:
    for name, kind in ((media_name("a"), "image/webp"), (media_name("b", fmt="avif"), "image/avif")):
        await store.put(name, WEBP, kind)
        answer = await fetch(store, name, tmp_path)
        assert answer.status_code == 200
        assert answer.content == WEBP
        assert answer.headers["content-type"] == kind
        assert answer.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_a_name_that_is_no_content_address_is_refused(store: MediaStore, name: str) -> None:
    with pytest.raises(InvalidName):
        await store.put(name, WEBP, "image/webp")
    with pytest.raises(InvalidName):
        await store.exists(name)
    with pytest.raises(InvalidName):
        await store.delete([name])
    with pytest.raises(InvalidName):
        store.url(name)
    assert await listed(store) == {}


async def test_video_and_width_zero_names_are_accepted(store: MediaStore) -> None:
    name = media_name("clip", 0, "mp4")
    await store.put(name, b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    assert await store.exists(name)


# --- choosing a store -------------------------------------------------------------------


def test_the_default_folder_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    assert default_folder(f"sqlite+aiosqlite:///{tmp_path}/data/flowkick.db") == tmp_path / "data" / "media"
    assert default_folder("sqlite+aiosqlite:///flowkick.db") == Path("media")


def test_the_default_folder_is_in_the_working_folder_on_postgresql() -> None:
    assert default_folder("postgresql+asyncpg://flowkick@db/flowkick") == Path("media")


def test_an_empty_setting_opens_the_folder_beside_the_database(tmp_path: Path) -> None:
    settings = Settings.from_env({}, database_url=f"sqlite+aiosqlite:///{tmp_path}/flowkick.db")
    store = open_store(settings)
    assert isinstance(store, FolderStore) and store.root == tmp_path / "media"


def test_a_database_url_given_to_open_store_wins_over_the_setting(tmp_path: Path) -> None:
    store = open_store(Settings.from_env({}), database_url=f"sqlite+aiosqlite:///{tmp_path}/other.db")
    assert isinstance(store, FolderStore) and store.root == tmp_path / "media"


def test_a_folder_store_answers_urls_on_this_server_or_on_its_public_url(tmp_path: Path) -> None:
    name = media_name("u")
    assert open_store(folder_settings(tmp_path)).url(name) == f"/media/{name}"
    behind_cdn = open_store(folder_settings(tmp_path, media_public_url="https://cdn.example.com/m/"))
    assert behind_cdn.url(name) == f"https://cdn.example.com/m/{name}"


async def test_an_s3_url_names_the_bucket_and_prefix() -> None:
    store = open_store(Settings.from_env({}, media_store="s3://pictures/flowkick/", media_s3_region="eu-west-1",
                                         media_s3_access_key="a", media_s3_secret_key="b"))
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == ("pictures", "flowkick/")
    assert store.url(media_name("u")) == f"https://pictures.s3.eu-west-1.amazonaws.com/flowkick/{media_name('u')}"
    await store.aclose()


async def test_an_s3_store_on_its_own_endpoint_or_behind_a_cdn() -> None:
    settings = Settings.from_env({}, media_store="s3://pictures", media_s3_endpoint="http://127.0.0.1:9",
                                 media_s3_access_key="a", media_s3_secret_key="b")
    on_endpoint, behind_cdn = open_store(settings), open_store(
        Settings.from_env({}, **{**_s3_fields(settings), "media_public_url": "https://img.example.com"}))
    assert on_endpoint.url(media_name("u")) == f"http://127.0.0.1:9/pictures/{media_name('u')}"
    assert behind_cdn.url(media_name("u")) == f"https://img.example.com/{media_name('u')}"
    await on_endpoint.aclose()
    await behind_cdn.aclose()


def _s3_fields(settings: Settings) -> dict[str, str]:
    return {name: getattr(settings, name) for name in ("media_store", "media_s3_endpoint", "media_s3_access_key",
                                                       "media_s3_secret_key")}


async def test_s3_uploads_carry_type_and_immutable_caching(s3_server: SeaweedFS, s3_bucket: str,
                                                            s3_prefix: str) -> None:
    store = S3Store(s3_bucket, prefix=s3_prefix, endpoint=s3_server.endpoint, access_key=ACCESS_KEY,
                    secret_key=SECRET_KEY)
    name = media_name("headers", fmt="avif")
    await store.put(name, WEBP, "image/avif")
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=f"{s3_prefix}/{name}")
    assert (head["ContentType"], head["CacheControl"]) == ("image/avif", IMMUTABLE)
    await store.aclose()


async def test_s3_listing_skips_objects_that_are_not_stored_pictures(s3_server: SeaweedFS, s3_bucket: str,
                                                                    s3_prefix: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}/README.txt", Body=b"hello")
    client.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}-other/{media_name('beside the prefix')}", Body=b"x")
    store = S3Store(s3_bucket, prefix=s3_prefix, endpoint=s3_server.endpoint, access_key=ACCESS_KEY,
                    secret_key=SECRET_KEY)
    await store.put(media_name("inside"), WEBP, "image/webp")
    assert await listed(store) == {media_name("inside"): len(WEBP)}
    await store.aclose()


# --- the folder served at /media --------------------------------------------------------


async def stored_in(app: Starlette, name: str, data: bytes = WEBP) -> None:
    await app.state.media_store.put(name, data, "image/webp")


async def get(app: Starlette, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://flowkick.test") as client:
        return await client.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})


async def test_a_stored_picture_is_served_for_embedding_anywhere(folder_app: Starlette) -> None:
    name = media_name("served")
    await stored_in(folder_app, name)
    answer = await get(folder_app, f"/media/{name}")
    assert answer.status_code == 200 and answer.content == WEBP
    assert answer.headers["content-type"] == "image/webp"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-length"] == str(len(WEBP))


async def test_the_etag_is_strong_and_names_the_content(folder_app: Starlette) -> None:
    name = media_name("tagged")
    await stored_in(folder_app, name)
    etag = (await get(folder_app, f"/media/{name}")).headers["etag"]
    assert etag == f'"{name.split("/")[1]}"'


@pytest.mark.parametrize("sent", ['"{tag}"', 'W/"{tag}"', '"other", "{tag}"', "*"])
async def test_if_none_match_answers_304_without_a_body(folder_app: Starlette, sent: str) -> None:
    name = media_name("cached")
    await stored_in(folder_app, name)
    answer = await get(folder_app, f"/media/{name}", if_none_match=sent.format(tag=name.split("/")[1]))
    assert answer.status_code == 304 and answer.content == b""
    assert answer.headers["etag"] == f'"{name.split("/")[1]}"'
    assert answer.headers["cache-control"] == IMMUTABLE


async def test_another_etag_gets_the_file(folder_app: Starlette) -> None:
    name = media_name("changed")
    await stored_in(folder_app, name)
    answer = await get(folder_app, f"/media/{name}", if_none_match='"something-else"')
    assert answer.status_code == 200 and answer.content == WEBP


async def test_head_answers_the_headers_without_the_body(folder_app: Starlette) -> None:
    name = media_name("head")
    await stored_in(folder_app, name)
    answer = await get(folder_app, f"/media/{name}", method="HEAD")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-length"] == str(len(WEBP))
    assert answer.headers["content-type"] == "image/webp"


async def test_videos_are_served_as_mp4_and_in_ranges(folder_app: Starlette) -> None:
    name = media_name("clip", 0, "mp4")
    await stored_in(folder_app, name, b"0123456789")
    answer = await get(folder_app, f"/media/{name}", range="bytes=2-5")
    assert answer.status_code == 206 and answer.content == b"2345"
    assert answer.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize("path", ["/media/" + media_name("never stored"), "/media/ab", "/media/",
                                  "/media/flowkick.db", "/media/ab/ab-640.webp", "/media/" + media_name("x") + "x"])
async def test_unknown_or_malformed_names_are_a_json_404(folder_app: Starlette, path: str) -> None:
    answer = await get(folder_app, path)
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": "media_not_found", "message": "no stored picture has this name"}}


async def test_a_shard_folder_is_no_file(folder_app: Starlette) -> None:
    name = media_name("folder")
    (folder_app.state.media_store.root / name).mkdir(parents=True)
    assert (await get(folder_app, f"/media/{name}")).status_code == 404


async def test_a_symlink_out_of_the_folder_is_not_followed(folder_app: Starlette, tmp_path: Path) -> None:
    secret = tmp_path / "secret.webp"
    secret.write_bytes(b"not for visitors")
    name = media_name("planted")
    link = folder_app.state.media_store.root / name
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    answer = await get(folder_app, f"/media/{name}")
    assert answer.status_code == 404 and b"not for visitors" not in answer.content


async def test_a_symlinked_shard_out_of_the_folder_is_not_followed(folder_app: Starlette, tmp_path: Path) -> None:
    name = media_name("planted shard")
    outside = tmp_path / "outside"
    (outside / name.split("/")[1]).parent.mkdir(parents=True, exist_ok=True)
    (outside / name.split("/")[1]).write_bytes(b"not for visitors")
    folder_app.state.media_store.root.mkdir(parents=True, exist_ok=True)
    (folder_app.state.media_store.root / name.split("/")[0]).symlink_to(outside)
    assert (await get(folder_app, f"/media/{name}")).status_code == 404


# Raw request targets exactly as a hostile client sends them (httpx would normalize them).
RAW_PATHS = [
    "/media/../secret.txt",
    "/media/%2e%2e/secret.txt",
    "/media/%2E%2E/flowkick.db",
    "/media/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/media/..%2fsecret.txt",
    "/media//etc/passwd",
    "/media/%2fetc%2fpasswd",
    "/media/ab/..%2f..%2fsecret.txt",
    "/media/ab%00/x.webp",
    "/media/%5c..%5csecret.txt",
]


@pytest.fixture(scope="module")
def served_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose media folder has a secret beside it (and the database, of course)."""
    root = tmp_path_factory.mktemp("served")
    (root / "secret.txt").write_bytes(b"secret rows")
    with live_app(create_app(folder_settings(root))) as url:
        yield url


@pytest.mark.parametrize("raw_path", RAW_PATHS)
def test_no_request_target_reaches_outside_the_folder(served_folder: str, raw_path: str) -> None:
    connection = http.client.HTTPConnection(urlsplit(served_folder).netloc, timeout=10)
    try:
        connection.request("GET", raw_path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.status == 404 and json.loads(body)["error"]["code"] == "media_not_found"
    assert b"secret rows" not in body and b"SQLite format" not in body and b"root:" not in body
