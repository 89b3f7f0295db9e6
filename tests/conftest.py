"""Shared fixtures: every test module can use the fake Apify server and the app helpers."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.support.fake_apify.fixtures", "tests.support.postgres", "tests.support.wordpress",
                  "tests.support.logcheck", "tests.support.s3", "tests.support.fake_cdn",
                  "tests.support.loopback", "tests.support.browser"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
