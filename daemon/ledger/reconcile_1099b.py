"""A broker's 1099-B against the ledger: every sale whose proceeds, basis, wash-sale amount or term differ,
with the reason when the ledger knows it.

The ledger's figures are the household's (wash sales across accounts and identical securities included);
`form_8949.broker_view` gives what the broker can compute from the account alone. When the 1099-B agrees
with the broker's view, a difference is expected and explained (a cross-account or cross-security wash
sale, a replacement lot carrying a loss from elsewhere); otherwise it is unexplained (fees, lot relief,
a missing trade or corporate action). Differences of a cent or less are rounding and not listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.ledger.form_8949 import Reported, aggregate, sale_key
from daemon.ledger.money import cents
from daemon.ledger.types import Disposition, LedgerState, Term, WashMatch

TOLERANCE = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a 1099-B (daemon/importers/form_1099b.py reads them)."""

    line: int
    symbol: str
    quantity: Decimal
    acquired: date | None
    sold: date
    proceeds: Decimal
    basis: Decimal | None
    wash: Decimal
    term: Term | None


@dataclass(frozen=True, slots=True)
class Difference:
    line: int | None  # the 1099-B's line (None: a ledger sale missing from the 1099-B)
    symbol: str
    sold: date
    quantity: Decimal
    field: str  # proceeds, basis, wash_sale, term, or "sale" (unmatched)
    broker: str
    ledger: str
    reason: str
    explained: bool


def _money(v: Decimal | None) -> str:
    return "" if v is None else format(cents(v), "f")


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE


def _match(rows: Sequence[Row], ours: Mapping[tuple[str, str], Reported],
           broker: Mapping[tuple[str, str], Reported]) -> tuple[list[tuple[Row, tuple[str, str]]], list[Row]]:
    free = sorted(ours, key=lambda k: (ours[k].sold, ours[k].symbol, ours[k].acquired, k))
    pairs: list[tuple[Row, tuple[str, str]]] = []
    unmatched: list[Row] = []
    tests = (
        lambda r, k: r.quantity == ours[k].quantity and r.acquired in (ours[k].acquired, _acquired(broker, k)),
        lambda r, k: r.quantity == ours[k].quantity,
    )
    pending = list(rows)
    for test in tests:
        left: list[Row] = []
        for r in pending:
            k = next((k for k in free if ours[k].symbol == r.symbol and ours[k].sold == r.sold and test(r, k)), None)
            if k is None:
                left.append(r)
            else:
                free.remove(k)
                pairs.append((r, k))
        pending = left
    unmatched = pending
    return pairs, unmatched


def _acquired(broker: Mapping[tuple[str, str], Reported], key: tuple[str, str]) -> date | None:
    b = broker.get(key)
    return b.acquired if b else None


def _origins(sold: Sequence[Disposition], state: LedgerState) -> tuple[list[str], list[str]]:
    """(washes of these shares' loss outside their account and symbol; losses from elsewhere their basis
    carries), as text."""
    by_id = {d.disposition_id: d for d in state.dispositions}
    ids = {d.disposition_id for d in sold}
    lots = {d.lot_id for d in sold}
    washed: list[str] = []
    carried: list[str] = []
    for m in state.matches:
        if m.disposition_id in ids:
            d = by_id[m.disposition_id]
            if m.account != d.account or m.symbol != d.symbol:
                washed.append(_washed_by(m))
        if any(lot == m.lot_id or lot.startswith(m.lot_id + ".") for lot in lots):
            loss = by_id.get(m.disposition_id)
            if loss is not None and (loss.account != sold[0].account or loss.symbol != sold[0].symbol):
                carried.append(f"${cents(m.disallowed):,} disallowed on the {loss.symbol} loss sold {loss.sold} in "
                               f"{loss.account}")
    return list(dict.fromkeys(washed)), list(dict.fromkeys(carried))


def _washed_by(m: WashMatch) -> str:
    where = f"{m.symbol} bought {m.replacement_date} in {m.account}"
    return where + (" (permanently: a tax-advantaged account)" if m.permanent else "")


def reconcile(rows: Sequence[Row], account: str, state: LedgerState,
              broker: Mapping[tuple[str, str], Reported]) -> list[Difference]:
    years = {r.sold.year for r in rows}
    sales = [d for d in state.dispositions if d.account == account and d.sold.year in years]
    ours = aggregate(sales)
    pieces: dict[tuple[str, str], list[Disposition]] = {}
    for d in sales:
        pieces.setdefault(sale_key(d), []).append(d)
    pairs, unmatched = _match(rows, ours, broker)
    out: list[Difference] = []
    for r, key in pairs:
        o, b = ours[key], broker.get(key)
        washed, carried = _origins(pieces[key], state)
        checks: list[tuple[str, str, str, bool, bool]] = [  # field, broker, ledger, differs, broker view agrees
            ("proceeds", _money(r.proceeds), _money(o.proceeds), not _near(r.proceeds, o.proceeds),
             b is not None and _near(r.proceeds, b.proceeds) and not _near(b.proceeds, o.proceeds)),
            ("wash_sale", _money(r.wash), _money(o.wash), not _near(r.wash, o.wash),
             b is not None and _near(r.wash, b.wash)),
        ]
        if r.basis is not None:
            checks.append(("basis", _money(r.basis), _money(o.basis), not _near(r.basis, o.basis),
                           b is not None and _near(r.basis, b.basis)))
        if r.term is not None:
            checks.append(("term", r.term.value, o.term.value, r.term is not o.term,
                           b is not None and r.term is b.term))
        for field, theirs, mine, differs, expected in checks:
            if not differs:
                continue
            reason = _reason(field, expected, washed, carried)
            out.append(Difference(r.line, r.symbol, r.sold, r.quantity, field, theirs, mine, reason,
                                  explained=expected and bool(washed or carried)))
    for r in unmatched:
        out.append(Difference(r.line, r.symbol, r.sold, r.quantity, "sale", "reported", "",
                              "no sale of this symbol, date and quantity in the ledger's account", False))
    matched = {k for _, k in pairs}
    for key in sorted(set(ours) - matched, key=lambda k: (ours[k].sold, ours[k].symbol, k)):
        o = ours[key]
        out.append(Difference(None, o.symbol, o.sold, o.quantity, "sale", "", "booked",
                              "a ledger sale the 1099-B does not show", False))
    return sorted(out, key=lambda x: (x.sold, x.symbol, x.line or 0, x.field))


def _reason(field: str, expected: bool, washed: Iterable[str], carried: Iterable[str]) -> str:
    washed, carried = list(washed), list(carried)
    if expected and field == "wash_sale" and washed:
        return ("a wash sale the broker cannot see (it reports only the same security in the same account): "
                "washed by " + "; ".join(washed))
    if expected and field in ("basis", "term") and carried:
        what = "basis" if field == "basis" else "holding period"
        return (f"our {what} carries a wash sale from another account or security (code B on Form 8949): "
                + "; ".join(carried))
    if expected and field == "wash_sale" and carried:
        return "the replacement's adjusted basis changes the loss: " + "; ".join(carried)
    return ("unexplained: the 1099-B differs from what the ledger computes for this account alone "
            "(check fees, lot relief, missing trades or corporate actions)")
