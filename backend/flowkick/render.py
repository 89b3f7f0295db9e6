"""The feed as an HTML fragment: options, view models and the Jinja2 templates.

Everything a platform sends is untrusted text. It reaches the page only through Jinja2
with autoescape on, and a URL only becomes an `href` or `src` when it is http(s): a
caption holding `<script>` shows as those characters, and a `javascript:` link shows as
no link at all. The widget mounts this same markup in a shadow root; WordPress and
server-side includes put it straight into the host page, so the CSS is scoped under the
one root class `.flowkick` and every box has a size fixed by the layout (text is clamped),
which is what lets the widget reserve the exact space before the fragment arrives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from flowkick import i18n
from flowkick.errors import BadParameter, FlowkickError
from flowkick.platforms import LABELS

THEMES = ("light", "dark", "auto")
LAYOUTS = ("grid", "carousel", "list", "cards", "badge")
REVIEW_LAYOUTS = ("cards", "badge")
CSS_MODES = ("inline", "none")
DEFAULT_LAYOUT = {"google_reviews": "cards", "twitter": "list", "facebook": "list"}
DEFAULT_COLUMNS = {"carousel": 4}
# Tile shape per platform (width / height); the widget holds the same table to reserve space.
RATIOS = {"tiktok": (9, 16), "youtube": (16, 9)}
DEFAULT_LIMIT = 12
PAGE_MARGINS = 80  # CSS pixels of a page around a full-width feed, for the first row's `sizes`
_ACCENT_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_PLACEHOLDER_RE = re.compile(r"#[0-9a-f]{6}")
_ALT_MAX = 120
# 24x24 path data for the counters under a post: likes, comments, views.
_ICONS = {
    "likes": "M12 21s-7.5-4.6-9.6-9.2C.9 8.2 3 4.5 6.6 4.5c2.2 0 3.6 1.2 5.4 3.2 1.8-2 3.2-3.2 5.4-3.2 3.6 0 "
             "5.7 3.7 4.2 7.3C19.5 16.4 12 21 12 21z",
    "comments": "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    "views": "M12 5C6.5 5 2.3 9.4 1 12c1.3 2.6 5.5 7 11 7s9.7-4.4 11-7c-1.3-2.6-5.5-7-11-7zm0 11a4 4 0 1 1 0-8 "
             "4 4 0 0 1 0 8z",
}


@dataclass(frozen=True)
class EmbedOptions:
    """How one embed looks. Hashable, so it can be part of the rendered-bytes cache key."""

    theme: str = "light"
    layout: str | None = None
    lang: str = i18n.DEFAULT_LANG
    accent: str | None = None
    radius: int | None = None
    columns: int | None = None
    gap: int | None = None
    css: str = "inline"
    header: bool = True
    limit: int = DEFAULT_LIMIT
    more: bool = False  # a "load more" button under the feed (the widget makes it work)

    @classmethod
    def from_query(cls, params: Mapping[str, str], accept_language: str | None = None) -> EmbedOptions:
        """Options from an embed's query string; unknown names are left to other readers."""
        lang = params.get("lang") or i18n.negotiate(accept_language)
        return cls(
            theme=_choice(params, "theme", THEMES, "light"),
            layout=_choice(params, "layout", LAYOUTS, None),
            lang=_choice({"lang": lang}, "lang", i18n.LANGS, i18n.DEFAULT_LANG),
            accent=_accent(params.get("accent")),
            radius=_integer(params, "radius", 0, 48),
            columns=_integer(params, "columns", 1, 6),
            gap=_integer(params, "gap", 0, 48),
            css=_choice(params, "css", CSS_MODES, "inline"),
            header=_flag(params, "header", True),
            limit=_integer(params, "limit", 1, 50) or DEFAULT_LIMIT,
            more=_flag(params, "more", False),
        )

    def for_platform(self, platform: str | None) -> EmbedOptions:
        """These options with the layout resolved for one platform (None: the merged wall)."""
        layout = self.layout or DEFAULT_LAYOUT.get(platform or "", "grid")
        if layout == "badge" and platform != "google_reviews":
            raise BadParameter("layout=badge needs a reviews platform", code="bad_layout")
        return replace(self, layout=layout)


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str | None) -> Any:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise BadParameter(f"{name} must be one of {', '.join(allowed)}")
    return value


def _integer(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _accent(value: str | None) -> str | None:
    """A CSS colour the host chose; only #rgb or #rrggbb, so it can never break out of CSS."""
    if not value:
        return None
    if not _ACCENT_RE.fullmatch(value):
        raise BadParameter("accent must be a colour written #rgb or #rrggbb")
    return value.lower()


def _flag(params: Mapping[str, str], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value not in ("0", "1", "true", "false"):
        raise BadParameter(f"{name} must be 1 or 0")
    return value in ("1", "true")


class _ViewEnvironment(Environment):
    """Templates read view models, which are dicts: `i.url` looks the key up first. Jinja2
    tries an attribute first, and a dict's failed attribute lookup raised and caught an
    AttributeError per `i.name` (0.8 µs; about 600 of them a fragment, a quarter of its render)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@cache
def _environment() -> Environment:
    env = _ViewEnvironment(
        loader=PackageLoader("flowkick", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no stat of each file per render
    )
    # The stats' icons are the same markup in every item: made once here, not by a macro call each.
    icon = env.from_string('<svg class="fk-icon" width="12" height="12" viewBox="0 0 24 24" aria-hidden="true" '
                           'focusable="false"><path fill="currentColor" d="{{ d }}"/></svg>')
    env.globals["ICONS"] = {name: Markup(icon.render(d=path)) for name, path in _ICONS.items()}
    env.globals["stars_text"] = lambda rating: "★" * round(rating) + "☆" * (5 - round(rating))
    return env


@cache
def stylesheet() -> str:
    """The fragment's CSS; also served alone at /embed.css for hosts that ask css=none."""
    return files("flowkick").joinpath("static/embed.css").read_text(encoding="utf-8")


@cache
def inline_stylesheet() -> str:
    """The CSS without comments and runs of whitespace: it travels inside every fragment."""
    return re.sub(r"\s+", " ", re.sub(r"/\*.*?\*/", "", stylesheet(), flags=re.S)).strip()


def render_fragment(envelope: Mapping[str, Any], options: EmbedOptions, now: datetime,
                    base_url: str | None = None) -> str:
    """One platform's feed envelope as a themed HTML fragment."""
    platform = envelope.get("platform")
    options = options.for_platform(platform)
    profile = envelope.get("profile") or {}
    context = _Context(options, now, base_url)
    return _render("embed/fragment.html", options, context, platform=platform,
                   status=_state(envelope), profiles=[_profile_view(profile, platform, context)],
                   items=context.items(envelope.get("items")), next=_cursor(envelope))


def render_wall(envelope: Mapping[str, Any], options: EmbedOptions, now: datetime,
                base_url: str | None = None) -> str:
    """The merged feed of several platforms (items carry their own platform)."""
    options = options.for_platform(None)
    context = _Context(options, now, base_url)
    profiles = [_profile_view(s.get("profile") or {}, s.get("platform"), context)
                for s in envelope.get("sources") or []]
    return _render("embed/fragment.html", options, context, platform=None,
                   status=_state(envelope), profiles=profiles,
                   items=context.items(envelope.get("items")), next=_cursor(envelope))


def render_error(error: FlowkickError, options: EmbedOptions | None = None,
                 accept_language: str | None = None) -> str:
    """A quiet fragment for a failed embed: a short muted line, never a broken page."""
    options = options or EmbedOptions(lang=i18n.negotiate(accept_language))
    return _environment().get_template("embed/error.html").render(
        code=error.code, message=error.message, lang=options.lang, theme=options.theme,
        css=_css(options), text=i18n.label(options.lang, "unavailable"))


def _render(template: str, options: EmbedOptions, context: _Context, **values: Any) -> str:
    return _environment().get_template(template).render(
        o=options, t=context.label, css=_css(options), style=_root_style(options, values["platform"]),
        skeletons=range(1 if options.layout == "badge" else options.limit), **values)


def _cursor(envelope: Mapping[str, Any]) -> str | None:
    """The next page's cursor (pagination.py): base64url, safe in an attribute as it is."""
    cursor = envelope.get("next")
    return cursor if isinstance(cursor, str) else None


def _state(envelope: Mapping[str, Any]) -> str:
    """ok, pending (a skeleton), empty or error; items on hand always win over an error."""
    if envelope.get("items"):
        return "ok"
    status = envelope.get("status") or "ok"
    return status if status in ("pending", "error") else "empty"


def _css(options: EmbedOptions) -> Markup | None:
    # Our own file, not platform text: safe to mark as such.
    return Markup(inline_stylesheet()) if options.css == "inline" else None


def _root_style(options: EmbedOptions, platform: str | None) -> str:
    """CSS custom properties from validated options (numbers and #hex only)."""
    width, height = RATIOS.get(platform or "", (1, 1))
    props = {"--fk-ratio": f"{width}/{height}",
             "--fk-cols": str(options.columns or DEFAULT_COLUMNS.get(options.layout or "", 3))}
    if options.accent:
        props["--fk-accent"] = options.accent
        props["--fk-on-accent"] = on_accent(options.accent)
    if options.radius is not None:
        props["--fk-radius"] = f"{options.radius}px"
    if options.gap is not None:
        props["--fk-gap"] = f"{options.gap}px"
    return ";".join(f"{name}:{value}" for name, value in props.items())


def on_accent(accent: str) -> str:
    """White or near-black, whichever reads better on the accent (WCAG contrast)."""
    digits = accent[1:] if len(accent) == 7 else "".join(c * 2 for c in accent[1:])
    channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    dark = 0.0056  # relative luminance of #111
    return "#fff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / (dark + 0.05) else "#111"


def safe_url(value: Any, base_url: str | None = None) -> str | None:
    """An http(s) URL, or a site path made absolute on `base_url` (this server's address,
    a path prefix included, as the JSON's `absolute` does); anything else None."""
    return _absolute(value, _site(base_url))


def _site(base_url: str | None) -> str | None:
    """This server's address without its trailing slash, when it is an http(s) URL."""
    return base_url.rstrip("/") if base_url and _checked_url(base_url) else None


def _absolute(value: Any, site: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.startswith("/") and not value.startswith("//"):
        # A path cannot change the address it is put after, already checked (`_site`):
        # a fragment's pictures are all such paths, a hundred and more of them.
        return site + value if site else None
    return value if _checked_url(value) else None


@lru_cache(maxsize=4096)  # a fragment names a few hundred addresses, most of them again next time
def _checked_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Context:
    """What turning items into view models needs: options, the clock and the base URL."""

    def __init__(self, options: EmbedOptions, now: datetime, base_url: str | None) -> None:
        self.options = options
        self.lang = options.lang
        self.now = now
        self.site = _site(base_url)
        self._avatars: dict[str, dict[str, str | None]] = {}

    def label(self, name: str, **values: object) -> str:
        return i18n.label(self.lang, name, **values)

    def url(self, value: Any) -> str | None:
        return _absolute(value, self.site)

    def date(self, value: Any) -> dict[str, str] | None:
        when = i18n.parse_date(value if isinstance(value, str) else None)
        if when is None:
            return None
        return {"iso": when.isoformat().replace("+00:00", "Z"),
                "text": i18n.relative_date(when, self.now, self.lang)}

    def items(self, items: Any) -> list[dict[str, Any]]:
        """The items' view models; the first row's pictures load at once, the rest lazily."""
        first_row = self.options.columns or DEFAULT_COLUMNS.get(self.options.layout or "", 3)
        valid = [item for item in items or [] if isinstance(item, dict)]  # parsed JSON: the Mapping ABC cost 5x
        return [self.item(item, eager=index < first_row) for index, item in enumerate(valid)]

    def item(self, item: Mapping[str, Any], eager: bool = False) -> dict[str, Any]:
        """An item's view model: only what the templates show, already made safe."""
        platform = _text(item.get("platform"))
        label = LABELS.get(platform, platform)
        text, title = _text(item.get("text")), _text(item.get("title"))
        media = _first_media(item)
        picture = item.get("picture") if isinstance(item.get("picture"), dict) else {}
        width, height = _image_size(picture or media, platform)
        author = item.get("author") if isinstance(item.get("author"), dict) else {}
        reply = item.get("reply") if isinstance(item.get("reply"), dict) else None
        rating = _number(item.get("rating"))
        return {
            "id": str(item.get("id") or ""), "platform": platform, "platform_label": label,
            "type": _text(item.get("type")) or "text", "url": self.url(item.get("url")),
            "title": title, "text": text,
            "image": self.url(item.get("image")),
            "width": width, "height": height,
            "srcset": self.srcsets(picture.get("sizes")),
            "sizes": self._sizes(eager),
            "placeholder": _placeholder(picture.get("placeholder")),
            "eager": eager,
            "alt": _alt(media, text, title) or self.label("post_on", platform=label),
            "video": item.get("type") == "video" or media.get("type") == "video",
            "multi": item.get("type") == "carousel",
            "view_label": self.label("view_profile", platform=label),
            **self._lightbox_media(item),
            "date": self.date(item.get("published_at")),
            "author": {"name": _text(author.get("name")) or _text(author.get("handle")),
                       **self.avatar(author)},
            "rating": max(0, min(5, int(round(rating)))) if rating is not None else None,
            "stats": self._stats(item),
            "reply": {"text": _text(reply.get("text")), "date": self.date(reply.get("published_at"))}
            if reply and _text(reply.get("text")) else None,
        }

    def avatar(self, owner: Mapping[str, Any]) -> dict[str, str | None]:
        """An author's or profile's avatar and its WebP `srcset`, worked out once per picture:
        every post of an account repeats its owner's (12 of a fragment's 25 srcsets were the
        same avatar's). The address is our stored copy, so it names the sizes too."""
        key = owner.get("avatar_url")
        found = self._avatars.get(key) if isinstance(key, str) else None
        if found is None:
            found = {"avatar": self.url(key), "avatar_srcset": self.srcsets(_sizes_of(owner.get("avatar"))).get("webp")}
            if isinstance(key, str):
                self._avatars[key] = found
        return found

    def srcsets(self, sizes: Any) -> dict[str, str]:
        """`srcset` lists per format ("avif", "webp") from a stored picture's sizes."""
        widths = [(size, int(width)) for size in (sizes if isinstance(sizes, list) else [])
                  if isinstance(size, dict) and (width := _number(size.get("width")))]
        sets = {fmt: ", ".join(f"{url} {width}w" for size, width in widths
                               if (url := self.url(size.get(fmt))) and "," not in url and " " not in url)
                for fmt in ("avif", "webp")}
        return {fmt: entries for fmt, entries in sets.items() if entries}

    def _lightbox_media(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """What the lightbox shows beyond the tile: a carousel's stored pictures and a stored
        video file (a space-separated attribute, so only URLs without spaces pass)."""
        media = [m for m in item.get("media") or [] if isinstance(m, dict)]
        urls = {kind: [u for m in media if m.get("type") == kind and (u := self.url(m.get("url"))) and " " not in u]
                for kind in ("image", "video")}
        return {"gallery": urls["image"] if len(urls["image"]) > 1 else [], "video_src": next(iter(urls["video"]), None)}

    def _sizes(self, eager: bool) -> str:
        """How wide a picture shows: the laid-out width for lazy pictures (`auto`); for the
        eager first row, a column's share of the viewport less a page's usual margins (the
        feed's own width is unknown before layout; and Chromium reads "auto, …" on an eager
        picture as the whole viewport); list thumbnails are fixed."""
        if self.options.layout == "list":
            return "80px"
        columns = self.options.columns or DEFAULT_COLUMNS.get(self.options.layout or "", 3)
        estimate = f"calc((100vw - {PAGE_MARGINS}px) / {columns})"
        return estimate if eager else f"auto, {estimate}"

    def _stats(self, item: Mapping[str, Any]) -> list[dict[str, str]]:
        stats = []
        for name in ("likes", "comments", "views"):
            value = _number(item.get(name))
            if value is not None:
                stats.append({"name": name, "value": i18n.compact_number(value, self.lang),
                              "label": self.label(name, count=i18n.compact_number(value, self.lang))})
        return stats


def _first_media(item: Mapping[str, Any]) -> Mapping[str, Any]:
    media = item.get("media")
    if isinstance(media, list) and media and isinstance(media[0], dict):
        return media[0]
    return {}


def _sizes_of(picture: Any) -> Any:
    return picture.get("sizes") if isinstance(picture, dict) else None


def _placeholder(value: Any) -> str | None:
    """A placeholder colour goes into a style attribute: only #rrggbb passes."""
    return value if isinstance(value, str) and _PLACEHOLDER_RE.fullmatch(value) else None


def _image_size(media: Mapping[str, Any], platform: str) -> tuple[int, int]:
    """The image's own size when known, else the platform's tile shape at 1080 wide."""
    width, height = _number(media.get("width")), _number(media.get("height"))
    if width and height and width > 0 and height > 0:
        return int(width), int(height)
    ratio_w, ratio_h = RATIOS.get(platform, (1, 1))
    return 1080, round(1080 * ratio_h / ratio_w)


def _alt(media: Mapping[str, Any], text: str, title: str) -> str:
    """The platform's alt text when given, else the start of the caption (or title)."""
    alt = _text(media.get("alt")) or " ".join((text or title).split())
    if len(alt) <= _ALT_MAX:
        return alt
    return alt[:_ALT_MAX].rsplit(" ", 1)[0] + "…"


def _profile_view(profile: Mapping[str, Any], platform: str | None, context: _Context) -> dict[str, Any]:
    """The header's view of a profile: name, avatar, link, and a place's rating summary."""
    label = LABELS.get(platform or "", platform or "")
    followers, rating = _number(profile.get("followers")), _number(profile.get("rating"))
    count = _number(profile.get("review_count"))
    return {
        "name": _text(profile.get("name")) or _text(profile.get("handle")) or label,
        "handle": _text(profile.get("handle")),
        "url": context.url(profile.get("url")),
        **context.avatar(profile),
        "platform": platform or "", "platform_label": label,
        "view_label": context.label("view_profile", platform=label),
        "followers": context.label("followers", count=i18n.compact_number(followers, context.lang))
        if followers is not None else None,
        "rating": i18n.decimal(rating, context.lang) if rating is not None else None,
        "rating_value": rating,
        "reviews": context.label("reviews", count=i18n.compact_number(count, context.lang))
        if count is not None else None,
        "stars_label": context.label("stars", rating=i18n.decimal(rating, context.lang))
        if rating is not None else None,
    }
