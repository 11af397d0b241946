"""A broker's 1099-B as CSV: the rows `tlh reconcile-1099b` compares with the ledger.

Columns (a header row is required; names are case-insensitive, in any order; extra columns are ignored):

    symbol            required  the security's ticker (the 1099-B's description, e.g. "100 sh. VOO", is
                                accepted in a `description` column when there is no `symbol` column)
    quantity          required  shares sold
    date_acquired     optional  YYYY-MM-DD or MM/DD/YYYY; empty or VARIOUS: not compared
    date_sold         required  YYYY-MM-DD or MM/DD/YYYY
    proceeds          required  box 1d, USD ("$1,234.56" and "(12.00)" are read too)
    cost_basis        optional  box 1e; empty: not reported (non-covered), not compared
    wash_sale         optional  box 1g, wash sale loss disallowed (also `wash_sale_loss_disallowed`); empty: 0
    term              optional  short or long (S/L, ST/LT, "short-term"...); empty: not compared

A row that cannot be read is an error naming the file and line; nothing is compared then.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from daemon.ledger.reconcile_1099b import Row
from daemon.ledger.types import ZERO, Term

ALIASES = {
    "symbol": ("symbol", "ticker"),
    "description": ("description", "description_of_property"),
    "quantity": ("quantity", "shares"),
    "date_acquired": ("date_acquired", "acquired"),
    "date_sold": ("date_sold", "sold", "date_sold_or_disposed"),
    "proceeds": ("proceeds",),
    "cost_basis": ("cost_basis", "basis", "cost_or_other_basis"),
    "wash_sale": ("wash_sale", "wash_sale_loss_disallowed", "wash_sale_disallowed"),
    "term": ("term", "holding_period"),
}


class Form1099BError(Exception):
    """A 1099-B file that cannot be read; `str()` names the file and the line."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _date(value: str) -> date | None:
    value = value.strip()
    if not value or value.upper() == "VARIOUS":
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (YYYY-MM-DD or MM/DD/YYYY): {value!r}")


def _money(value: str, name: str) -> Decimal | None:
    text = value.strip().replace("$", "").replace(",", "")
    if not text:
        return None
    negative = text.startswith("(") and text.endswith(")")
    try:
        amount = Decimal(text.strip("()"))
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{name}: not a number: {value!r}")
    return -amount if negative else amount


def _term(value: str) -> Term | None:
    text = value.strip().lower()
    if not text:
        return None
    if text in ("s", "st", "short", "short-term", "short term"):
        return Term.SHORT
    if text in ("l", "lt", "long", "long-term", "long term"):
        return Term.LONG
    raise ValueError(f"term: short or long, got {value!r}")


def parse(text: str, name: str = "1099-B") -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise Form1099BError(f"{name}: line 1: empty file; expected a header row (symbol,quantity,date_sold,...)")
    index: dict[str, int] = {}
    keys = [_key(h) for h in header]
    for field, names in ALIASES.items():
        for n in names:
            if n in keys:
                index[field] = keys.index(n)
                break
    missing = [f for f in ("quantity", "date_sold", "proceeds") if f not in index]
    if "symbol" not in index and "description" not in index:
        missing.insert(0, "symbol")
    if missing:
        raise Form1099BError(f"{name}: line 1: missing column(s) {', '.join(missing)}")
    rows: list[Row] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(field: str, cells: list[str] = cells) -> str:
            i = index.get(field)
            return cells[i] if i is not None and i < len(cells) else ""

        try:
            symbol = cell("symbol").strip().upper()
            if not symbol:
                words = cell("description").split()
                symbol = words[-1].upper() if words else ""
            if not symbol:
                raise ValueError("symbol is empty")
            quantity = _money(cell("quantity"), "quantity")
            if quantity is None or quantity <= 0:
                raise ValueError(f"quantity: must be a positive number, got {cell('quantity')!r}")
            sold = _date(cell("date_sold"))
            if sold is None:
                raise ValueError("date_sold is empty")
            proceeds = _money(cell("proceeds"), "proceeds")
            if proceeds is None:
                raise ValueError("proceeds is empty")
            wash = _money(cell("wash_sale"), "wash_sale") or ZERO
            if wash < 0:
                raise ValueError(f"wash_sale: must not be negative, got {cell('wash_sale')!r}")
            rows.append(Row(line, symbol, quantity, _date(cell("date_acquired")), sold, proceeds,
                            _money(cell("cost_basis"), "cost_basis"), wash, _term(cell("term"))))
        except ValueError as exc:
            raise Form1099BError(f"{name}: line {line}: {exc}") from None
    return rows


def load(path: Path) -> list[Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise Form1099BError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse(text, str(path))
