"""The embed code we publish: a placeholder whose space is reserved by CSS, plus the script.

A one-line `<script async>` tag can only reserve the feed's space once it runs, and when
it runs after the first paint (it usually does) the page below jumps: a CLS of 0.15 on
a page with a feed above the fold. So every snippet Flowkick publishes (the README, the
landing page, /admin, the examples, the WordPress plugin's widget fallback) is a
placeholder `<div data-flowkick …>` holding a spacer as tall as the feed will be, and the
script. The feed's height is linear in its width (square or fixed-ratio tiles in columns,
fixed-height rows and cards, see embed.css), so the spacer is `padding-top: calc(P% + Qpx)`,
whose percentage CSS takes from the placeholder's width: exact at any width, before any
script. widget.js keeps that space when it mounts (the shadow root hides the spacer).
widget.js computes the same numbers for a bare script tag, and the WordPress plugin has
a PHP copy; tests keep all three in step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from flowkick.platforms import resolve_platform
from flowkick.render import DEFAULT_COLUMNS, RATIOS, EmbedOptions

PAD, HEAD, ROW, CARD, BADGE, FOOT, GAP = 12, 56, 96, 200, 56, 44, 8


def spacer_height(platform: str | None, options: EmbedOptions) -> tuple[float, float]:
    """The feed's height as (share of its width in percent, pixels)."""
    platform = resolve_platform(platform) if platform else None
    options = options.for_platform(platform)
    layout = options.layout or "grid"
    if layout == "badge":
        return 0.0, 2 * PAD + BADGE
    width, height = RATIOS.get(platform or "", (1, 1))
    ratio, n = height / width, options.limit
    cols = options.columns or DEFAULT_COLUMNS.get(layout, 3)
    gap = GAP if options.gap is None else options.gap
    rows = 1 if layout == "carousel" else math.ceil(n / cols)
    fixed = 2 * PAD + (HEAD if options.header else 0) + (FOOT if options.more else 0)
    if layout == "list":
        return 0.0, fixed + n * ROW + (n - 1) * gap
    if layout == "cards":
        return 0.0, fixed + rows * CARD + (rows - 1) * gap
    share = rows * ratio / cols  # each tile is (width - padding - gaps) / cols wide
    return 100 * share, fixed + (rows - 1) * gap - share * (2 * PAD + (cols - 1) * gap)


def spacer_style(platform: str | None, options: EmbedOptions) -> str:
    percent, pixels = spacer_height(platform, options)
    if not percent:
        return f"padding-top:{_number(pixels)}px"
    sign = "-" if pixels < 0 else "+"
    return f"padding-top:calc({_number(percent)}% {sign} {_number(abs(pixels))}px)"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def placeholder(platform: str | None, key: str, attributes: Mapping[str, str]) -> str:
    """`<div data-flowkick …>` with its spacer; `platform` None is the merged wall
    (give `platforms` in `attributes`). Attribute values are the widget's options."""
    options = EmbedOptions.from_query(attributes)
    names = {"platform": platform} if platform else {}
    data = "".join(f' data-{name.replace("_", "-")}="{escape(value)}"'
                   for name, value in {**names, "key": key, **attributes}.items() if value)
    return f'<div data-flowkick{data}><div style="{spacer_style(platform, options)}"></div></div>'


def script(base_url: str) -> str:
    return f'<script src="{escape(base_url.rstrip("/"))}/widget.js" async></script>'


def snippet(base_url: str, platform: str | None, key: str, attributes: Mapping[str, str] | None = None) -> str:
    """The published embed code: the placeholder where the feed goes, then the script."""
    return placeholder(platform, key, attributes or {}) + "\n" + script(base_url)
