"""Tests talk to this machine only.

Scraped items name real CDN hosts (cdninstagram.com, fbcdn.net, example.com in hand-written
items), and the media worker would try to download them from any app a test runs. This
plugin answers every lookup of a name other than localhost in the test process with a
failure, as a machine without a network would, so no test sends a DNS query out (and, the
tests naming only loopback addresses, no packet either). Downloads of such pictures fail as
`dns` and are counted, like any failed download.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or _is_local(str(name)):
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no outside names ({name})")


def _is_local(name: str) -> bool:
    """localhost, or an address literal (turning one into a socket address asks nobody)."""
    if name.lower().rstrip(".") in _LOCAL_NAMES:
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    socket.getaddrinfo = _loopback_only
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo
