"""Realized gains as the tax forms want them: rows (split where a sale is partly washed), Form 8949 parts
and boxes, and the year's summary with the ordinary-income offset and carry-forward."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from daemon.ledger.money import cents, prorate
from daemon.ledger.tax_years import Carryforward, YearResults, schedule_d
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
    trade_id: str = ""  # the sell trade
    purchase_id: str = ""  # the purchase lot the shares came from
    purchased: date | None = None  # that purchase's trade date (not the adjusted acquisition date)

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
                        permanent=d.permanent, trade_id=d.trade_id, purchase_id=d.purchase_id,
                        purchased=d.purchased)
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


def year_results(gain_rows: Iterable[GainRow], *, to_cents: bool = False) -> YearResults:
    """The sums of `gain_rows` by term; `to_cents` sums each row's printed cents (as Form 8949 does, so that
    Schedule D equals the sum of the form's rows to the cent)."""
    st = lt = disallowed = permanent = ZERO
    for r in gain_rows:
        if to_cents:
            gain = cents(r.proceeds) - cents(r.cost_basis) + cents(r.adjustment)
            adjustment, lost = cents(r.adjustment), cents(r.permanent)
        else:
            gain, adjustment, lost = r.gain, r.adjustment, r.permanent
        if r.term is Term.SHORT:
            st += gain
        else:
            lt += gain
        disallowed += adjustment
        permanent += lost
    return YearResults(st, lt, disallowed, permanent)


def summarize(gain_rows: Iterable[GainRow], *, offset_limit: Decimal = Decimal(3000),
              prior_carryforward_short: Decimal = ZERO, prior_carryforward_long: Decimal = ZERO) -> Summary:
    """Net one year's gains (IRS Schedule D and its capital loss carryover worksheet, see `tax_years`)."""
    y = schedule_d(0, year_results(gain_rows), Carryforward(0, prior_carryforward_short, prior_carryforward_long),
                   offset_limit)
    return Summary(short_term_net=y.short_term_net, long_term_net=y.long_term_net, disallowed=y.disallowed,
                   permanently_disallowed=y.permanently_disallowed, net=y.net,
                   ordinary_income_offset=y.ordinary_income_offset, carryforward_short=y.carryforward_short,
                   carryforward_long=y.carryforward_long)


def returns_by_year(gain_rows: Iterable[GainRow], return_of: Mapping[str, str]) -> dict[str, dict[int, YearResults]]:
    """Each return's results per year (rows in cents); `return_of` maps account id -> return id."""
    grouped: dict[str, dict[int, list[GainRow]]] = {}
    for r in gain_rows:
        grouped.setdefault(return_of[r.account], {}).setdefault(r.sold.year, []).append(r)
    return {ret: {year: year_results(rs, to_cents=True) for year, rs in sorted(years.items())}
            for ret, years in grouped.items()}
