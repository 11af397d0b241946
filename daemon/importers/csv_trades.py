"""Our trade CSV: `date,account,symbol,side,quantity,price` and optional `fees,lot_id,time,acquired,basis`,
one trade a row.

`time` (HH:MM[:SS], the exchange's time zone) orders a day's trades; without it the file's row order is the
order. `side` is buy, sell, reinvest, or a transfer: transfer_in (ACATS: `acquired` and `basis` carry the
original purchase's date and total basis), gift_in (`acquired`, `basis`: the donor's; `price`: the value
per share at the gift), inherited (`price`: the value per share at death), transfer_out.
"""

from __future__ import annotations

import csv
import functools
import io
import operator
import re
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import TypeVar

from daemon.importers import numbers
from daemon.ledger.types import ZERO, Side, Trade, _working

# Trades built as the ledger's book builds its records (daemon.ledger.types._working): a mutable twin with the
# same slots and a plain __init__ (a frozen dataclass's sets each field through object.__setattr__, five
# times slower), turned into a Trade in place at once.
_new_trade = _working(Trade)

REQUIRED = ("date", "account", "symbol", "side", "quantity", "price")
OPTIONAL = ("fees", "lot_id", "time", "acquired", "basis")
COLUMNS = (*REQUIRED, *OPTIONAL)
SOURCE = "csv"
_R = TypeVar("_R")


class TradeImportError(Exception):
    """A bad input file: `str()` names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str):
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class ImportedTrade:
    trade: Trade
    source: str
    external_id: str
    line: int


# Thousands separators are accepted only where they cannot be a decimal comma: "1,234.5" yes, "1,5" no.
_GROUPED = re.compile(r"^-?\$?\d{1,3}(,\d{3})+(\.\d*)?$")


def _decimal(value: str, name: str) -> Decimal:
    return numbers.number(value, name, limit=numbers.MAX_QUANTITY if name == "quantity" else numbers.MAX_AMOUNT)


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: not a YYYY-MM-DD date: {value!r}") from None


@functools.lru_cache(maxsize=16_384)
def _day(value: str) -> date:
    """`_date(value, "date")`, one object per day (a file has a few thousand days and many rows per day)."""
    return _date(value, "date")


_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_time(value: str, name: str = "time") -> time:
    """HH:MM[:SS] in the exchange's time zone."""
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"{name}: not an HH:MM[:SS] time: {value!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{name}: not a time of day: {value!r}")
    return time(hour, minute, second)


_SIDES = {side.value: side for side in Side}
_SHARED_QUANTITIES = 4096  # distinct whole-share quantities shared per file (the rest: one Decimal a row)
_NINE_PLACES = Decimal("1e-9")
_TRANSFERS_IN = (Side.TRANSFER_IN, Side.GIFT_IN, Side.INHERITED)


class _Rows:
    """Turns a file's rows into trades (`trade`), remembering what the rows repeat: a file of 100,000 trades
    names a handful of accounts and sides, a few dozen symbols and a few thousand days, each checked once."""

    def __init__(self, accounts: Collection[str], today: date):
        self.accounts = accounts
        self.today = today
        self.seen: dict[str, int] = {}  # content -> occurrences so far (identical rows)
        # A trade date's text -> the date (checked not to be in the future) and its ISO text.
        self.days: dict[str, tuple[date, str]] = {}
        self.account_ids: dict[str, str] = {}  # a known account -> one string for every row
        self.symbols: dict[str, str] = {}  # as written -> upper case, one string for every row
        self.sides: dict[str, Side] = {}  # as written -> the side
        # Whole-share quantities as written -> one Decimal for every row (they repeat: 100 shares): each is
        # 104 bytes, and a trade's quantity lives on in its lot and sale.
        self.quantities: dict[str, Decimal] = {}

    def trade(self, day_text: str, account: str, symbol_text: str, side_text: str, quantity_text: str,
              price_text: str, fees_text: str, lot_id: str, time_text: str, acquired_text: str,
              basis_text: str) -> Trade:
        """One row's trade from its stripped fields (in `COLUMNS` order; "" for a missing one), its id
        "csv-" + the external id; ValueError names the field at fault."""
        if not (day_text and account and symbol_text and side_text and quantity_text and price_text):
            for name, value in zip(REQUIRED, (day_text, account, symbol_text, side_text, quantity_text,
                                              price_text), strict=True):
                if not value:
                    raise ValueError(f"{name}: missing")
        known_day = self.days.get(day_text)
        if known_day is None:
            checked = numbers.not_future(_day(day_text), "date", self.today)
            known_day = self.days[day_text] = (checked, checked.isoformat())
        day, iso_day = known_day
        known = self.account_ids.get(account)
        if known is None:
            if account not in self.accounts:
                raise ValueError(f"account: unknown account {account!r} (not in the configuration)")
            known = self.account_ids[account] = sys.intern(account)
        account = known
        side = self.sides.get(side_text)
        if side is None:
            side = _SIDES.get(side_text.lower())
            if side is None:
                raise ValueError(f"side: must be one of {', '.join(s.value for s in Side)}, got {side_text!r}")
            self.sides[side_text] = side
        quantity = self.quantities.get(quantity_text)
        if quantity is None:
            quantity = numbers.number(quantity_text, "quantity", limit=numbers.MAX_QUANTITY)
            if quantity <= 0:
                raise ValueError(f"quantity: must be positive, got {quantity_text}")
            if quantity != quantity.quantize(_NINE_PLACES):
                raise ValueError(f"quantity: at most 9 decimal places, got {quantity_text}")
            if len(self.quantities) < _SHARED_QUANTITIES and quantity_text.isdigit():
                self.quantities[quantity_text] = quantity
        price = numbers.number(price_text, "price")
        if price < 0:
            raise ValueError(f"price: must not be negative, got {price_text}")
        # No fee is the common case: the one ZERO for all of them, not a Decimal per row.
        fees = ZERO if not fees_text or fees_text == "0" else numbers.number(fees_text, "fees")
        if fees < 0:
            raise ValueError(f"fees: must not be negative, got {fees_text}")
        symbol = self.symbols.get(symbol_text)
        if symbol is None:
            symbol = self.symbols[symbol_text] = sys.intern(symbol_text.upper())
        at = acquired = basis = None
        if time_text or acquired_text or basis_text:
            at = parse_time(time_text) if time_text else None
            acquired = _date(acquired_text, "acquired") if acquired_text else None
            basis = numbers.number(basis_text, "basis") if basis_text else None
            if basis is not None and basis < 0:
                raise ValueError(f"basis: must not be negative, got {basis_text}")
        if side is Side.GIFT_IN and (basis is None or acquired is None):
            raise ValueError("gift_in needs acquired and basis (the donor's date and total basis)")
        if (acquired is not None or basis is not None) and side not in _TRANSFERS_IN:
            raise ValueError(f"acquired and basis apply to transfers in only, not to {side.value}")
        if acquired is not None and acquired > day:
            raise ValueError(f"acquired: {acquired} is after the transfer date {day}")
        # Identity is the row's content (and its occurrence, for identical rows): re-importing adds nothing.
        content = (f"{iso_day}|{account}|{symbol}|{side.value}|"
                   f"{quantity.normalize()}|{price.normalize()}|{fees.normalize()}|{lot_id}")
        if at is not None or acquired is not None or basis is not None:  # older files keep their identities
            content += (f"|{at.isoformat() if at else ''}|{acquired.isoformat() if acquired else ''}|"
                        f"{basis.normalize() if basis is not None else ''}")
        occurrence = self.seen[content] = self.seen.get(content, 0) + 1
        digest = sha256(f"{content}|{occurrence}".encode()).hexdigest()[:20]
        # Positional, in Trade's field order (trade_id, date, account, symbol, side, quantity, price, fees,
        # lot_id, time, acquired, basis): matching twelve keywords took 5 of the 10k-row parse's 78 ms.
        trade = _new_trade(f"csv-{digest}", day, account, symbol, side, quantity, price, fees, lot_id or None, at,
                           acquired, basis)
        trade.__class__ = Trade
        return trade  # type: ignore[no-any-return]


# ImportedTrade's mutable twin, as for the trades (`_new_trade`).
_new_imported = _working(ImportedTrade)
_EXTERNAL_ID = slice(len("csv-"), None)


def _imported(trades: list[Trade], lines: list[int]) -> list[ImportedTrade]:
    """The trades with where they came from (the external id is the trade id's digest).

    Made after the rows, not with each: the wrappers and external ids are let go before the ledger is built
    (bookkeeping.book(consume=True)), and made in a run of their own their memory is whole pools that go back
    to the allocator; made between the rows, among the few objects that stay (a day's date and its text),
    they left 10 MB of holes only objects of their sizes could use, at a 100,000-trade import's peak."""
    out = [_new_imported(trade, SOURCE, trade.trade_id[_EXTERNAL_ID], line)
           for trade, line in zip(trades, lines, strict=True)]
    for imported in out:
        imported.__class__ = ImportedTrade
    return out


def _header(fieldnames: Sequence[str] | None, path: str, required: Sequence[str],
            optional: Sequence[str]) -> list[str]:
    header = [h.strip().lower() for h in (fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise TradeImportError(path, 1, f"header lacks column(s) {', '.join(missing)}; expected "
                                    f"{','.join(required)}[,{','.join(optional)}]")
    unknown = [c for c in header if c not in (*required, *optional)]
    if unknown:
        raise TradeImportError(path, 1, f"unknown column(s) {', '.join(unknown)}")
    return header


def parse_rows(text: str, path: str, required: Sequence[str], optional: Sequence[str],
               row: Callable[[dict[str, str], int, dict[str, int]], _R]) -> list[_R]:
    """Check the header, then turn every non-blank row into `row(raw, line, seen)`, or raise TradeImportError
    for the first bad one, naming its line (a ValueError from `row` becomes that error). `seen` counts
    identical rows, for identities that stay stable across re-imports."""
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = _header(reader.fieldnames, path, required, optional)
    out: list[_R] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            continue
        if None in raw:
            raise TradeImportError(path, line, "more fields than the header has columns")
        try:
            out.append(row(raw, line, seen))
        except ValueError as exc:
            raise TradeImportError(path, line, str(exc)) from None
    return out


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TradeImportError(str(path), None, f"cannot read: {reason}") from None


def parse(text: str, path: str, accounts: Collection[str]) -> list[ImportedTrade]:
    """Every row or nothing: the first bad row raises TradeImportError naming its line.

    `parse_rows(..., _row)` by position instead of by dict (a third of the time for 100,000 rows): the
    same rows skipped (blank ones), the same errors on the same lines."""
    reader = csv.reader(io.StringIO(text))
    header = _header(next(reader, None), path, REQUIRED, OPTIONAL)
    width = len(header)
    where = {name: i for i, name in enumerate(header)}  # a repeated column: the last one, as a dict keeps
    positions = [where.get(name, width) for name in COLUMNS]  # a column the file lacks reads as ""
    pick = operator.itemgetter(*positions)
    strip = str.strip
    rows = _Rows(accounts, date.today())
    trade = rows.trade
    trades: list[Trade] = []
    lines: list[int] = []
    append, append_line = trades.append, lines.append
    for raw in reader:
        fields = raw[:width]
        if not "".join(fields).strip():
            continue  # blank (whatever lies beyond the header's columns, as parse_rows does)
        line = reader.line_num
        if len(raw) > width:
            raise TradeImportError(path, line, "more fields than the header has columns")
        fields += [""] * (width + 1 - len(fields))
        try:
            append(trade(*map(strip, pick(fields))))
        except ValueError as exc:
            raise TradeImportError(path, line, str(exc)) from None
        append_line(line)
    return _imported(trades, lines)


def read(path: Path, accounts: Collection[str]) -> list[ImportedTrade]:
    return parse(read_text(path), str(path), accounts)
