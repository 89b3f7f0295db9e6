"""A fake Apify v2 API server for tests, driven by the official `apify-client`.

See `fake.py` for the control API and `fixtures.py` for the pytest fixtures.
"""

from __future__ import annotations

from .actors import ACTORS, actor_for, example_input
from .fake import DEFAULT_TOKEN, MALFORMED_ITEMS, FakeApify
from .receiver import ReceivedCall, WebhookReceiver
from .runs import RequestRecord, RunRecord
from .webhooks import Delivery
from .world import World

__all__ = [
    "ACTORS",
    "DEFAULT_TOKEN",
    "MALFORMED_ITEMS",
    "Delivery",
    "FakeApify",
    "ReceivedCall",
    "RequestRecord",
    "RunRecord",
    "WebhookReceiver",
    "World",
    "actor_for",
    "example_input",
]
