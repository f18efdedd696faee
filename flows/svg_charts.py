"""Small charts as inline SVG, so the run report is one file that opens with no network.

Deliberately plain: a few series over a category axis (months, bins), as lines or bars,
with a legend, gridlines and labelled axes. Values come already aggregated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f5f8b", "#d1495b", "#66a182", "#edae49", "#8d6a9f", "#555555")
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 58


def _axis(value: float) -> tuple[float, int]:
    """(top of the axis, number of gridline steps): steps of 1, 2 or 5 times a power of
    ten, about four of them."""
    if value <= 0:
        return 1.0, 4
    rough = value / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if rough <= m * magnitude)
    steps = max(1, math.ceil(value / step - 1e-9))
    return step * steps, steps


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _frame(
    title: str, unit: str, x_labels: Sequence[str], top: float, steps: int
) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="12" y="{TOP + plot_h / 2}" font-size="11" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2})" text-anchor="middle">'
        f"{escape(unit)}</text>",
    ]
    for i in range(steps + 1):
        value = top * i / steps
        y = TOP + plot_h - plot_h * i / steps
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{_fmt(value)}</text>')
    # At most ~24 labels on the axis, so monthly series of several years stay legible.
    every = max(1, math.ceil(len(x_labels) / 24))
    step = plot_w / max(len(x_labels), 1)
    for i, label in enumerate(x_labels):
        if i % every:
            continue
        x = LEFT + step * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                     f'text-anchor="end" transform="rotate(-45 {x:.1f} {TOP + plot_h + 14})">'
                     f"{escape(label)}</text>")
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], WIDTH - RIGHT
    for i, name in reversed(list(enumerate(names))):
        x -= 14 + 7 * len(name) + 12
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="33" font-size="11">{escape(name)}</text>')
    return parts


def line_chart(
    title: str, unit: str, x_labels: Sequence[str], series: dict[str, Sequence[float]]
) -> str:
    """One line per series over the categories of `x_labels`."""
    top, steps = _axis(max((v for values in series.values() for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(x_labels), 1)
    parts = _frame(title, unit, x_labels, top, steps)
    for i, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{LEFT + step * (j + 0.5):.1f},{TOP + plot_h - plot_h * v / top:.1f}"
            for j, v in enumerate(values)
        )
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{escape(name)}</title></polyline>')
    parts += _legend(list(series))
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    title: str,
    unit: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float]],
    stacked: bool = False,
) -> str:
    """Bars per category: side by side, or stacked (e.g. final + provisional)."""
    if stacked:
        totals = [sum(values[j] for values in series.values()) for j in range(len(x_labels))]
        top, steps = _axis(max(totals, default=0))
    else:
        top, steps = _axis(max((v for values in series.values() for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(x_labels), 1)
    width = step * 0.8 / (1 if stacked else max(len(series), 1))
    parts = _frame(title, unit, x_labels, top, steps)
    base = [0.0] * len(x_labels)
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        for j, value in enumerate(values):
            height = plot_h * value / top
            x = LEFT + step * j + step * 0.1 + (0 if stacked else width * i)
            y = TOP + plot_h - height - (plot_h * base[j] / top if stacked else 0)
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                         f'height="{height:.1f}" fill="{colour}"><title>{escape(name)} '
                         f"{escape(x_labels[j])}: {_fmt(value)}</title></rect>")
            if stacked:
                base[j] += value
    parts += _legend(list(series))
    parts.append("</svg>")
    return "\n".join(parts)


def share_bars(
    title: str, labels: Sequence[str], series: dict[str, Sequence[float]]
) -> str:
    """One horizontal bar per label, split into the series' shares of its total (100%).

    For many categories with long names (tables, sources): the labels sit at the left,
    and small categories are as visible as large ones.
    """
    label_w, row_h, top_margin = 230, 16, 40
    height = top_margin + row_h * len(labels) + 24
    plot_w = WIDTH - label_w - RIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, label in enumerate(labels):
        y = top_margin + row_h * i
        total = sum(values[i] for values in series.values())
        parts.append(f'<text x="{label_w - 6}" y="{y + row_h * 0.7:.1f}" font-size="10" '
                     f'text-anchor="end">{escape(label)}</text>')
        x = float(label_w)
        for k, (name, values) in enumerate(series.items()):
            width = plot_w * values[i] / total if total else 0.0
            share = 100 * values[i] / total if total else 0.0
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" '
                         f'height="{row_h - 4}" fill="{PALETTE[k % len(PALETTE)]}">'
                         f"<title>{escape(label)}, {escape(name)}: {_fmt(values[i])} "
                         f"({share:.1f}%)</title></rect>")
            x += width
    axis_y = top_margin + row_h * len(labels) + 12
    for pct in (0, 25, 50, 75, 100):
        x = label_w + plot_w * pct / 100
        parts.append(f'<text x="{x:.1f}" y="{axis_y}" font-size="10" '
                     f'text-anchor="middle">{pct}%</text>')
    parts += _legend(list(series))
    parts.append("</svg>")
    return "\n".join(parts)
