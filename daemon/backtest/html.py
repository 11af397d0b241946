"""A self-contained HTML backtest report: inline SVG charts (portfolio value with and without harvesting on a
log scale, cumulative harvested losses) and the report's tables; for `--windows`, the distribution across
windows, each window's after-tax difference over time and its values. No scripts, no external files."""

from __future__ import annotations

import math
from datetime import date
from html import escape
from typing import Any

from daemon.backtest.render import ASSUMPTION_NAMES, headline, money, pct

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")
# One color per window (start year), cycled: Tableau's ten, distinguishable side by side.
WINDOW_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = (lo // step + 1) * step if lo % step else lo
    out, x = [], first
    while x <= hi:
        out.append(x)
        x += step
    return out


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 steps of each power of ten inside [lo, hi]; every digit when that gives fewer than three; evenly
    spaced round numbers when the range is narrower still (where a log axis is nearly linear anyway)."""
    for steps in ((1, 2, 5), tuple(range(1, 10))):
        out = [m * 10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
               for m in steps if lo <= m * 10.0 ** k <= hi]
        if len(out) >= 3:
            return out
    return [v for v in _ticks(lo, hi) if v > 0] or [lo, hi]


def line_chart(title: str, dates: list[str], series: dict[str, list[float]], width: int = 900,
               height: int = 320, log: bool = False, label: Any = None) -> str:
    """Lines over `dates`; `log`: a logarithmic value axis (values that are not positive are left out);
    `label`: how an axis value is written (dollars by default)."""
    left, right, top, bottom = 80, 20, 30, 40
    label = label or money
    values = [v for s in series.values() for v in s if v is not None and (v > 0 or not log)]
    if not dates or not values:
        return ""
    if log:
        lo, hi = min(values), max(values)
        if hi <= lo:
            lo, hi = lo / 1.1, hi * 1.1
        f = math.log10
    else:
        lo, hi = min(0.0, min(values)), max(0.0, max(values)) or 1.0
        f = float
    flo, fhi = f(lo), f(hi)
    w, h = width - left - right, height - top - bottom
    n = max(len(dates) - 1, 1)

    def x(i: int) -> float:
        return left + w * i / n

    def y(v: float) -> float:
        return top + h * (1 - (f(v) - flo) / (fhi - flo if fhi > flo else 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             'font-size="12">',
             f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    labelled = -100.0
    for v in sorted(_log_ticks(lo, hi) if log else _ticks(lo, hi), reverse=True):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        if y(v) - labelled >= 16:  # every grid line, a label where it does not overlap the one above
            labelled = y(v)
            parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{escape(label(v))}</text>')
    if not log and lo < 0 < hi:
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" stroke="#333"/>')
    years = sorted({q[:4] for q in dates})
    every = max(1, len(years) // max(2, w // 60))  # a label per year while they fit, else every few years
    seen: set[str] = set()
    labelled = -100.0
    for i, d in enumerate(dates):
        year = d[:4]
        if year not in seen and (not seen or int(year) % every == 0) and x(i) - labelled >= 40:
            labelled = x(i)
            parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top}" y2="{top + h}" stroke="#eee"/>'
                         f'<text x="{x(i):.1f}" y="{top + h + 16}" text-anchor="middle">{year}</text>')
        seen.add(year)
    for k, (name, s) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s) if v is not None and (v > 0 or not log))
        color = COLORS[k % len(COLORS)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>'
                     f'<rect x="{left + 10}" y="{top + 8 + 16 * k}" width="12" height="3" fill="{color}"/>'
                     f'<text x="{left + 28}" y="{top + 13 + 16 * k}">{escape(name)}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def body(data: dict[str, Any]) -> str:
    """The report's content (charts and tables) without a page around it: for `render` and the dashboard."""
    s = data["series"]
    value = line_chart("Portfolio value (log scale)", s["date"], {"with harvesting": s["with_harvesting"],
                                                                  "without harvesting": s["without_harvesting"]},
                       log=True)
    harvested = line_chart("Cumulative harvested losses", s["date"], {"harvested": s["cumulative_harvested"]})
    summary = [[name, value] for name, value in headline(data)]
    compare = [["value at the end (pre-tax)", money(data["final_value"]["with_harvesting"]),
                money(data["final_value"]["without_harvesting"])]]
    for key, name in ASSUMPTION_NAMES.items():
        v = data["after_tax_value"][key]
        compare.append([f"after tax: {name}", money(v["with_harvesting"]), money(v["without_harvesting"])])
    mwr = data["money_weighted_return"]
    compare.append(["money-weighted return before tax", pct(mwr["before_tax"]["with_harvesting"]),
                    pct(mwr["before_tax"]["without_harvesting"])])
    for key, name in ASSUMPTION_NAMES.items():
        v = mwr["after_tax"][key]
        compare.append([f"money-weighted return after tax: {name}", pct(v["with_harvesting"]),
                        pct(v["without_harvesting"])])
    years = [[str(y["year"]), money(y["harvested_short"]), money(y["harvested_long"]), pct(y["harvest_yield"]),
              str(y["pairs"]), str(y["swap_backs"]), pct(y["turnover"], 0), str(y["wash_sales_created"]),
              money(y["taxes_paid"]["with_harvesting"]) + ("" if y["taxes_settled"] else " *"),
              money(y["taxes_paid"]["without_harvesting"]) + ("" if y["taxes_settled"] else " *"),
              money(y["end_value"]["with_harvesting"]), money(y["end_value"]["without_harvesting"])]
             for y in data["years"]]
    flagged = [[f["date"], f["symbol"], money(f["loss"]), f["move_date"], pct(f["move"], 0)]
               for f in data["large_move_harvests"]]
    caveats = "".join(f"<li>{escape(c)}</li>" for c in data["caveats"])
    return f"""<h1>Backtest: {escape(data['portfolio'])}</h1><p>{escape(data['description'])}</p>
{_table(["", ""], summary)}
{value}
{harvested}
<h2>With vs without harvesting</h2>
{_table(["", "with harvesting", "without harvesting"], compare)}
<h2>Per year</h2>
{_table(["year", "harvested short", "harvested long", "yield", "pairs", "swap backs", "turnover", "wash sales",
         "taxes with", "taxes without", "value with", "value without"], years)}
<p>* due at the end on realized gains, not yet settled</p>
{"<h2>Harvests across a large one-day move (possibly an unadjusted split)</h2>" + _table(
    ["sold", "symbol", "loss", "move on", "move"], flagged) if flagged else ""}
<h2>Caveats</h2><ul>{caveats}</ul>
"""


def render(data: dict[str, Any]) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest: {escape(data['portfolio'])}</title>
<style>body {{ font: 14px sans-serif; margin: 2em; max-width: 1000px }} table {{ border-collapse: collapse;
margin: 1em 0 }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right }}
td:first-child, th:first-child {{ text-align: left }}</style></head><body>
{body(data)}</body></html>
"""


def window_chart(title: str, windows: list[dict[str, Any]], series: dict[str, list[float | None]],
                 width: int = 900, height: int = 320) -> str:
    """Grouped bars: one group per window (its start year, or month when windows start within a year), one
    bar per series, in % a year. The key sits in its own band between the title and the plot, so it never
    covers a bar."""
    left, right, bottom = 60, 20, 40
    key, rows, kx = [], 0, left
    for name in series:  # key entries side by side, wrapped at the plot's width (12 px text: ~7 px a char)
        span = 28 + 7 * len(name) + 16
        if kx > left and kx + span > width - right:
            rows, kx = rows + 1, left
        key.append((kx, rows))
        kx += span
    top = 30 + 18 * (rows + 1) + 6
    values = [v for s in series.values() for v in s if v is not None]
    if not windows or not values:
        return ""
    lo, hi = min(0.0, min(values)), max(0.0, max(values))
    if hi <= lo:
        hi = lo + 0.01
    w, h = width - left - right, height - top - bottom
    group = w / len(windows)
    bar = group * 0.8 / max(len(series), 1)

    def y(v: float) -> float:
        return top + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             'font-size="12">', f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for v in _ticks(lo * 100, hi * 100):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v / 100):.1f}" y2="{y(v / 100):.1f}" '
                     f'stroke="#ddd"/><text x="{left - 6}" y="{y(v / 100) + 4:.1f}" text-anchor="end">{v:g} %</text>')
    years = [win["start"][:4] for win in windows]
    labels = years if len(set(years)) == len(years) else [win["start"][:7] for win in windows]  # steps < 1 year
    for i, label in enumerate(labels):
        x0 = left + group * i + group * 0.1
        parts.append(f'<text x="{x0 + group * 0.4:.1f}" y="{top + h + 16}" text-anchor="middle">'
                     f'{escape(label)}</text>')
        for k, s in enumerate(series.values()):
            v = s[i]
            if v is None:
                continue
            y0, y1 = sorted((y(0.0), y(v)))
            parts.append(f'<rect x="{x0 + bar * k:.1f}" y="{y0:.1f}" width="{bar:.1f}" '
                         f'height="{max(y1 - y0, 0.5):.1f}" fill="{COLORS[k % len(COLORS)]}"/>')
    for k, (name, (kx, row)) in enumerate(zip(series, key, strict=True)):
        ky = 30 + 18 * row
        parts.append(f'<rect x="{kx}" y="{ky + 2}" width="12" height="8" fill="{COLORS[k % len(COLORS)]}"/>'
                     f'<text x="{kx + 18}" y="{ky + 10}">{escape(name)}</text>')
    parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" stroke="#333"/>'
                 f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def distribution_chart(title: str, rows: list[tuple[str, list[float | None]]], width: int = 900) -> str:
    """One band per measure (% a year): a dot per window, the box from the first to the third quartile, the
    median as a bar, whiskers to the minimum and the maximum; the zero line."""
    from daemon.backtest.windows import distribution  # the summary's own quartiles

    left, right, top, row_h = 200, 30, 34, 38
    rows = [(name, [v for v in values if v is not None]) for name, values in rows]
    rows = [(name, values) for name, values in rows if values]
    if not rows:
        return ""
    every = [v for _, values in rows for v in values]
    lo, hi = min(0.0, min(every)), max(0.0, max(every))
    if hi <= lo:
        hi = lo + 0.01
    w = width - left - right
    height = top + row_h * len(rows) + 30

    def x(v: float) -> float:
        return left + w * (v - lo) / (hi - lo)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             'font-size="12">', f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>']
    bottom = top + row_h * len(rows)
    for v in _ticks(lo * 100, hi * 100):
        parts.append(f'<line x1="{x(v / 100):.1f}" x2="{x(v / 100):.1f}" y1="{top}" y2="{bottom}" stroke="#eee"/>'
                     f'<text x="{x(v / 100):.1f}" y="{bottom + 16}" text-anchor="middle">{v:g} %</text>')
    parts.append(f'<line x1="{x(0.0):.1f}" x2="{x(0.0):.1f}" y1="{top}" y2="{bottom}" stroke="#333"/>')
    for k, (name, values) in enumerate(rows):
        d = distribution(values)
        mid = top + row_h * k + row_h / 2
        color = COLORS[k % len(COLORS)] if k < 3 else "#555"
        parts.append(f'<text x="{left - 10}" y="{mid + 4:.1f}" text-anchor="end">{escape(name)}</text>'
                     f'<line x1="{x(d["min"]):.1f}" x2="{x(d["max"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
                     f'stroke="#888"/>'
                     f'<rect x="{x(d["q1"]):.1f}" y="{mid - 9:.1f}" width="{max(x(d["q3"]) - x(d["q1"]), 1):.1f}" '
                     f'height="18" fill="{color}" fill-opacity="0.25" stroke="{color}"/>'
                     f'<line x1="{x(d["median"]):.1f}" x2="{x(d["median"]):.1f}" y1="{mid - 11:.1f}" '
                     f'y2="{mid + 11:.1f}" stroke="{color}" stroke-width="3"><title>median '
                     f'{escape(pct(d["median"]))}</title></line>')
        for v in values:
            parts.append(f'<circle cx="{x(v):.1f}" cy="{mid:.1f}" r="3" fill="{color}" fill-opacity="0.7"/>')
    parts.append("</svg>")
    return "".join(parts)


def _years_since(start: str, day: str) -> float:
    return (date.fromisoformat(day) - date.fromisoformat(start)).days / 365.25


def difference_chart(title: str, windows: list[dict[str, Any]], width: int = 900, height: int = 360) -> str:
    """Every window's after-tax difference (with minus without harvesting, % of the after-tax value without)
    against the years since its start: one line per window, labelled by its start year."""
    ws = [w for w in windows if w.get("after_tax_difference", {}).get("date")]
    values = [v for w in ws for v in w["after_tax_difference"]["pct_of_without"] if v is not None]
    if not values:
        return ""
    left, right, top, bottom = 60, 90, 30, 40
    lo, hi = min(0.0, min(values)), max(0.0, max(values))
    if hi <= lo:
        hi = lo + 0.01
    span = max(_years_since(w["start"], w["after_tax_difference"]["date"][-1]) for w in ws) or 1.0
    w_, h = width - left - right, height - top - bottom

    def x(years: float) -> float:
        return left + w_ * years / span

    def y(v: float) -> float:
        return top + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             'font-size="12">', f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for v in _ticks(lo * 100, hi * 100):
        parts.append(f'<line x1="{left}" x2="{left + w_}" y1="{y(v / 100):.1f}" y2="{y(v / 100):.1f}" '
                     f'stroke="#ddd"/><text x="{left - 6}" y="{y(v / 100) + 4:.1f}" text-anchor="end">{v:g} %</text>')
    step = 1.0 if span >= 2 else 0.25  # windows shorter than two years: a tick a quarter
    for k in range(0, math.floor(span / step) + 1):
        parts.append(f'<line x1="{x(k * step):.1f}" x2="{x(k * step):.1f}" y1="{top}" y2="{top + h}" stroke="#eee"/>'
                     f'<text x="{x(k * step):.1f}" y="{top + h + 16}" text-anchor="middle">{k * step:g}</text>')
    # Each line is named by its start year, or its start month when windows start within a year.
    names = [w["start"][:4] for w in ws]
    if len(set(names)) < len(names):
        names = [w["start"][:7] for w in ws]
    parts.append(f'<text x="{left + w_ / 2:.1f}" y="{height - 4}" text-anchor="middle">years since the window\'s '
                 f'start</text><line x1="{left}" x2="{left + w_}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" stroke="#333"/>')
    for k, win in enumerate(ws):
        d = win["after_tax_difference"]
        color = WINDOW_COLORS[k % len(WINDOW_COLORS)]
        points = [(x(_years_since(win["start"], day)), y(v)) for day, v in zip(d["date"], d["pct_of_without"],
                                                                                 strict=True) if v is not None]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in points) + f'"><title>{escape(win["start"])}</title>'
                     f'</polyline>')
        ly = top + 6 + 14 * k
        parts.append(f'<rect x="{left + w_ + 10}" y="{ly:.1f}" width="12" height="3" fill="{color}"/>'
                     f'<text x="{left + w_ + 26}" y="{ly + 5:.1f}">{escape(names[k])}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{w_}" height="{h}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def _window_figures(windows: list[dict[str, Any]]) -> str:
    """Per window: its values with and without harvesting (log scale) and its after-tax difference in dollars."""
    out = []
    for win in windows:
        s, d = win.get("series"), win.get("after_tax_difference")
        if not s or not d:
            continue
        value = line_chart("Value (log scale)", s["date"], {"with": s["with_harvesting"],
                                                           "without": s["without_harvesting"]},
                           width=440, height=220, log=True)
        diff = line_chart("After-tax difference, with − without", d["date"], {"liquidated": d["usd"]},
                          width=440, height=220)
        out.append(f'<figure class="window"><figcaption>{escape(win["start"])} to {escape(win["end"])}: tax alpha '
                   f'{escape(pct(win["tax_alpha"]["liquidated"]))} a year (liquidated)</figcaption>{value}{diff}'
                   f'</figure>')
    return "".join(out)


def render_windows(data: dict[str, Any]) -> str:
    """`--windows --format html`: the distribution across start dates, each window's after-tax difference over
    time, a bar per window, the tables, and each window's values (log scale)."""
    ws = data["windows"]
    measures = [(f"tax alpha, {name}", [w["tax_alpha"][key] for w in ws])
                for key, name in (("liquidated", "liquidated"), ("held", "held"), ("st_at_lt", "ST at LT"))]
    measures += [("tax effect", [w["tax_effect"] for w in ws]),
                 ("before-tax difference", [w["before_tax_difference"] for w in ws])]
    if all("placebo_before_tax_difference" in w for w in ws):
        measures += [("placebo before-tax diff.", [w["placebo_before_tax_difference"] for w in ws]),
                     ("before-tax beyond placebo", [w["before_tax_difference_beyond_placebo"] for w in ws])]
    spread = distribution_chart(f"Across {len(ws)} windows, % a year: each dot a window; box: quartiles; bar: "
                                f"median", measures)
    over_time = difference_chart("After-tax difference over time, % of the after-tax value without harvesting "
                                 "(liquidated)", ws)
    chart = window_chart("Per window, % a year (by start)", ws, {
        "tax alpha (liquidated)": [w["tax_alpha"]["liquidated"] for w in ws],
        "tax effect": [w["tax_effect"] for w in ws],
        "before-tax difference": [w["before_tax_difference"] for w in ws]})
    rows = [[w["start"], w["end"], pct(w["tax_alpha"]["held"]), pct(w["tax_alpha"]["liquidated"]),
             pct(w["tax_alpha"]["st_at_lt"]), pct(w["tax_effect"]), pct(w["before_tax_difference"]),
             pct(w.get("placebo_before_tax_difference"))] for w in ws]
    names = [(f"tax alpha, {k}", d) for k, d in data["summary"]["tax_alpha"].items()]
    names += [(k.replace("_", " "), d) for k, d in data["summary"].items() if k != "tax_alpha"]
    summary = [[name, pct(d["median"]), f"{pct(d['q1'])} .. {pct(d['q3'])}", pct(d["min"]), pct(d["max"]),
                f"{d['positive']} of {d['count']}"] for name, d in names]
    a = data["assumptions"]
    figures = _window_figures(ws)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest windows: {escape(data['portfolio'])}</title>
<style>body {{ font: 14px sans-serif; margin: 2em; max-width: 1000px }} table {{ border-collapse: collapse;
margin: 1em 0 }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right }}
td:first-child, th:first-child {{ text-align: left }} svg {{ max-width: 100%; height: auto }}
figure.window {{ margin: 1em 0; display: flex; flex-wrap: wrap; gap: 10px }}
figure.window figcaption {{ flex-basis: 100%; font-weight: bold }}</style></head><body>
<h1>Backtest: {escape(data['portfolio'])}, every {escape(data['window'])} window starting every
{escape(data['step'])}</h1>
<p>{escape(data['frequency'])} harvesting; rates {pct(a['short_term_rate'], 1)} short-term /
{pct(a['long_term_rate'], 1)} long-term (+ NIIT {pct(a['niit_rate'], 1)}, state {pct(a['state_rate'], 1)});
losses {escape(a['losses'])}; taxes paid from the {escape(a['paid_from'])}.</p>
<h2>Across {len(ws)} windows</h2>
{spread}
{_table(["", "median", "quartiles", "min", "max", "positive"], summary)}
{"<h2>After-tax difference over time</h2><p>With minus without harvesting, each as if sold that day and taxed "
 "(taxes not yet settled included), by quarter; a year apart for a direct index.</p>" + over_time
 if over_time else ""}
<h2>Windows</h2>
{chart}
{_table(["start", "end", "tax alpha held", "liquidated", "ST at LT", "tax effect", "before-tax diff.",
         "placebo before-tax diff."], rows)}
{"<h2>Each window</h2>" + figures if figures else ""}
</body></html>
"""
