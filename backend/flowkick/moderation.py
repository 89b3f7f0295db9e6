"""Moderation: what one client shows of a shared feed.

Applied by the read path before anything is serialized, so the JSON API, the HTML
fragments, the widget and the WordPress plugin all show the same items:

    hidden ids      never shown
    keyword filter  an item whose text, title or author mentions a blocked word is dropped
                    (case-insensitive, whole words or phrases)
    min rating      reviews below it are dropped; other posts are not rated and stay
    pinned ids      shown first, in the order they were pinned; the rest keep their order
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 80


@dataclass(frozen=True)
class Rules:
    hidden: frozenset[str] = frozenset()
    pinned: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    min_rating: int | None = None


def visible(items: Iterable[dict[str, Any]], rules: Rules) -> list[dict[str, Any]]:
    """The items a visitor may see, pinned ones first."""
    blocked = keyword_pattern(rules.keywords)
    kept = [i for i in items if i.get("id") not in rules.hidden and _rated_enough(i, rules.min_rating)
            and not (blocked and _mentions(i, blocked))]
    return pinned_first(kept, rules.pinned)


def pinned_first(items: list[dict[str, Any]], pinned: Sequence[str]) -> list[dict[str, Any]]:
    if not pinned:
        return items
    rank = {item_id: n for n, item_id in enumerate(pinned)}
    return sorted(items, key=lambda i: rank.get(i.get("id"), len(rank)))  # stable: the rest keep their order


def clean_keywords(raw: Iterable[str]) -> list[str]:
    """Keywords as stored: trimmed, lower case, unique, bounded in number and length."""
    words: list[str] = []
    for word in raw:
        word = " ".join(word.split()).casefold()[:MAX_KEYWORD_LENGTH]
        if word and word not in words:
            words.append(word)
    return words[:MAX_KEYWORDS]


def keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    return _compiled(tuple(keywords))


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compiled(keywords: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _PATTERNS.get(keywords)
    if pattern is None:
        if len(_PATTERNS) > 4096:
            _PATTERNS.clear()
        alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
        pattern = _PATTERNS[keywords] = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return pattern


def _mentions(item: dict[str, Any], pattern: re.Pattern[str]) -> bool:
    author = item.get("author") if isinstance(item.get("author"), dict) else {}
    fields = (item.get("text"), item.get("title"), author.get("name"))  # type: ignore[union-attr]
    return any(isinstance(f, str) and pattern.search(f) for f in fields)


def _rated_enough(item: dict[str, Any], min_rating: int | None) -> bool:
    if min_rating is None or item.get("type") != "review":
        return True
    rating = item.get("rating")
    return isinstance(rating, int | float) and rating >= min_rating
