"""`tlh gains --format 8949-html`: Form 8949 as one printable page, the form's columns (a)-(h) per box,
each box closed by its totals (the sums of the printed lines)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from daemon.ledger import form_8949 as form

BOXES = {
    "A": "Short-term, basis reported to the IRS (1099-B)", "B": "Short-term, basis not reported to the IRS",
    "C": "Short-term, no 1099-B", "D": "Long-term, basis reported to the IRS (1099-B)",
    "E": "Long-term, basis not reported to the IRS", "F": "Long-term, no 1099-B",
}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111827}
h1{font-size:1.4rem;margin:0 0 4px}h2{font-size:1.05rem;margin:24px 0 6px}.sub{color:#4b5563;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:.82rem}
th,td{border:1px solid #9ca3af;padding:4px 6px;text-align:left;white-space:nowrap}
th{background:#f3f4f6;font-weight:600;vertical-align:bottom}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:700;background:#f9fafb}.note{color:#4b5563;font-size:.8rem}
@media print{body{margin:0}section{break-inside:avoid}h2{break-after:avoid}}
"""
HEAD = ["(a) Description of property", "(b) Date acquired", "(c) Date sold or disposed of",
        "(d) Proceeds (sales price)", "(e) Cost or other basis", "(f) Code(s)", "(g) Amount of adjustment",
        "(h) Gain or (loss)"]


def _money(v: Decimal) -> str:
    return f"({abs(v):,.2f})" if v < 0 else f"{v:,.2f}"


def render(lines: Sequence[form.Line], *, year: int | None, taxpayer: str | None) -> str:
    sections = []
    for total in form.totals(lines):
        rows = "".join(
            f"<tr><td>{escape(x.description)}</td><td>{x.acquired:%m/%d/%Y}</td><td>{x.sold:%m/%d/%Y}</td>"
            f'<td class="n">{_money(x.proceeds)}</td><td class="n">{_money(x.basis)}</td><td>{escape(x.code)}</td>'
            f'<td class="n">{_money(x.adjustment) if x.adjustment or x.code else ""}</td>'
            f'<td class="n">{_money(x.gain)}</td></tr>'
            for x in lines if x.box == total.box)
        rows += (f'<tr class="total"><td colspan="3">2 Totals (box {total.box})</td>'
                 f'<td class="n">{_money(total.proceeds)}</td><td class="n">{_money(total.basis)}</td><td></td>'
                 f'<td class="n">{_money(total.adjustment)}</td><td class="n">{_money(total.gain)}</td></tr>')
        part = "Part I, Short-Term" if total.part == "I" else "Part II, Long-Term"
        sections.append(f'<section id="box-{total.box}"><h2>{part}: box {total.box} ({escape(BOXES[total.box])})'
                        f"</h2><table><thead><tr>{''.join(f'<th>{h}</th>' for h in HEAD)}</tr></thead>"
                        f"<tbody>{rows}</tbody></table></section>")
    title = "Form 8949" + (f" {year}" if year else "") + (f", {escape(taxpayer)}" if taxpayer else "")
    body = "".join(sections) or '<p class="note">No sales.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{CSS}</style></head>
<body><h1>{title}</h1>
<p class="sub">Sales and Other Dispositions of Capital Assets, as computed by tlh-daemon from its ledger.
Column (e) is the basis your 1099-B reports for covered lots; column (g) turns it into the ledger's figures
(code B: the reported basis misses a wash sale across accounts or securities; W: wash sale; T: the 1099-B's
term is not the ledger's). Amounts in parentheses are negative.</p>
{body}
</body></html>
"""
