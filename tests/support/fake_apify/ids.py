"""Apify-style ids: 17 random letters and digits."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(17))
