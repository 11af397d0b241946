"""`tlh report --format html`: one self-contained page (inline CSS and SVG; nothing loaded at view time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any

from daemon.report import chart
from daemon.report.data import Report
from daemon.report.views import FIGURE_COLUMNS, LABELS, report_dict

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f8fafc;color:#111827}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 8px}
.sub{color:#6b7280;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px}
.card .v{font-size:1.35rem;font-weight:600}.card .k{color:#6b7280;font-size:.85rem}
.panel{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.86rem}
th,td{padding:6px 8px;border-bottom:1px solid #eef0f3;text-align:left;white-space:nowrap}
thead th{background:#f3f4f6}th{font-weight:600}tbody th{width:40%}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.neg{color:#b91c1c}.note{color:#4b5563;font-size:.85rem}
#location td:last-child{white-space:normal;min-width:240px}
"""


RETURN_COLUMNS = ["taxpayer", "year", "carryforward_in_short", "carryforward_in_long", "short_term_net",
                  "long_term_net", "net", "ordinary_income_offset", "carryforward_short", "carryforward_long"]


def _money(value: Any) -> str:
    if value is None:
        return "–"
    v = Decimal(value)
    text = f"${abs(v):,.2f}"
    return f'<span class="neg">−{text}</span>' if v < 0 else text


def _cell(column: str, value: Any) -> str:
    if column == "cash_pct":
        return "–" if value is None else f"{value} %"
    if column in FIGURE_COLUMNS or column in LABELS or column in RETURN_COLUMNS[2:]:
        return _money(value)
    return escape(str(value))


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], numeric: Sequence[str]) -> str:
    if not rows:
        return '<p class="note">None.</p>'
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{escape(LABELS.get(c, c.capitalize()))}</th>'
                   for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="{"n" if c in numeric else ""}">{_cell(c, r.get(c))}</td>'
                                    for c in columns) + "</tr>" for r in rows)
    return f'<div class="panel"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _matrix(entities: Sequence[Mapping[str, Any]], key: str, captions: Sequence[str], metrics: Sequence[str]) -> str:
    """One column per household or account, one row per figure: narrow enough for any screen."""
    if not entities:
        return '<p class="note">None.</p>'
    head = "<th></th>" + "".join(
        f'<th class="n">{escape(str(e[key]))}'
        + "".join(f'<br><span class="note">{escape(str(e[c]))}</span>' for c in captions) + "</th>"
        for e in entities)
    body = "".join(f"<tr><th>{escape(LABELS.get(m, m))}</th>"
                   + "".join(f'<td class="n">{_cell(m, e.get(m))}</td>' for e in entities) + "</tr>"
                   for m in metrics)
    return f'<div class="panel"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


GIFT_COLUMNS = ["account", "lot", "symbol", "acquired", "quantity", "price", "value", "cost_basis", "gain"]
HINT_COLUMNS = ["household", "account", "symbol", "asset class", "value", "annual_tax_drag",
                "estimated_annual_savings", "suggestion"]


def _giving(giving: list[dict[str, Any]]) -> str:
    """Per household: its long-term lots with the largest gain per dollar (what `tlh donate` gives first)."""
    parts = []
    for g in giving:
        parts.append(f"<h3>{escape(g['household'])}</h3>"
                     + _table([{**lot, "lot": lot["lot_id"]} for lot in g["lots"]], GIFT_COLUMNS, GIFT_COLUMNS[4:])
                     + f'<p class="note">Given together, these lots deduct {_money(g["deduction"])} and avoid '
                       f'{_money(g["tax_avoided"])} of capital-gains tax on {_money(g["gain"])} of gain. '
                     + " ".join(escape(n) + "." for n in g["notes"]) + "</p>")
    return "".join(parts) or '<p class="note">None.</p>'


def _location(location: dict[str, Any]) -> str:
    saving = location.get("estimated_annual_savings")
    summary = ("" if saving is None else
               f'<p class="note">The swaps would save about {_money(saving)} of tax a year (typical yields and '
               f"tax character of each asset class; hints only, nothing is traded).</p>")
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in location.get("notes", []))
    rows = [{**h, "asset class": h["asset_class"]} for h in location["hints"]]
    return _table(rows, HINT_COLUMNS, HINT_COLUMNS[4:7]) + summary + notes


def render(report: Report) -> str:
    d = report_dict(report)
    totals = {c: sum((Decimal(h[c]) for h in d["households"]), Decimal(0)) for c in
              ("harvested", "tax_saved", "realized_short", "realized_long", "disallowed_deferred",
               "disallowed_permanent", "carryforward_short", "carryforward_long")}
    cards = "".join(f'<div class="card"><div class="k">{escape(LABELS[k])}</div><div class="v">{_money(v)}</div>'
                    f"</div>" for k, v in totals.items())
    households = _matrix(d["households"], "household", [],
                         [*FIGURE_COLUMNS, "ordinary_income_offset", "carryforward_short", "carryforward_long"])
    returns = _table([y for h in d["households"] for y in h["returns"]], RETURN_COLUMNS, RETURN_COLUMNS[2:])
    accounts = _matrix(d["accounts"], "account", ["household", "type", "broker"],
                       [*FIGURE_COLUMNS, "cash", "cash_pct", "excess_cash"])
    restrictions = "".join(
        f"<h3>{escape(h['household'])}</h3>" + _table(h["restrictions"], ["symbol", "until", "sale", "source"], [])
        for h in d["households"])
    giving = _giving(d["giving"])
    location = _location(d["location"])
    notes = "".join(f"<li>{escape(n)}</li>" for n in d["notes"])
    rates = d["rates"]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    svg = chart.svg(report.timeline, report.year, report.as_of)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tax-loss harvesting report {report.year}</title><style>{CSS}</style></head>
<body><main>
<h1>Tax-loss harvesting report {report.year}</h1>
<p class="sub">Generated {generated} by tlh-daemon · tax rates short-term {Decimal(rates['short_term']) * 100:.1f} %,
long-term {Decimal(rates['long_term']) * 100:.1f} % (including NIIT and state)</p>
<section class="cards" id="totals">{cards}</section>
<h2>Cumulative harvested losses and estimated tax saved</h2>
<div class="panel" id="chart">{svg}</div>
<h2>Households</h2><section id="households">{households}</section>
<h2>Returns (Schedule D, carry-forward chained over the years)</h2><section id="returns">{returns}</section>
<h2>Accounts</h2><section id="accounts">{accounts}</section>
<h2>Do not buy (wash-sale windows open today)</h2><section id="restrictions">{restrictions}</section>
<h2>Giving: the lots to give to charity first</h2><section id="giving">{giving}</section>
<h2>Asset location</h2><section id="location">{location}</section>
<h2>Notes</h2><ul class="note" id="notes">{notes}
<li>Harvested losses: the daemon's own sales (booked from its brokers' fills on the day of one of its filled
sell orders), net of later wash-sale adjustments. Estimated tax saved values them at the marginal rates above,
before netting with the year's gains; the carry-forward shows what the year could not use.</li>
<li>Gains are positive and losses negative in the realized columns; harvested losses are positive.</li></ul>
</main></body></html>
"""
