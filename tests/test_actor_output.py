"""The shared part of the actor parsers: readers of untrusted values and the batch parser.

The batch parser is driven through a minimal spec whose rows are `{"h": handle, "id": ...,
"t": time}`, so these tests pin the contract every platform inherits.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkick.platforms import PLATFORMS
from flowkick.sources import Item
from flowkick.sources.actor_output import NO_ITEMS, ActorSpec, new_item, profile_fields, require_batch, row_error
from flowkick.sources.actors import ACTORS
from flowkick.sources.readers import as_id, as_int, as_rating, as_text, parse_time, path_handle, safe_url
from tests.support.samples import SAMPLES

TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class RowSpec(ActorSpec):
    """The smallest spec: rows name their handle in `h`, their id in `id`, time in `t`."""

    platform = "instagram"
    default_actor_id = "test/rows"
    price_per_result_usd = 0.001

    def build_input(self, handles: list[str], limit: int, since: datetime | None = None) -> dict[str, Any]:
        return {"handles": handles, "limit": limit}

    def handle_candidates(self, raw: dict[str, Any]) -> Iterable[object]:
        return (raw.get("h"),)

    def normalize(self, raw: dict[str, Any]) -> Item | None:
        if raw.get("explode"):
            raise TypeError("a shape nobody foresaw")
        native_id = as_id(raw.get("id"))
        return new_item(self.platform, native_id, "text", published_at=raw.get("t")) if native_id else None

    def profile(self, raw: dict[str, Any], handle: str) -> dict[str, Any]:
        return profile_fields(name=raw.get("name"))


def parse_rows(rows: list[object], handles: list[str] | None = None):
    return RowSpec().parse(rows, handles or ["luna", "sol"])


def ids(result) -> list[str]:
    return [item["id"] for item in result.items]


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-09-12T07:31:02Z", "2026-09-12T07:31:02Z"),
        ("2026-09-12T07:31:02.000Z", "2026-09-12T07:31:02Z"),
        ("2026-09-12T09:14:22.118Z", "2026-09-12T09:14:22Z"),
        ("2026-09-12T09:31:02+02:00", "2026-09-12T07:31:02Z"),
        ("2026-09-11T23:00:00-05:00", "2026-09-12T04:00:00Z"),
        ("2026-09-12T07:31:02", "2026-09-12T07:31:02Z"),
        ("2026-09-12", "2026-09-12T00:00:00Z"),
        (1789198262, "2026-09-12T07:31:02Z"),
        (1789198262.5, "2026-09-12T07:31:02Z"),
        ("1789198262", "2026-09-12T07:31:02Z"),
        (1789198262000, "2026-09-12T07:31:02Z"),
        ("Sat Sep 12 07:31:02 +0000 2026", "2026-09-12T07:31:02Z"),
        ("Sat Sep 12 09:31:02 +0200 2026", "2026-09-12T07:31:02Z"),
    ],
)
def test_every_timestamp_format_becomes_utc_iso(value: object, expected: str) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "value", ["10 months ago", "a week ago", "", "yesterday", None, True, 0, -5, float("nan"), 10**30, [], {}]
)
def test_unreadable_or_relative_timestamp_is_unknown(value: object) -> None:
    assert parse_time(value) is None


# --- URLs, text, numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://example.com/a.jpg?x=1&y=2", "http://example.com/", "HTTPS://EXAMPLE.COM/p"])
def test_http_urls_are_kept(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "//evil.example/x.js",
        "/relative/path",
        "https://",
        'https://example.com/"onerror="alert(1)',
        "https://example.com/a b",
        "https://[broken",
        "https://example.com/\ud800",
        42,
        None,
    ],
)
def test_non_http_or_malformed_urls_are_dropped(url: object) -> None:
    assert safe_url(url) is None


def test_text_is_kept_verbatim_including_markup() -> None:
    hostile = 'Tom & "Jerry" <script>alert(1)</script> <b>bold</b>'
    assert as_text(hostile) == hostile


def test_empty_or_non_text_is_unknown() -> None:
    assert [as_text(""), as_text(None), as_text(5), as_text(["a"])] == [None, None, None, None]


def test_text_loses_only_characters_no_store_can_hold() -> None:
    assert as_text("caf\x00e \ud83d!") == "cafe \ufffd!"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(312, 312), (0, 0), (12.0, 12), ("1480", 1480), ("1,204", 1204), ("1.2K", 1200), ("3M", 3_000_000)],
)
def test_counts_are_read_from_numbers_and_numeric_text(value: object, expected: int) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize("value", [None, True, -1, "-3", "many", float("inf"), 2**60, "9" * 40, [3], {"n": 3}])
def test_unknown_negative_or_absurd_counts_are_none(value: object) -> None:
    assert as_int(value) is None


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("4", 4), (4.6, 4.6), (0, None), (6, None), ("x", None)])
def test_ratings_are_one_to_five_stars(value: object, expected: object) -> None:
    assert as_rating(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(3931, "3931"), (" abc ", "abc"), ("a b", None), (True, None)])
def test_ids_are_strings_without_whitespace(value: object, expected: str | None) -> None:
    assert as_id(value) == expected


@pytest.mark.parametrize(
    ("url", "marker", "expected"),
    [
        ("https://www.instagram.com/lunacafe.berlin/", "", "lunacafe.berlin"),
        ("https://www.youtube.com/@luna/videos", "@", "luna"),
        ("https://www.youtube.com/channel/UC123", "@", None),
        ("https://www.tiktok.com/%40luna", "@", "luna"),
        ("luna", "", None),
    ],
)
def test_path_handle_reads_the_account_from_a_profile_url(url: str, marker: str, expected: str | None) -> None:
    assert path_handle(url, marker) == expected


def test_new_item_has_every_key_of_the_item_shape_with_unknowns_null() -> None:
    item = new_item("instagram", "1", "image")
    assert item == {
        "id": "instagram:1",
        "platform": "instagram",
        "type": "image",
        "url": None,
        "title": None,
        "text": None,
        "image": None,
        "media": [],
        "published_at": None,
        "author": {"name": None, "handle": None, "avatar_url": None, "url": None},
        "likes": None,
        "comments": None,
        "views": None,
        "shares": None,
        "rating": None,
        "reply": None,
    }


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"error": "no_items", "errorDescription": "profile is private"}, "no_items: profile is private"),
        ({"error": "not_found"}, "not_found"),
        ({"error": {"code": 7}}, "error"),
        ({"noResults": True}, "no_results"),
        ({"id": "1", "error": None}, None),
    ],
)
def test_row_error_reads_error_and_placeholder_rows(row: dict[str, Any], expected: str | None) -> None:
    assert row_error(row) == expected


@pytest.mark.parametrize(("handles", "limit"), [([], 10), (["luna"], 0)])
def test_a_run_for_nothing_is_refused(handles: list[str], limit: int) -> None:
    with pytest.raises(ValueError):
        require_batch(handles, limit)


# --- the batch parser --------------------------------------------------------------------------


def test_rows_are_filed_under_the_handle_they_name() -> None:
    out = parse_rows([{"h": "luna", "id": "1"}, {"h": "SOL", "id": "2"}])
    assert (ids(out.handles["luna"]), ids(out.handles["sol"])) == (["instagram:1"], ["instagram:2"])


def test_results_are_keyed_by_the_handles_as_passed() -> None:
    out = parse_rows([{"h": "luna", "id": "1"}], handles=["luna", "sol"])
    assert list(out.handles) == ["luna", "sol"]


def test_rows_of_unrequested_handles_are_skipped_and_counted() -> None:
    out = parse_rows([{"h": "luna", "id": "1"}, {"h": "stranger", "id": "2"}, {"id": "3"}])
    assert (ids(out.handles["luna"]), out.skipped) == (["instagram:1"], 2)


def test_non_dict_and_id_less_rows_are_skipped_and_counted() -> None:
    out = parse_rows(["text", 3, None, [], {"h": "luna"}, {"h": "luna", "id": " "}, {"h": "luna", "id": "1"}])
    assert (ids(out.handles["luna"]), out.skipped) == (["instagram:1"], 6)


def test_error_row_is_skipped_counted_and_becomes_the_handles_error() -> None:
    out = parse_rows([{"h": "sol", "error": "no_items", "errorDescription": "profile is private"}])
    assert (out.handles["sol"].error, out.handles["sol"].items, out.skipped) == (
        "no_items: profile is private",
        [],
        1,
    )


def test_error_row_does_not_fail_a_handle_that_has_items() -> None:
    out = parse_rows([{"h": "luna", "error": "timeout"}, {"h": "luna", "id": "1"}])
    assert (out.handles["luna"].error, ids(out.handles["luna"])) == (None, ["instagram:1"])


def test_handle_with_no_rows_gets_no_items_error() -> None:
    out = parse_rows([{"h": "luna", "id": "1"}])
    assert (out.handles["sol"].error, out.handles["sol"].items) == (NO_ITEMS, [])


def test_duplicate_ids_within_a_handle_are_dropped() -> None:
    rows = [{"h": "luna", "id": "1", "t": 1789198262}, {"h": "luna", "id": "1"}, {"h": "luna", "id": "2"}]
    out = parse_rows(rows)
    assert ids(out.handles["luna"]) == ["instagram:1", "instagram:2"]


def test_items_are_newest_first_with_undated_last_in_actor_order() -> None:
    rows = [
        {"h": "luna", "id": "undated-a"},
        {"h": "luna", "id": "old", "t": "2019-05-04T09:00:00Z"},
        {"h": "luna", "id": "undated-b", "t": "10 months ago"},
        {"h": "luna", "id": "new", "t": "2026-09-12T07:31:02.000Z"},
    ]
    assert ids(parse_rows(rows).handles["luna"]) == [
        "instagram:new",
        "instagram:old",
        "instagram:undated-a",
        "instagram:undated-b",
    ]


def test_profile_has_every_key_and_first_known_values() -> None:
    rows = [{"h": "luna", "id": "1"}, {"h": "luna", "id": "2", "name": "Luna"}, {"h": "luna", "id": "3", "name": "X"}]
    out = parse_rows(rows)
    assert out.handles["luna"].profile == {
        "name": "Luna",
        "handle": "luna",
        "url": None,
        "avatar_url": None,
        "followers": None,
        "rating": None,
        "review_count": None,
    }


def test_row_the_parser_cannot_read_costs_that_row_not_the_run(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = parse_rows([{"h": "luna", "id": "1", "explode": True}, {"h": "luna", "id": "2"}])
    assert (ids(out.handles["luna"]), out.skipped, len(caplog.records)) == (["instagram:2"], 1, 1)


def test_every_platform_has_an_actor_spec_under_its_id() -> None:
    assert {platform: spec.platform for platform, spec in ACTORS.items()} == {p: p for p in PLATFORMS}


# --- no input can break a parser ---------------------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(exclude_categories=[]), max_size=30)
    | st.sampled_from(["javascript:alert(1)", "https://example.com/x.jpg", "2026-09-12T07:31:02Z", "Video"])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
SAMPLE_HANDLES = ["lunacafe.berlin", "panaderia.sol", "lunacafeberlin", "ChIJFAKElunaCafe000001"]
SAMPLE_ROWS = {platform: json.loads((SAMPLES / f"{platform}.json").read_text()) for platform in PLATFORMS}


@st.composite
def mutated(draw: st.DrawFn, value: object) -> object:
    """`value` with some of its parts (at any depth) dropped or replaced by arbitrary JSON."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(JSON_VALUES)
    if isinstance(value, dict):
        return {key: draw(mutated(part)) for key, part in value.items() if draw(st.integers(0, 9))}
    if isinstance(value, list):
        return [draw(mutated(part)) for part in value]
    if isinstance(value, str) and choice == 1:
        return value + draw(st.sampled_from(["\x00", "\ud800", " <b>", "\n"]))
    return value


def rows_for(platform: str) -> st.SearchStrategy[list[object]]:
    real = st.sampled_from(SAMPLE_ROWS[platform]).flatmap(mutated)
    return st.lists(real | JSON_VALUES, max_size=6)


@contextmanager
def parser_warnings() -> Iterator[list[logging.LogRecord]]:
    """Records of rows that fell through to the parser's last-resort safety net."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("flowkick.sources.actor_output")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def assert_item_shape(item: Item) -> None:
    assert item["type"] in {"image", "video", "carousel", "review", "text"}
    assert item["published_at"] is None or TIME_RE.fullmatch(item["published_at"])
    for url in [item["url"], item["image"], *(entry["url"] for entry in item["media"]), *item["author"].values()]:
        assert url is None or isinstance(url, str)
    for url in [item["url"], item["image"], item["author"]["url"], item["author"]["avatar_url"]]:
        assert url is None or safe_url(url) == url
    for count in (item["likes"], item["comments"], item["views"], item["shares"]):
        assert count is None or (isinstance(count, int) and 0 <= count <= 2**53)


@pytest.mark.parametrize("platform", PLATFORMS)
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_makes_a_parser_raise_or_emit_unstorable_items(platform: str, data: st.DataObject) -> None:
    spec = ACTORS[platform]
    rows = data.draw(rows_for(platform))
    handles = data.draw(st.lists(st.sampled_from(SAMPLE_HANDLES), min_size=1, max_size=3, unique=True))
    with parser_warnings() as fell_through:
        out = spec.parse(rows, handles)
    assert fell_through == []
    assert set(out.handles) == set(handles)
    for result in out.handles.values():
        for item in result.items:
            assert_item_shape(item)
        orjson.dumps([result.items, result.profile, result.error])
