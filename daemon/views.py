"""What the review commands show: lots and gains as plain dicts, money rounded to cents only here."""

from __future__ import annotations

import itertools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING, Any

from daemon.ledger import gains
from daemon.ledger.money import cents, plain, prorate
from daemon.ledger.types import ZERO, Account, Lot, Term, add_one_year, term_of

if TYPE_CHECKING:
    from daemon.prices import PriceBook  # annotations only: `gains` never loads the price modules

_json_string = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]

LOT_COLUMNS = ["lot_id", "account", "symbol", "quantity", "cost_basis", "acquired", "purchased",
               "wash_sale_adjustment", "price", "unrealized_gain", "term"]
GAIN_COLUMNS = ["account", "symbol", "quantity", "acquired", "sold", "proceeds", "cost_basis", "adjustment",
                "code", "gain", "term"]


def lot_rows(lots: Iterable[Lot], prices: PriceBook | None, as_of: date | None) -> list[dict[str, Any]]:
    out = []
    for lot in sorted(lots, key=lambda lot: (lot.account, lot.symbol, lot.purchased, lot.seq, lot.lot_id)):
        row: dict[str, Any] = {
            "lot_id": lot.lot_id, "account": lot.account, "symbol": lot.symbol,
            "quantity": plain(lot.quantity), "cost_basis": cents(lot.basis),
            "acquired": lot.acquired, "purchased": lot.purchased,
            "wash_sale_adjustment": cents(lot.adjustment), "price": None, "unrealized_gain": None,
        }
        quote = prices.quote(lot.symbol, as_of) if prices and as_of else None
        if quote is not None:
            row["price"] = quote.close
            row["unrealized_gain"] = cents(quote.close * lot.quantity - lot.basis)
            row["price_date"] = quote.day
        if as_of is not None:
            from daemon.ledger.types import term_of

            row["term"] = term_of(lot.acquired, as_of).value
        out.append(row)
    return out


def gain_row(row: gains.GainRow) -> dict[str, Any]:
    return _gain(row.account, row.symbol, row.quantity, row.acquired, row.sold, row.proceeds, row.cost_basis,
                 row.adjustment, row.code, row.term.value, row.permanent)


def _gain(account: str, symbol: str, quantity: Decimal, acquired: date, sold: date, proceeds: Decimal,
          cost_basis: Decimal, adjustment: Decimal, code: str, term: str, permanent: Decimal) -> dict[str, Any]:
    # Round each column first and derive the gain from the rounded ones, so every row ties out.
    proceeds, cost_basis, adjustment = cents(proceeds), cents(cost_basis), cents(adjustment)
    return {
        "account": account, "symbol": symbol, "quantity": plain(quantity), "acquired": acquired, "sold": sold,
        "proceeds": proceeds, "cost_basis": cost_basis, "adjustment": adjustment, "code": code,
        "gain": proceeds - cost_basis + adjustment, "term": term, "permanently_disallowed": cents(permanent),
    }


def sale_gain_rows(sales: Iterable[Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """`gain_row` of each of `gains.rows(dispositions)`, from taxable sales read as plain rows
    (`ledger_repo.taxable_sales`: account, symbol, quantity, acquired, sold, proceeds, cost_basis,
    washed_quantity, adjustment, permanent), one at a time and without the intermediate objects: what
    `tlh gains --format json|csv` streams. A partly washed sale is two rows, as in `gains.rows`."""
    for account, symbol, quantity, acquired, sold, proceeds, basis, washed, adjustment, permanent in sales:
        term = term_of(acquired, sold).value
        code = "W" if adjustment > 0 else ""
        if ZERO < washed < quantity:
            washed_proceeds, washed_basis = prorate(proceeds, washed, quantity), prorate(basis, washed, quantity)
            yield _gain(account, symbol, washed, acquired, sold, washed_proceeds, washed_basis, adjustment, code,
                        term, permanent)
            yield _gain(account, symbol, quantity - washed, acquired, sold, proceeds - washed_proceeds,
                        basis - washed_basis, ZERO, "", term, ZERO)
        else:
            yield _gain(account, symbol, quantity, acquired, sold, proceeds, basis, adjustment, code, term,
                        permanent)


# `tlh gains --format json`: the text `render.print_json_rows` writes for `sale_gain_rows`, one `%` format per
# row (values in GAIN_COLUMNS order, then permanently_disallowed; strings already JSON, the rest as text).
_GAIN_JSON = ("{\n" + ",\n".join(f'    "{name}": ' + ("%s" if name in ("account", "symbol", "code", "term") else '"%s"')
                                  for name in [*GAIN_COLUMNS, "permanently_disallowed"]) + "\n  }")
_CENT = Decimal("0.01")
# `money.cents`: the default context's, rounding half to even (the thread's context is never changed).
_to_cents = Context(rounding=ROUND_HALF_EVEN).quantize
# Sold after the acquisition's anniversary (`term_of`) -> the term; a positive adjustment -> code W.
_JSON_TERMS = {True: _json_string(Term.LONG.value), False: _json_string(Term.SHORT.value)}
_JSON_CODES = {True: _json_string("W"), False: _json_string("")}


def gains_json(sales: Iterable[Sequence[Any]]) -> Iterator[str]:
    """`render.print_json_rows(sale_gain_rows(sales))`'s text, in pieces: the same rows, computed a column of
    a batch of sales at a time, without a dict per row (a 100,000-sale report was mostly making and
    encoding dicts). A partly washed sale (two rows) takes `sale_gain_rows` itself."""
    strings: dict[str, str] = {}  # accounts and symbols, JSON-quoted once
    anniversaries: dict[date, date] = {}
    days: dict[date, str] = {}  # the dates' text, made once (a report repeats each day many times)
    cent = itertools.repeat(_CENT)
    it = iter(sales)
    first = True
    while batch := list(itertools.islice(it, 2_000)):
        accounts, symbols, quantities, acquired, sold, proceeds, basis, washed, adjustments, permanent = (
            zip(*batch, strict=True))
        for text in {*accounts, *symbols} - strings.keys():
            strings[text] = _json_string(text)
        for day in set(acquired) - anniversaries.keys():
            anniversaries[day] = add_one_year(day)
        for day in {*acquired, *sold} - days.keys():
            days[day] = day.isoformat()
        proceeds_cents = list(map(_to_cents, proceeds, cent))
        basis_cents = list(map(_to_cents, basis, cent))
        adjustment_cents = list(map(_to_cents, adjustments, cent))
        texts = list(map(_GAIN_JSON.__mod__, zip(
            map(strings.__getitem__, accounts), map(strings.__getitem__, symbols),
            map(Decimal, map(format, map(Decimal.normalize, quantities), itertools.repeat("f"))),  # money.plain
            map(days.__getitem__, acquired), map(days.__getitem__, sold), proceeds_cents, basis_cents,
            adjustment_cents,
            map(_JSON_CODES.__getitem__, map(operator.gt, adjustments, itertools.repeat(ZERO))),
            map(operator.add, map(operator.sub, proceeds_cents, basis_cents), adjustment_cents),
            map(_JSON_TERMS.__getitem__, map(operator.gt, sold, map(anniversaries.__getitem__, acquired))),
            map(_to_cents, permanent, cent), strict=True)))
        for i, (part, whole) in enumerate(zip(washed, quantities, strict=True)):
            if ZERO < part < whole:  # two rows, as sale_gain_rows makes them
                texts[i] = ",\n  ".join(_GAIN_JSON % (
                    _json_string(r["account"]), _json_string(r["symbol"]), r["quantity"], r["acquired"], r["sold"],
                    r["proceeds"], r["cost_basis"], r["adjustment"], _json_string(r["code"]), r["gain"],
                    _json_string(r["term"]), r["permanently_disallowed"]) for r in sale_gain_rows([batch[i]]))
        yield ("[\n  " if first else ",\n  ") + ",\n  ".join(texts)
        first = False
    yield "[]\n" if first else "\n]\n"


F8949_COLUMNS = ["part", "box", "(a) description", "(b) date acquired", "(c) date sold", "(d) proceeds",
                 "(e) cost basis", "(f) code", "(g) adjustment", "(h) gain or loss"]
# Form 8949 against the 1099-B (daemon.tax_returns.form_8949_rows): the form's columns, then the account,
# whether the lot is covered, our basis and the basis the 1099-B reports.
F8949_1099B_COLUMNS = [*F8949_COLUMNS, "account", "covered", "our basis", "1099-B basis"]


def form_8949(rows: Iterable[gains.GainRow], accounts: Mapping[str, Account]) -> list[dict[str, Any]]:
    """Rows grouped by part and box, each box closed by its totals (sums of the printed cents)."""
    out: list[dict[str, Any]] = []
    for box, members in gains.by_box(rows, accounts).items():
        part = "I" if box in "ABC" else "II"
        totals = {"d": Decimal(0), "e": Decimal(0), "g": Decimal(0), "h": Decimal(0)}
        for r in sorted(members, key=lambda r: (r.sold, r.symbol, r.acquired)):
            v = gain_row(r)
            line = {"part": part, "box": box, "(a) description": f"{v['quantity']} sh. {r.symbol}",
                    "(b) date acquired": r.acquired, "(c) date sold": r.sold, "(d) proceeds": v["proceeds"],
                    "(e) cost basis": v["cost_basis"], "(f) code": v["code"],
                    "(g) adjustment": v["adjustment"] if v["adjustment"] else "",
                    "(h) gain or loss": v["gain"]}
            for k, col in (("d", "(d) proceeds"), ("e", "(e) cost basis"), ("h", "(h) gain or loss")):
                totals[k] += line[col]
            totals["g"] += v["adjustment"]
            out.append(line)
        out.append({"part": part, "box": box, "(a) description": f"Totals, box {box}",
                    "(d) proceeds": totals["d"], "(e) cost basis": totals["e"], "(g) adjustment": totals["g"],
                    "(h) gain or loss": totals["h"]})
    return out


def summary_dict(s: gains.Summary) -> dict[str, Any]:
    return {k: cents(getattr(s, k)) for k in s.__dataclass_fields__}
