"""Moderation: hidden, pinned, keyword-filtered and low-rated items, in every representation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from flowkick import clients
from flowkick.clients import ClientEdit, NewClient, create_client, moderate
from flowkick.moderation import Rules, clean_keywords, visible
from tests.support.apps import ScriptedSource, running, scripted_app


def item(n: int, text: str = "", kind: str = "image", rating: int | None = None) -> dict[str, Any]:
    return {"id": f"google_reviews:{n}", "type": kind, "text": text, "rating": rating,
            "published_at": f"2026-09-{20 - n:02d}T12:00:00Z", "author": {"name": f"Author {n}"}, "title": None}


ITEMS = [item(1, "Lovely coffee"), item(2, "Rude staff, awful"), item(3, "Great cake"), item(4, "Fine")]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"].split(":")[1] for i in items]


def test_hidden_items_never_show() -> None:
    assert ids(visible(ITEMS, Rules(hidden=frozenset({"google_reviews:2"})))) == ["1", "3", "4"]


def test_pinned_items_come_first_in_pin_order() -> None:
    assert ids(visible(ITEMS, Rules(pinned=("google_reviews:4", "google_reviews:3")))) == ["4", "3", "1", "2"]


def test_a_hidden_pinned_item_stays_hidden() -> None:
    rules = Rules(hidden=frozenset({"google_reviews:4"}), pinned=("google_reviews:4",))
    assert ids(visible(ITEMS, rules)) == ["1", "2", "3"]


def test_keywords_drop_items_that_mention_them_in_any_case() -> None:
    assert ids(visible(ITEMS, Rules(keywords=("rude",)))) == ["1", "3", "4"]
    assert ids(visible(ITEMS, Rules(keywords=("GREAT CAKE",)))) == ["1", "2", "4"]


def test_keywords_match_whole_words_only() -> None:
    assert ids(visible([item(1, "Scaffolding outside")], Rules(keywords=("caff",)))) == ["1"]


def test_keywords_also_match_the_author_name() -> None:
    assert ids(visible(ITEMS, Rules(keywords=("author 3",)))) == ["1", "2", "4"]


def test_keywords_with_regex_characters_are_taken_literally() -> None:
    assert ids(visible([item(1, "a+b"), item(2, "aab")], Rules(keywords=("a+b",)))) == ["2"]


def test_minimum_rating_filters_reviews_and_leaves_other_posts() -> None:
    mixed = [item(1, kind="review", rating=5), item(2, kind="review", rating=2), item(3), item(4, kind="review")]
    assert ids(visible(mixed, Rules(min_rating=4))) == ["1", "3"]


def test_keywords_are_cleaned_before_they_are_stored() -> None:
    assert clean_keywords(["  Rude  ", "rude", "", "two   words"]) == ["rude", "two words"]


# -- over HTTP: the same items in JSON, fragments and the merged wall ---------------------------------

REVIEWS = [
    {**item(1, "Best brunch in town", "review", 5), "id": "google_reviews:r1"},
    {**item(2, "Rude waiter", "review", 4), "id": "google_reviews:r2"},
    {**item(3, "Too loud", "review", 2), "id": "google_reviews:r3"},
    {**item(4, "Nice terrace", "review", 5), "id": "google_reviews:r4"},
    {**item(5, "Decent", "review", 4), "id": "google_reviews:r5"},
]


@dataclass
class Rig:
    app: Starlette
    http: httpx.AsyncClient
    client: NewClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.client.secret_key}"}

    async def json_ids(self, path: str = "/api/v1/social/google_reviews") -> list[str]:
        body = (await self.http.get(path, params={"limit": 50}, headers=self.auth)).json()
        return [i["id"] for i in body["items"]]

    async def fragment_ids(self, path: str = "/embed/google_reviews") -> list[str]:
        text = (await self.http.get(path, params={"limit": 50}, headers=self.auth)).text
        return re.findall(r'data-item="([^"]+)"', text)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    source = ScriptedSource()
    source.items["cafe"] = REVIEWS
    app = scripted_app(tmp_path, source)
    async with running(app) as http:
        new = await create_client(app.state.db, "Café", {"google_reviews": ["cafe"]}, now=0)
        await app.state.refresher.run_once()
        await moderate(app.state.db, new.id, "google_reviews:r5", "hide")
        await moderate(app.state.db, new.id, "google_reviews:r4", "pin")
        edit = ClientEdit(name="Café", email="", plan="free", active=True, origins=[], keywords=["rude"], min_rating=3)
        await clients.update_client(app.state.db, new.id, edit)
        app.state.reader.forget_clients()
        yield Rig(app, http, new)


EXPECTED = ["google_reviews:r4", "google_reviews:r1"]  # pinned first; r2 rude, r3 two stars, r5 hidden


@pytest.mark.anyio
async def test_json_applies_the_clients_moderation(rig: Rig) -> None:
    assert await rig.json_ids() == EXPECTED


@pytest.mark.anyio
async def test_fragments_apply_the_same_moderation(rig: Rig) -> None:
    assert await rig.fragment_ids() == EXPECTED


@pytest.mark.anyio
async def test_the_merged_wall_applies_the_same_moderation(rig: Rig) -> None:
    assert await rig.json_ids("/api/v1/feed") == EXPECTED
    assert await rig.fragment_ids("/embed/feed") == EXPECTED


@pytest.mark.anyio
async def test_unhiding_brings_an_item_back_in_a_fresh_body(rig: Rig) -> None:
    before = await rig.json_ids()
    await moderate(rig.app.state.db, rig.client.id, "google_reviews:r5", "unhide")
    rig.app.state.reader.forget_clients()
    assert "google_reviews:r5" not in before and "google_reviews:r5" in await rig.json_ids()
