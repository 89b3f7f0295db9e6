"""Admin sessions: a signed cookie, a CSRF token per session, and a login rate limit.

The cookie holds {"csrf": token, "iat": issued at} signed with the server's secret
(itsdangerous), HttpOnly and SameSite=Lax. A tampered cookie fails the signature and an
old one fails the age check against the app's clock, so both simply mean "log in again".
Every form carries the session's CSRF token; the login form carries one of its own from a
short-lived pre-login cookie, so no other site can log a browser in either.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from flowkick.clock import Clock

SESSION_COOKIE = "flowkick_admin"
LOGIN_COOKIE = "flowkick_admin_login"
LOGIN_FORM_SECONDS = 3600.0
LOGIN_WINDOW_SECONDS = 900.0


@dataclass(frozen=True)
class Session:
    csrf: str
    issued_at: float


class Sessions:
    def __init__(self, secret: str, clock: Clock, lifetime_seconds: float) -> None:
        self.clock = clock
        self.lifetime = lifetime_seconds
        self._session = URLSafeSerializer(secret, salt="flowkick-admin-session")
        self._login = URLSafeSerializer(secret, salt="flowkick-admin-login")

    def issue(self) -> str:
        """A new session's cookie value."""
        return self._session.dumps({"csrf": secrets.token_urlsafe(24), "iat": self.clock.now()})

    def read(self, cookie: str | None) -> Session | None:
        """The session in a cookie; None when missing, tampered with or expired."""
        payload = _loads(self._session, cookie)
        if payload is None:
            return None
        session = Session(str(payload.get("csrf", "")), float(payload.get("iat", 0)))
        age = self.clock.now() - session.issued_at
        return session if session.csrf and 0 <= age < self.lifetime else None

    def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) for the login form."""
        token = secrets.token_urlsafe(24)
        return self._login.dumps({"csrf": token, "iat": self.clock.now()}), token

    def login_token_ok(self, cookie: str | None, submitted: str) -> bool:
        payload = _loads(self._login, cookie)
        if payload is None or self.clock.now() - float(payload.get("iat", 0)) > LOGIN_FORM_SECONDS:
            return False
        return same(str(payload.get("csrf", "")), submitted)


class LoginLimiter:
    """At most `attempts` failed logins per address in a sliding 15-minute window."""

    def __init__(self, attempts: int, clock: Clock) -> None:
        self.attempts = attempts
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> int:
        """0 when the address may try now, else seconds until it may."""
        failures = self._recent(address)
        if len(failures) < self.attempts:
            return 0
        return max(1, int(failures[0] + LOGIN_WINDOW_SECONDS - self.clock.now()) + 1)

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock.now())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= self.clock.now() - LOGIN_WINDOW_SECONDS:
            failures.popleft()
        return failures


def same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _loads(serializer: URLSafeSerializer, cookie: str | None) -> dict[str, Any] | None:
    if not cookie or len(cookie) > 1024:
        return None
    try:
        payload = serializer.loads(cookie)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None
