"""API keys: generated once, shown once, stored only as hashes.

Keys are 190 bits of randomness, so a plain SHA-256 is enough to store them (no salt or
slow hash needed: nobody can brute-force the preimage), and the hash doubles as an
indexed lookup column. The final comparison is constant-time all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

KeyKind = Literal["publishable", "secret"]

PREFIXES: dict[KeyKind, str] = {"publishable": "pk_", "secret": "sk_"}
DEMO_PUBLISHABLE_KEY = "pk_demo"


def generate(kind: KeyKind) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)


def kind_of(key: str) -> KeyKind | None:
    """Which kind a key claims to be by its prefix (unverified)."""
    for kind, prefix in PREFIXES.items():
        if key.startswith(prefix):
            return kind
    return None
