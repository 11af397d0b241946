"""A self-contained HTML backtest report: inline SVG charts (portfolio value with and without harvesting,
cumulative harvested losses) and the report's tables. No scripts, no external files."""

from __future__ import annotations

from html import escape
from typing import Any

from daemon.backtest.render import ASSUMPTION_NAMES, headline, money, pct

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")


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


def line_chart(title: str, dates: list[str], series: dict[str, list[float]], width: int = 900,
               height: int = 320) -> str:
    left, right, top, bottom = 80, 20, 30, 40
    values = [v for s in series.values() for v in s]
    if not dates or not values:
        return ""
    lo, hi = min(0.0, min(values)), max(values) or 1.0
    w, h = width - left - right, height - top - bottom
    n = max(len(dates) - 1, 1)

    def x(i: int) -> float:
        return left + w * i / n

    def y(v: float) -> float:
        return top + h * (1 - (v - lo) / (hi - lo if hi > lo else 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             'font-size="12">',
             f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>']
    for v in _ticks(lo, hi):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{money(v)}</text>')
    seen: set[str] = set()
    for i, d in enumerate(dates):
        year = d[:4]
        if year not in seen and (not seen or int(year) % max(1, (len({q[:4] for q in dates}) // 10)) == 0):
            parts.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top}" y2="{top + h}" stroke="#eee"/>'
                         f'<text x="{x(i):.1f}" y="{top + h + 16}" text-anchor="middle">{year}</text>')
        seen.add(year)
    for k, (name, s) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s))
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
    value = line_chart("Portfolio value", s["date"], {"with harvesting": s["with_harvesting"],
                                                      "without harvesting": s["without_harvesting"]})
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
    """Grouped bars: one group per window (its start year), one bar per series, in % a year."""
    left, right, top, bottom = 60, 20, 30, 40
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
    for i, win in enumerate(windows):
        x0 = left + group * i + group * 0.1
        parts.append(f'<text x="{x0 + group * 0.4:.1f}" y="{top + h + 16}" text-anchor="middle">'
                     f'{escape(win["start"][:4])}</text>')
        for k, s in enumerate(series.values()):
            v = s[i]
            if v is None:
                continue
            y0, y1 = sorted((y(0.0), y(v)))
            parts.append(f'<rect x="{x0 + bar * k:.1f}" y="{y0:.1f}" width="{bar:.1f}" '
                         f'height="{max(y1 - y0, 0.5):.1f}" fill="{COLORS[k % len(COLORS)]}"/>')
    for k, name in enumerate(series):
        parts.append(f'<rect x="{left + 10}" y="{top + 8 + 16 * k}" width="12" height="8" '
                     f'fill="{COLORS[k % len(COLORS)]}"/><text x="{left + 28}" y="{top + 16 + 16 * k}">'
                     f'{escape(name)}</text>')
    parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" stroke="#333"/>'
                 f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def render_windows(data: dict[str, Any]) -> str:
    """`--windows --format html`: the distribution across start dates, a bar per window, and the tables."""
    ws = data["windows"]
    chart = window_chart("Per window, % a year (start year)", ws, {
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
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest windows: {escape(data['portfolio'])}</title>
<style>body {{ font: 14px sans-serif; margin: 2em; max-width: 1000px }} table {{ border-collapse: collapse;
margin: 1em 0 }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right }}
td:first-child, th:first-child {{ text-align: left }}</style></head><body>
<h1>Backtest: {escape(data['portfolio'])}, every {escape(data['window'])} window starting every
{escape(data['step'])}</h1>
<p>{escape(data['frequency'])} harvesting; rates {pct(a['short_term_rate'], 1)} short-term /
{pct(a['long_term_rate'], 1)} long-term (+ NIIT {pct(a['niit_rate'], 1)}, state {pct(a['state_rate'], 1)});
losses {escape(a['losses'])}; taxes paid from the {escape(a['paid_from'])}.</p>
{chart}
<h2>Across {len(ws)} windows</h2>
{_table(["", "median", "quartiles", "min", "max", "positive"], summary)}
<h2>Windows</h2>
{_table(["start", "end", "tax alpha held", "liquidated", "ST at LT", "tax effect", "before-tax diff.",
         "placebo before-tax diff."], rows)}
</body></html>
"""
