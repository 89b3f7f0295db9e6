"""An inline SVG stacked bar chart (requests per day per client), computed here, drawn by Jinja.

No JavaScript and no chart library: the template draws the rectangles this module
measures, each with a <title> so hovering (or a screen reader) tells the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 48, 24, 8
COLORS = ("#2563eb", "#16a34a", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#6b7280")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    legend: list[tuple[str, str]]  # (label, color)
    ticks: list[tuple[float, str]]  # (y, label) on the value axis
    days: list[tuple[float, str]]  # (x, label) under some bars
    baseline: float


def stacked(days: Sequence[str], series: Mapping[str, Mapping[str, int]]) -> Chart:
    """`series` maps a label (client) to {day: requests}; one stacked bar per day."""
    labels = list(series)
    colors = {label: COLORS[min(i, len(COLORS) - 1)] for i, label in enumerate(labels)}
    totals = [sum(series[label].get(day, 0) for label in labels) for day in days]
    top = _nice(max(totals, default=0))
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT) / max(len(days), 1)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        y = float(HEIGHT - BOTTOM)
        for label in labels:
            value = series[label].get(day, 0)
            if value:
                h = plot_h * value / top
                y -= h
                bars.append(Bar(LEFT + i * slot + 1, y, max(slot - 2, 1), h, colors[label], f"{day} · {label}: {value}"))
    ticks = [(HEIGHT - BOTTOM - plot_h * f, f"{top * f:,.1f}".removesuffix(".0")) for f in (0, 0.5, 1)]
    every = max(1, len(days) // 6)
    marks = [(LEFT + i * slot + slot / 2, day[5:]) for i, day in enumerate(days) if i % every == 0]
    return Chart(WIDTH, HEIGHT, bars, [(label, colors[label]) for label in labels], ticks, marks, HEIGHT - BOTTOM)


def _nice(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10
