"""Outgoing HTTPS: one TLS context for the whole process.

httpx loads the CA bundle into a new TLS context for every client it makes, about 45 ms of
CPU on the event loop. Client webhooks make a client for each round that has deliveries
due (at most one a second) and alerts one per notice, so each would stall the read path
for that long; they and the media downloader share this context, made on first use.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set)."""
    return httpx.create_ssl_context()
