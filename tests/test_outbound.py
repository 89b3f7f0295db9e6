"""Outgoing HTTPS shares one TLS context, and sharing it weakens nothing."""

from __future__ import annotations

import ssl

from flowkick.outbound import tls_context


def test_the_shared_context_checks_certificates_and_host_names() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_the_context_is_made_once_per_process() -> None:
    assert tls_context() is tls_context()
