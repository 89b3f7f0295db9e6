"""Defensive readers of actor output: values, URLs and times.

Every value in a dataset item is untrusted and may be missing, null or of the wrong
type: actor output shapes change without notice, and captions are raw user text. The
readers here never raise on a bad value, they answer None ("unknown"). Text is kept as
plain text exactly as given (renderers escape it); only lone surrogates and NUL
characters are repaired, because no JSON serializer or database would store them.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

# Counts above this cannot be represented exactly in JavaScript (the widget) nor by
# orjson (64-bit), and no real post has them.
_MAX_COUNT = 2**53
_MAX_URL_LEN = 4096
_ID_RE = re.compile(r"[^\s\x00-\x1f\x7f\ud800-\udfff]{1,200}")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_URL_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\\ud800-\udfff]")
_COUNT_RE = re.compile(r"\s*(\d[\d,]{0,30}(?:\.\d{1,12})?)\s*([kmb]?)\s*", re.IGNORECASE)
_COUNT_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_UNIX_RE = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_RELATIVE_RE = re.compile(r"(?:\D*?)(\d{1,4}|an?|one)\s+(second|minute|hour|day|week|month|year)s?\s+ago", re.IGNORECASE)
_RELATIVE_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400,
                  "year": 365 * 86400}
# Epoch values this large are milliseconds (as seconds they would be past year 5000).
_MILLIS_FROM = 1e11


# --- readers ---------------------------------------------------------------------------


def get(obj: object, *path: str) -> object:
    """`obj[a][b]...`, or None as soon as a step is missing or not a dict."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str | None:
    """Non-empty text, verbatim except for characters no store can hold."""
    if not isinstance(value, str) or not value:
        return None
    if _SURROGATE_RE.search(value):
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value.replace("\x00", "") or None


def as_id(value: object) -> str | None:
    """A platform id: a string or integer without whitespace or control characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _ID_RE.fullmatch(value) else None


def as_number(value: object) -> float | None:
    """A finite number from a number or numeric text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def as_int(value: object) -> int | None:
    """A count (likes, views, followers); None when unknown, negative or absurd.

    Accepts numeric text too ("1,204", "1.2K"), which some actors emit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _count_from_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float)) and 0 <= value <= _MAX_COUNT:
        return int(value)
    return None


def _count_from_text(text: str) -> int | None:
    match = _COUNT_RE.fullmatch(text)
    if match is None:
        return None
    digits, suffix = match.group(1).replace(",", ""), match.group(2).lower()
    number = int(digits) if "." not in digits else float(digits)
    return as_int(int(number * _COUNT_SCALE[suffix]))


def as_size(value: object) -> int | None:
    """A pixel dimension; 0 (TikTok slideshows) means unknown."""
    size = as_int(value)
    return size if size else None


def as_rating(value: object) -> int | float | None:
    """A 1-5 star rating, an int when whole."""
    number = as_number(value)
    if number is None or not 1 <= number <= 5:
        return None
    return int(number) if number.is_integer() else number


def first(*values: object) -> Any:
    """The first value that is not None."""
    return next((value for value in values if value is not None), None)


# --- URLs --------------------------------------------------------------------------------


def safe_url(value: object) -> str | None:
    """An absolute http(s) URL, or None.

    Anything else (`javascript:`, `data:`, relative, with spaces or quotes) would be a
    script or a broken attribute in every renderer, so it never enters the cache.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > _MAX_URL_LEN or _URL_FORBIDDEN_RE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def first_url(*values: object) -> str | None:
    return first(*(safe_url(value) for value in values))


def path_handle(value: object, marker: str = "") -> str | None:
    """The account in a profile URL's first path segment, without `marker`.

    'https://www.youtube.com/@luna/videos' with marker '@' -> 'luna'.
    """
    url = safe_url(value)
    if url is None:
        return None
    segment = unquote(next((part for part in urlsplit(url).path.split("/") if part), ""))
    if not segment.startswith(marker):
        return None
    return segment[len(marker) :] or None


# --- time --------------------------------------------------------------------------------


def parse_time(value: object) -> str | None:
    """UTC ISO 8601 ('2026-09-12T07:31:02Z') from ISO text, epoch seconds or milliseconds
    (number or text) or Twitter's 'Sat Sep 12 07:31:02 +0000 2026'; None otherwise.

    Relative text such as '10 months ago' is deliberately unknown: turning it into a
    date needs a clock and is off by weeks, and the caller sorts unknown dates last.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _format(_from_epoch(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _UNIX_RE.fullmatch(text):
        return _format(_from_epoch(float(text)))
    return _format(_from_iso(text) or _from_twitter(text))


def first_time(*values: object) -> str | None:
    return first(*(parse_time(value) for value in values))


def relative_time(value: object, now: datetime) -> str | None:
    """'3 days ago' (also 'Streamed 2 weeks ago', 'a month ago') as a moment before `now`.

    Only for actors that date items this way (YouTube channel lists): the answer is as
    coarse as the text, but it sorts items and bounds the next incremental fetch.
    """
    match = _RELATIVE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    amount = int(match.group(1)) if match.group(1).isdigit() else 1
    return _format(now - timedelta(seconds=amount * _RELATIVE_UNIT[match.group(2).lower()]))


def since_text(since: datetime, *, date_only: bool = False) -> str:
    """A date filter's value: ISO 8601 in UTC, or just the day for actors that take no time."""
    utc = since.astimezone(UTC)
    return utc.strftime("%Y-%m-%d") if date_only else utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    if seconds >= _MILLIS_FROM:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_twitter(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _TWITTER_TIME)
    except ValueError:
        return None


def _format(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
