"""The small family of errors a request can end in.

    FlowkickError            status 500, code "internal"
    ├── BadParameter         400  a query parameter is malformed or out of range
    ├── UriTooLong           414  the query string is larger than any real embed needs
    ├── Unauthorized         401  no key, or a key we do not know
    ├── Forbidden            403  inactive client, or an origin outside the client's list
    ├── NotFound             404  unknown platform, or a source the client does not track
    ├── PayloadTooLarge      413  a request body (a webhook) larger than any real one
    └── TooManyRequests      429  over quota or over the burst limit (carries Retry-After)

Each carries an HTTP status and a stable machine-readable code, so the JSON API, the
HTML fragments and the WordPress plugin can all tell a visitor-facing failure from a
setup mistake without parsing English.
"""

from __future__ import annotations


class FlowkickError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def payload(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadParameter(FlowkickError):
    status = 400
    code = "bad_parameter"


class UriTooLong(FlowkickError):
    status = 414
    code = "uri_too_long"


class Unauthorized(FlowkickError):
    status = 401
    code = "unknown_key"


class Forbidden(FlowkickError):
    status = 403
    code = "forbidden"


class NotFound(FlowkickError):
    status = 404
    code = "not_found"


class PayloadTooLarge(FlowkickError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(FlowkickError):
    status = 429
    code = "too_many_requests"
