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
