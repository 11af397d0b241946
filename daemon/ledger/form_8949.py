"""Form 8949 as a preparer files it against the 1099-B (shared/reference/wash-sales.md, "Form 8949 against
the 1099-B").

A broker sees one account and one security: it reports basis and wash sales only for washes inside that
account in the same symbol. `broker_view` replays each account alone, without identical groups, and so
computes what its 1099-B shows (proceeds, basis, wash-sale amount, holding period) for every sale. A line
then carries:
- column (e): the basis the 1099-B reports for covered lots (boxes A/D); our (correct) basis for non-covered
  lots (B/E: the broker reports none to the IRS) and for accounts without a 1099-B (C/F);
- column (g): what turns the 1099-B's figures into ours, (g) = our gain − ((d) − (e)), with code **B** when
  the reported basis is not ours (a replacement lot carrying a loss from another account or security),
  **W** when the sale's loss is disallowed, **T** when the 1099-B's term is not ours;
- column (h) = (d) − (e) + (g): our gain, so Schedule D and the ledger agree.
Money is rounded to cents per line, (h) derived from the rounded columns, and box totals are the sums of the
printed lines: a total always equals the sum of its rows to the cent.

Covered (basis reported to the IRS) is a property of the lot: stock bought from 2011, fund shares (ETFs,
mutual funds: RICs) and dividend-reinvestment shares from 2012. **policy**: a symbol is a fund when it is
in an identical group or asset class of the configuration, else a stock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.ledger.book import replay
from daemon.ledger.gains import GainRow
from daemon.ledger.money import cents, prorate
from daemon.ledger.types import ZERO, Account, Disposition, IdenticalGroups, Term, Trade, term_of

STOCK_COVERED_FROM = date(2011, 1, 1)
FUND_COVERED_FROM = date(2012, 1, 1)


class Reporting(enum.StrEnum):
    """What the account's broker reports: a 1099-B with basis for covered lots, a 1099-B without basis, or
    no 1099-B at all (`basis_reported` true, false, "none")."""

    COVERED = "covered"
    NO_BASIS = "no_basis"
    NONE = "none"


def covered(purchased: date, fund: bool) -> bool:
    return purchased >= (FUND_COVERED_FROM if fund else STOCK_COVERED_FROM)


def box(term: Term, reporting: Reporting, is_covered: bool) -> str:
    if reporting is Reporting.NONE:
        return "C" if term is Term.SHORT else "F"
    reported = reporting is Reporting.COVERED and is_covered
    if term is Term.SHORT:
        return "A" if reported else "B"
    return "D" if reported else "E"


@dataclass(frozen=True, slots=True)
class Reported:
    """What a 1099-B shows for the shares of one purchase lot sold by one sell trade."""

    account: str
    symbol: str
    quantity: Decimal
    acquired: date
    sold: date
    proceeds: Decimal
    basis: Decimal
    wash: Decimal  # box 1g, wash sale loss disallowed
    term: Term


def sale_key(d: Disposition) -> tuple[str, str]:
    return d.trade_id, d.purchase_id


def broker_view(trades: Iterable[Trade], accounts: Mapping[str, Account]) -> dict[tuple[str, str], Reported]:
    """Each taxable account's sales as its broker computes them, by (sell trade id, purchase id)."""
    by_account: dict[str, list[Trade]] = {}
    for t in trades:
        account = accounts.get(t.account)
        if account is not None and account.type.taxable:
            by_account.setdefault(t.account, []).append(t)
    out: dict[tuple[str, str], Reported] = {}
    for account_id, own in sorted(by_account.items()):
        alone = {account_id: accounts[account_id]}
        state = replay(alone[account_id].household, own, alone, IdenticalGroups())
        out.update(aggregate(state.dispositions))
    return out


def aggregate(dispositions: Iterable[Disposition]) -> dict[tuple[str, str], Reported]:
    """Dispositions summed per (sell trade, purchase lot): the 1099-B's line. The acquisition date is the
    earliest piece's (pieces of one purchase differ only after a wash sale split it)."""
    out: dict[tuple[str, str], Reported] = {}
    for d in dispositions:
        key = sale_key(d)
        r = out.get(key)
        if r is None:
            out[key] = Reported(d.account, d.symbol, d.quantity, d.acquired, d.sold, d.proceeds, d.cost_basis,
                                d.adjustment, d.term)
        else:
            acquired = min(r.acquired, d.acquired)
            out[key] = Reported(r.account, r.symbol, r.quantity + d.quantity, acquired, r.sold,
                                r.proceeds + d.proceeds, r.basis + d.cost_basis, r.wash + d.adjustment,
                                term_of(acquired, r.sold))
    return out


@dataclass(frozen=True, slots=True)
class Line:
    part: str  # "I" short-term, "II" long-term
    box: str
    account: str
    description: str  # (a)
    acquired: date  # (b)
    sold: date  # (c)
    proceeds: Decimal  # (d)
    basis: Decimal  # (e)
    code: str  # (f)
    adjustment: Decimal  # (g)
    gain: Decimal  # (h)
    covered: bool
    our_basis: Decimal
    reported_basis: Decimal | None  # what the 1099-B shows (None: no 1099-B)


def lines(rows: Sequence[GainRow], reported: Mapping[tuple[str, str], Reported],
          reporting: Mapping[str, Reporting], funds: frozenset[str]) -> list[Line]:
    """One line per gain row (a sale partly washed is a washed line and an allowed line), by box, then
    date sold, symbol and acquisition date."""
    totals: dict[tuple[str, str], Decimal] = {}
    for r in rows:
        totals[(r.trade_id, r.purchase_id)] = totals.get((r.trade_id, r.purchase_id), ZERO) + r.quantity
    out: list[Line] = []
    for r in rows:
        kind = reporting.get(r.account, Reporting.COVERED)
        is_covered = covered(r.purchased or r.acquired, r.symbol in funds)
        letter = box(r.term, kind, is_covered)
        rep = reported.get((r.trade_id, r.purchase_id)) if kind is not Reporting.NONE else None
        proceeds, ours, wash = cents(r.proceeds), cents(r.cost_basis), cents(r.adjustment)
        gain = proceeds - ours + wash
        reported_basis = None
        codes = ""
        if rep is not None:
            whole = totals[(r.trade_id, r.purchase_id)]
            reported_basis = cents(prorate(rep.basis, r.quantity, whole)) if whole == rep.quantity else None
        basis = reported_basis if reported_basis is not None and letter in "AD" else ours
        if basis != ours:
            codes += "B"
        if wash > 0:
            codes += "W"
        if rep is not None and rep.term is not r.term:
            codes += "T"
        out.append(Line(part="I" if r.term is Term.SHORT else "II", box=letter, account=r.account,
                        description=f"{_plain(r.quantity)} sh. {r.symbol}", acquired=r.acquired, sold=r.sold,
                        proceeds=proceeds, basis=basis, code=codes, adjustment=gain - (proceeds - basis),
                        gain=gain, covered=is_covered, our_basis=ours, reported_basis=reported_basis))
    return sorted(out, key=lambda x: (x.box, x.sold, x.description.split(" sh. ")[-1], x.acquired, x.account))


@dataclass(frozen=True, slots=True)
class BoxTotal:
    part: str
    box: str
    proceeds: Decimal
    basis: Decimal
    adjustment: Decimal
    gain: Decimal
    lines: int


def totals(form: Iterable[Line]) -> list[BoxTotal]:
    """Per box, the sums of the printed lines."""
    acc: dict[str, list[Line]] = {}
    for x in form:
        acc.setdefault(x.box, []).append(x)
    return [BoxTotal(xs[0].part, b, sum((x.proceeds for x in xs), ZERO), sum((x.basis for x in xs), ZERO),
                     sum((x.adjustment for x in xs), ZERO), sum((x.gain for x in xs), ZERO), len(xs))
            for b, xs in sorted(acc.items())]


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
