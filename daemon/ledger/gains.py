"""Realized gains as the tax forms want them: rows (split where a sale is partly washed), Form 8949 parts
and boxes, and the year's summary with the ordinary-income offset and carry-forward."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from daemon.ledger.money import prorate
from daemon.ledger.types import ZERO, Account, Disposition, Term


@dataclass(frozen=True, slots=True)
class GainRow:
    disposition_id: str
    account: str
    symbol: str
    quantity: Decimal
    acquired: date
    sold: date
    proceeds: Decimal
    cost_basis: Decimal
    adjustment: Decimal  # disallowed loss, >= 0 (Form 8949 column g)
    code: str  # "W" for a wash sale, else ""
    term: Term
    permanent: Decimal  # part of the adjustment no lot received (IRA replacement)

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost_basis + self.adjustment


def rows(dispositions: Iterable[Disposition]) -> list[GainRow]:
    """One row per taxable disposition; a partly washed one becomes a washed row and an allowed row."""
    out: list[GainRow] = []
    for d in dispositions:
        if not d.taxable:
            continue  # sales inside IRAs/401(k)s/HSAs are not reported
        whole = GainRow(disposition_id=d.disposition_id, account=d.account, symbol=d.symbol, quantity=d.quantity,
                        acquired=d.acquired, sold=d.sold, proceeds=d.proceeds, cost_basis=d.cost_basis,
                        adjustment=d.adjustment, code="W" if d.adjustment > 0 else "", term=d.term,
                        permanent=d.permanent)
        if ZERO < d.washed_quantity < d.quantity:
            proceeds = prorate(d.proceeds, d.washed_quantity, d.quantity)
            basis = prorate(d.cost_basis, d.washed_quantity, d.quantity)
            out.append(replace(whole, quantity=d.washed_quantity, proceeds=proceeds, cost_basis=basis))
            out.append(replace(whole, quantity=d.quantity - d.washed_quantity, proceeds=d.proceeds - proceeds,
                               cost_basis=d.cost_basis - basis, adjustment=ZERO, code="", permanent=ZERO))
        else:
            out.append(whole)
    return out


def form_8949_box(row: GainRow, basis_reported: bool) -> str:
    """Part I (short-term) boxes A/B, Part II (long-term) boxes D/E: A/D when the 1099-B reported basis."""
    if row.term is Term.SHORT:
        return "A" if basis_reported else "B"
    return "D" if basis_reported else "E"


def by_box(gain_rows: Iterable[GainRow], accounts: Mapping[str, Account]) -> dict[str, list[GainRow]]:
    boxes: dict[str, list[GainRow]] = {}
    for row in gain_rows:
        account = accounts.get(row.account)
        box = form_8949_box(row, account.basis_reported if account else True)
        boxes.setdefault(box, []).append(row)
    return dict(sorted(boxes.items()))


@dataclass(frozen=True, slots=True)
class Summary:
    short_term_net: Decimal
    long_term_net: Decimal
    disallowed: Decimal  # all wash-sale adjustments on the year's sales
    permanently_disallowed: Decimal  # the part that went into no basis (IRA replacements)
    net: Decimal
    ordinary_income_offset: Decimal  # the part of a net loss deducted from ordinary income this year
    carryforward_short: Decimal
    carryforward_long: Decimal


def summarize(gain_rows: Iterable[GainRow], *, offset_limit: Decimal = Decimal(3000),
              prior_carryforward_short: Decimal = ZERO, prior_carryforward_long: Decimal = ZERO) -> Summary:
    """Net the year's gains (IRS Schedule D and its capital loss carryover worksheet).

    Prior carry-forwards join their own term; a net loss offsets up to `offset_limit` of ordinary income,
    short-term losses first, and the rest carries forward keeping its character.
    """
    gain_rows = list(gain_rows)
    st = sum((r.gain for r in gain_rows if r.term is Term.SHORT), ZERO) - prior_carryforward_short
    lt = sum((r.gain for r in gain_rows if r.term is Term.LONG), ZERO) - prior_carryforward_long
    disallowed = sum((r.adjustment for r in gain_rows), ZERO)
    permanent = sum((r.permanent for r in gain_rows), ZERO)
    net = st + lt
    offset = min(-net, offset_limit) if net < 0 else ZERO
    cf_short = cf_long = ZERO
    if net < 0:
        if st < 0 and lt < 0:
            cf_short = max(-st - offset, ZERO)
            cf_long = -lt - max(offset - (-st), ZERO)
        elif st < 0:  # the long-term gain absorbed part of the short-term loss
            cf_short = -net - offset
        else:
            cf_long = -net - offset
    return Summary(short_term_net=st, long_term_net=lt, disallowed=disallowed,
                   permanently_disallowed=permanent, net=net, ordinary_income_offset=offset,
                   carryforward_short=cf_short, carryforward_long=cf_long)
