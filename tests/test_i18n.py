"""Languages of the embed: negotiation, labels, relative dates and numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowkick import i18n

NOW = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("header,expected", [
    (None, "en"), ("", "en"), ("de-DE,de;q=0.9,en;q=0.8", "de"), ("it,es;q=0.5", "es"),
    ("en;q=0.3, pt-BR", "pt"), ("ja", "en"), ("fr;q=bogus, es;q=0.1", "es"),
])
def test_accept_language_picks_the_most_wanted_supported_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_every_language_has_every_label() -> None:
    assert all(set(i18n.LABELS[lang]) == set(i18n.LABELS["en"]) for lang in i18n.LANGS)


@pytest.mark.parametrize("lang,ago,expected", [
    ("en", timedelta(seconds=20), "just now"),
    ("en", timedelta(minutes=1), "1 minute ago"),
    ("en", timedelta(hours=5), "5 hours ago"),
    ("es", timedelta(days=2), "hace 2 días"),
    ("de", timedelta(days=14), "vor 2 Wochen"),
    ("fr", timedelta(days=61), "il y a 2 mois"),
    ("pt", timedelta(days=400), "há 1 ano"),
])
def test_relative_dates(lang: str, ago: timedelta, expected: str) -> None:
    assert i18n.relative_date(NOW - ago, NOW, lang) == expected


def test_a_date_in_the_future_reads_as_just_now() -> None:
    assert i18n.relative_date(NOW + timedelta(hours=1), NOW, "de") == "gerade eben"


@pytest.mark.parametrize("value,lang,expected", [
    (999, "en", "999"), (1234, "en", "1.2K"), (2000, "en", "2K"), (2310, "de", "2,3 Tsd."),
    (1_500_000, "es", "1,5 M"),
])
def test_compact_numbers(value: int, lang: str, expected: str) -> None:
    assert i18n.compact_number(value, lang) == expected


def test_unreadable_dates_are_none() -> None:
    assert i18n.parse_date("2 days ago") is None and i18n.parse_date(None) is None
