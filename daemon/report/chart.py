"""An inline SVG step chart of cumulative harvested losses and estimated tax saved (no library, no network)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 78, 20, 40, 36
SERIES = (("Harvested losses", "#2563eb"), ("Estimated tax saved", "#16a34a"))
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def nice_step(top: float, ticks: int = 5) -> float:
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw))


def money(value: float) -> str:
    if value >= 1_000_000:
        return f"${value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"${value / 1000:.0f}k"
    return f"${value:,.0f}"


def svg(points: Sequence[tuple[date, Decimal, Decimal]], year: int, end: date, width: int = WIDTH,
        height: int = HEIGHT) -> str:
    """`points`: (day, cumulative loss, cumulative saved), ascending; the lines run on to `end`. A narrow
    `width` (a phone) labels the months with their initial and stacks the legend's entries less widely."""
    start, last = date(year, 1, 1), date(year, 12, 31)
    end = min(max(end, points[-1][0] if points else start), last)
    span = (last - start).days or 1
    narrow = width < 560
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    top = max([float(max(p[1], p[2])) for p in points] + [0.0])
    step = nice_step(top) if top > 0 else 1000.0
    y_max = step * max(math.ceil(top / step), 1)

    def x(day: date) -> float:
        return LEFT + plot_w * (day - start).days / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="Cumulative harvested losses and estimated tax saved, {year}" '
             'font-family="system-ui, sans-serif" font-size="12">']
    for i in range(int(round(y_max / step)) + 1):
        v = i * step
        parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#6b7280">{money(v)}</text>')
    for m, name in enumerate(MONTHS, start=1):
        mx = x(date(year, m, 1))
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
                     f'stroke="#9ca3af"/><text x="{mx + 2:.1f}" y="{height - 14}" fill="#6b7280">'
                     f'{name[0] if narrow else name}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#9ca3af"/>')
    if not points:
        parts.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" '
                     f'fill="#6b7280" font-size="15">No harvested sales in {year} yet</text>')
    for index, (label, colour) in enumerate(SERIES):
        if points:
            d = f"M{x(start):.1f},{y(0):.1f}"
            for day, *values in points:
                d += f" H{x(day):.1f} V{y(float(values[index])):.1f}"
            d += f" H{x(end):.1f}"
            parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            for day, *values in points:
                v = float(values[index])
                parts.append(f'<circle cx="{x(day):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                             f'<title>{escape(label)} by {day}: ${v:,.2f}</title></circle>')
        lx = (10 + index * (width - 20) // 2) if narrow else LEFT + 10 + index * 190
        parts.append(f'<rect x="{lx}" y="12" width="14" height="4" fill="{colour}"/>'
                     f'<text x="{lx + 20}" y="18" fill="#111827">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
