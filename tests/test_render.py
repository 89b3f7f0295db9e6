"""The HTML fragment: escaping, images, layouts, languages, options and states."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from flowkick import i18n
from flowkick.errors import BadParameter, Unauthorized
from flowkick.render import EmbedOptions, on_accent, render_error, render_fragment, render_wall, safe_url

NOW = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)
HOSTILE = ('<script>alert(1)</script> <img src=x onerror="alert(2)"> </script> '
           '<a href="javascript:alert(3)">x</a> "quotes" & ampersands')


class Page(HTMLParser):
    """The parsed fragment: every start tag with its attributes, and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._skip += tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag == "style"

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(data.strip())

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def items(self) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if "data-item" in attrs]


def post(n: int, **fields: Any) -> dict[str, Any]:
    """A normalized Instagram post shaped like the actor samples."""
    item = {
        "id": f"instagram:39310000000000000{n}", "platform": "instagram", "type": "image",
        "url": f"https://www.instagram.com/p/DaLunaC0{n}/", "title": None,
        "text": "Herbst ist da 🍂☕️ Unsere neue Kürbis-Latte & Zimtschnecken – ab heute! #lunacafe",
        "image": f"https://scontent.cdninstagram.com/v/{n}.jpg",
        "media": [{"type": "image", "url": f"https://scontent.cdninstagram.com/v/{n}.jpg",
                   "width": 1080, "height": 1350, "alt": None}],
        "published_at": "2026-09-12T07:31:02Z",
        "author": {"name": "Luna Café Berlin", "handle": "lunacafe.berlin", "avatar_url": None, "url": None},
        "likes": 120, "comments": 8, "views": None, "shares": None, "rating": None, "reply": None,
    }
    return {**item, **fields}


def review(n: int, **fields: Any) -> dict[str, Any]:
    """A normalized Google review shaped like the actor samples."""
    item = {
        "id": f"google_reviews:Ci9DQUlRQUNvZENo{n}", "platform": "google_reviews", "type": "review",
        "url": "https://www.google.com/maps/reviews/data=!4m8", "title": None,
        "text": "Bester Flat White in Kreuzberg! ☕ Freundliches Team, schnelles WLAN.",
        "image": None, "media": [], "published_at": "2026-09-12T09:14:22Z",
        "author": {"name": "Jonas Beispiel", "handle": None,
                   "avatar_url": "https://lh3.googleusercontent.com/a-/ALV-Uj1=s120", "url": None},
        "likes": 2, "comments": None, "views": None, "shares": None, "rating": 5,
        "reply": {"text": "Danke Jonas, bis bald! 💛", "published_at": "2026-09-12T15:02:00Z"},
    }
    return {**item, **fields}


def envelope(items: list[dict[str, Any]], platform: str = "instagram", status: str = "ok") -> dict[str, Any]:
    profile = {"name": "Luna Café Berlin", "handle": "lunacafe.berlin",
               "url": f"https://example.com/{platform}/lunacafe", "avatar_url": "https://cdn.example.com/luna.jpg",
               "followers": 2310, "rating": 4.6 if platform == "google_reviews" else None,
               "review_count": 418 if platform == "google_reviews" else None}
    return {"platform": platform, "handle": "lunacafe.berlin", "profile": profile, "status": status,
            "stale": False, "fetched_at": "2026-09-14T08:00:58Z", "expires_at": "2026-09-14T08:30:58Z",
            "items": items}


def render(items: list[dict[str, Any]], platform: str = "instagram", **params: str) -> Page:
    options = EmbedOptions.from_query({"css": "none", **params})
    return Page(render_fragment(envelope(items, platform), options, NOW))


def test_hostile_caption_shows_as_text_and_adds_no_element() -> None:
    page = render([post(1, text=HOSTILE)])
    assert [tag for tag, _ in page.tags if tag in ("script", "a") and _.get("href", "").startswith("javascript")] == []
    assert page.find("script") == []
    assert HOSTILE.split("\n")[0] in " ".join(page.text)


def test_hostile_caption_adds_no_event_handler_attribute() -> None:
    page = render([post(1, text=HOSTILE)])
    assert [attrs for _, attrs in page.tags if any(name.startswith("on") for name in attrs)] == []


def test_closing_script_tag_in_caption_is_escaped() -> None:
    html = render_fragment(envelope([post(1, text="</script><b>bold</b>")]), EmbedOptions(css="none"), NOW)
    assert "</script>" not in html and "<b>" not in html
    assert "&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html


def test_javascript_item_url_renders_no_link() -> None:
    page = render([post(1, url="javascript:alert(1)")])
    assert [a["href"] for a in page.find("a") if "instagram.com/p/" in (a.get("href") or "")] == []
    assert all((a.get("href") or "").startswith("https://") for a in page.find("a"))


def test_non_http_image_url_renders_no_image() -> None:
    page = render([post(1, image="data:image/svg+xml,<svg onload=alert(1)>", media=[])])
    assert [img for img in page.find("img") if "data:" in (img.get("src") or "")] == []


def test_quotes_and_ampersands_stay_inside_attributes() -> None:
    page = render([post(1, text='"quotes" & ampersands', media=[])])
    assert page.find("img")[-1]["alt"] == '"quotes" & ampersands'


def test_alt_text_comes_from_platform_alt_when_given() -> None:
    media = [{"type": "image", "url": "https://cdn.example.com/1.jpg", "width": 1080, "height": 1350,
              "alt": "Photo by Luna Café Berlin. May be an image of coffee and pastry."}]
    page = render([post(1, media=media)])
    assert page.find("img")[-1]["alt"] == "Photo by Luna Café Berlin. May be an image of coffee and pastry."


def test_alt_text_falls_back_to_caption() -> None:
    page = render([post(1, text="Neue Kürbis-Latte\nab heute")])
    assert page.find("img")[-1]["alt"] == "Neue Kürbis-Latte ab heute"


def test_long_caption_alt_is_cut_at_a_word() -> None:
    page = render([post(1, text="word " * 60)])
    alt = page.find("img")[-1]["alt"] or ""
    assert len(alt) <= 121 and alt.endswith("word…")


def test_alt_text_without_caption_names_the_post() -> None:
    page = render([post(1, text="")])
    assert page.find("img")[-1]["alt"] == "Post on Instagram"


@pytest.mark.parametrize("layout", ["grid", "carousel", "list", "cards"])
def test_every_image_has_width_and_height(layout: str) -> None:
    page = render([post(1), post(2, media=[], type="video"), review(3)], layout=layout)
    images = page.find("img")
    assert len(images) >= 2  # the profile avatar, then post images or reviewer avatars
    assert all(img.get("width") and img.get("height") for img in images)


def test_pictures_below_the_first_row_load_lazily() -> None:
    page = render([post(n) for n in range(1, 8)], layout="grid", columns="3")
    pictures = [img.get("loading") for img in page.find("img") if "fk-avatar" not in (img.get("class") or "")]
    assert pictures == [None] * 3 + ["lazy"] * 4


def test_image_size_comes_from_the_media() -> None:
    page = render([post(1)])
    assert (page.find("img")[-1]["width"], page.find("img")[-1]["height"]) == ("1080", "1350")


def test_video_shows_poster_with_play_badge_and_no_player() -> None:
    page = render([post(1, type="video")])
    assert page.find("video") == [] and page.find("iframe") == []
    assert [s for s in page.find("span") if "fk-play" in (s.get("class") or "")]


@pytest.mark.parametrize("layout", ["grid", "carousel", "list", "cards"])
def test_every_layout_renders_each_item_with_data_item(layout: str) -> None:
    page = render([post(1), post(2), post(3)], layout=layout)
    assert [attrs["data-item"] for attrs in page.items()] == [post(n)["id"] for n in (1, 2, 3)]


def test_carousel_has_keyboard_focusable_viewport_and_arrow_buttons() -> None:
    page = render([post(1), post(2)], layout="carousel")
    viewport = [d for d in page.find("div") if "fk-viewport" in (d.get("class") or "")]
    assert viewport[0]["tabindex"] == "0"
    assert [b["aria-label"] for b in page.find("button")] == ["Previous", "Next"]


def test_review_cards_show_stars_reviewer_and_owner_reply() -> None:
    page = render([review(1)], platform="google_reviews")
    assert "★★★★★" in page.text and "Jonas Beispiel" in page.text
    assert "Danke Jonas, bis bald! 💛" in page.text and "Response from the owner" in page.text


def test_reviews_header_shows_average_and_count() -> None:
    page = render([review(1)], platform="google_reviews")
    assert any("4.6" in text and "418 reviews" in text for text in page.text)


def test_badge_shows_average_and_count_but_no_items() -> None:
    page = render([review(1), review(2)], platform="google_reviews", layout="badge")
    assert page.items() == []
    assert "4.6" in page.text and "418 reviews" in page.text


def test_badge_on_a_platform_without_ratings_is_a_bad_parameter() -> None:
    with pytest.raises(BadParameter):
        render([post(1)], layout="badge")


def test_header_links_to_the_profile_with_name_and_avatar() -> None:
    page = render([post(1)])
    assert "Luna Café Berlin" in page.text
    assert "https://example.com/instagram/lunacafe" in [a.get("href") for a in page.find("a")]
    assert page.find("img")[0]["src"] == "https://cdn.example.com/luna.jpg"


def _avatar(name: str) -> dict[str, Any]:
    """An author whose avatar is stored, as `resolve` gives it: our address and its sizes."""
    return {"name": name, "handle": None, "url": None, "avatar_url": f"https://cdn.example.com/{name}-160.webp",
            "avatar": {"sizes": [{"width": w, "height": w, "webp": f"https://cdn.example.com/{name}-{w}.webp"}
                                 for w in (48, 96)]}}


def test_every_reviewer_shows_their_own_avatar_and_its_sizes() -> None:
    page = render([review(1, author=_avatar("anna")), review(2, author=_avatar("jonas")),
                   review(3, author=_avatar("anna"))], "google_reviews")
    avatars = [(img["src"], img.get("srcset")) for img in page.find("img")][1:]  # after the profile's
    assert avatars == [(f"https://cdn.example.com/{name}-160.webp",
                        f"https://cdn.example.com/{name}-48.webp 48w, https://cdn.example.com/{name}-96.webp 96w")
                       for name in ("anna", "jonas", "anna")]


def test_header_can_be_turned_off() -> None:
    page = render([post(1)], header="0")
    assert page.find("header") == []


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_language_renders_its_labels_and_relative_dates(lang: str) -> None:
    page = render([post(1)], lang=lang)
    two_days = i18n.relative_date(datetime(2026, 9, 12, 7, 31, tzinfo=UTC), NOW, lang)
    assert two_days in page.text
    assert i18n.label(lang, "view_profile", platform="Instagram") in page.text


def test_language_defaults_from_accept_language() -> None:
    options = EmbedOptions.from_query({}, "fr-CH, fr;q=0.9, en;q=0.8")
    assert options.lang == "fr"


def test_explicit_lang_wins_over_accept_language() -> None:
    assert EmbedOptions.from_query({"lang": "pt"}, "de").lang == "pt"


@pytest.mark.parametrize("name,value", [
    ("theme", "neon"), ("layout", "masonry"), ("lang", "it"), ("css", "external"),
    ("accent", "red"), ("accent", "#12345"), ("accent", "#fff;}body{display:none"),
    ("radius", "-1"), ("radius", "49"), ("columns", "0"), ("columns", "7"), ("gap", "8px"),
    ("header", "maybe"), ("limit", "51"),
])
def test_bad_option_is_a_bad_parameter(name: str, value: str) -> None:
    with pytest.raises(BadParameter):
        EmbedOptions.from_query({name: value})


def test_options_become_css_custom_properties_on_the_root() -> None:
    page = render([post(1)], accent="#E4405F", radius="4", columns="2", gap="16", theme="dark")
    root = page.tags[0][1]
    assert "fk-theme-dark" in (root["class"] or "")
    assert root["style"] == ("--fk-ratio:1/1;--fk-cols:2;--fk-accent:#e4405f;--fk-on-accent:#111;"
                             "--fk-radius:4px;--fk-gap:16px")


@pytest.mark.parametrize("accent,text", [("#1b66d2", "#fff"), ("#000", "#fff"), ("#ffeb3b", "#111"), ("#fff", "#111")])
def test_text_on_the_accent_colour_keeps_its_contrast(accent: str, text: str) -> None:
    assert on_accent(accent) == text


def test_tiktok_tiles_are_portrait() -> None:
    page = render([post(1, platform="tiktok")], platform="tiktok")
    assert "--fk-ratio:9/16" in (page.tags[0][1]["style"] or "")


def test_inline_css_is_scoped_under_the_root_class() -> None:
    html = render_fragment(envelope([post(1)]), EmbedOptions(), NOW)
    css = html.split("<style>")[1].split("</style>")[0]
    selectors = [rule.split("{")[0] for rule in css.split("}") if "{" in rule and "@" not in rule.split("{")[0]]
    assert selectors and all(part.strip().startswith(".flowkick") or part.strip() in ("from", "to", "50%")
                             for selector in selectors for part in selector.split(","))


def test_css_none_leaves_the_style_out() -> None:
    assert "<style>" not in render_fragment(envelope([post(1)]), EmbedOptions(css="none"), NOW)


def test_pending_feed_renders_a_skeleton_of_limit_tiles() -> None:
    html = render_fragment(envelope([], status="pending"), EmbedOptions(css="none", limit=6), NOW)
    page = Page(html)
    assert page.tags[0][1]["data-status"] == "pending"
    assert len([li for li in page.find("li") if "fk-skel" in (li.get("class") or "")]) == 6
    assert page.items() == []


def test_empty_feed_says_so() -> None:
    page = render([])
    assert page.tags[0][1]["data-status"] == "empty" and "Nothing to show yet." in page.text


def test_failed_feed_with_old_items_still_shows_them() -> None:
    data = envelope([post(1)], status="error")
    page = Page(render_fragment(data, EmbedOptions(css="none"), NOW))
    assert len(page.items()) == 1


def test_error_fragment_is_quiet_and_carries_the_code() -> None:
    page = Page(render_error(Unauthorized("unknown key <pk_x>"), accept_language="es"))
    root = page.tags[0][1]
    assert root["data-error-code"] == "unknown_key" and root["lang"] == "es"
    assert page.text == ["Este feed no está disponible en este momento."]


def test_site_relative_images_become_absolute_against_the_base_url() -> None:
    html = render_fragment(envelope([post(1, image="/demo/media/1.jpg", media=[])]),
                           EmbedOptions(css="none"), NOW, base_url="http://127.0.0.1:8000/")
    assert 'src="http://127.0.0.1:8000/demo/media/1.jpg"' in html


def test_wall_renders_items_of_every_platform_and_each_source() -> None:
    wall = {"platforms": ["instagram", "google_reviews"], "status": "ok", "stale": False,
            "sources": [{"platform": p, "handle": "lunacafe.berlin", "status": "ok", "stale": False,
                         "fetched_at": None, "profile": envelope([], p)["profile"]}
                        for p in ("instagram", "google_reviews")],
            "items": [post(1), review(2)]}
    page = Page(render_wall(wall, EmbedOptions(css="none"), NOW))
    assert [attrs["data-platform"] for attrs in page.items()] == ["instagram", "google_reviews"]
    assert page.text.count("Luna Café Berlin") == 2


@pytest.mark.parametrize(("value", "base", "expected"), [
    ("/media/ab/x-320.webp", "https://f.example/flowkick", "https://f.example/flowkick/media/ab/x-320.webp"),
    ("/media/ab/x-320.webp", "http://127.0.0.1:8000/", "http://127.0.0.1:8000/media/ab/x-320.webp"),
    ("https://cdn.example/a.jpg", "https://f.example", "https://cdn.example/a.jpg"),
    ("//cdn.example/a.jpg", "https://f.example", None),
    ("javascript:alert(1)", "https://f.example", None),
    ("/media/x.webp", None, None),
])
def test_a_site_path_is_made_absolute_on_the_servers_address_like_the_json(value: str, base: str | None,
                                                                          expected: str | None) -> None:
    assert safe_url(value, base) == expected
