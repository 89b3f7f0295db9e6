"""Pytest fixtures for the fake Apify server (register with `pytest_plugins` in the root conftest).

`fake_apify_server` starts one server per session; `fake_apify` hands it to a test after
`reset()`, so each test starts from a fresh world at the cost of no server start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake import FakeApify
from .receiver import WebhookReceiver


@pytest.fixture(scope="session")
def fake_apify_server() -> Iterator[FakeApify]:
    with FakeApify() as fake:
        yield fake


@pytest.fixture
def fake_apify(fake_apify_server: FakeApify) -> FakeApify:
    fake_apify_server.reset()
    return fake_apify_server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
