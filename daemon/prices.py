"""Daily closes (and optional bid/ask) from a CSV: the wide layout of shared/data/prices/close.csv.gz
(`date`, then one column per symbol) or a long one (`date,symbol,close[,bid,ask]`). Gzip is detected."""

from __future__ import annotations

import bisect
import csv
import gzip
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path


class PriceFileError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Quote:
    day: date
    close: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass
class PriceBook:
    """Quotes per symbol in date order. Cells are parsed lazily: a 500-column file loads quickly."""

    _days: dict[str, list[date]] = field(default_factory=dict)
    _rows: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def add(self, symbol: str, day: date, close: str, bid: str = "", ask: str = "") -> None:
        days = self._days.setdefault(symbol, [])
        rows = self._rows.setdefault(symbol, [])
        if days and day <= days[-1]:
            i = bisect.bisect_left(days, day)
            if i < len(days) and days[i] == day:
                rows[i] = (close, bid, ask)
                return
            days.insert(i, day)
            rows.insert(i, (close, bid, ask))
        else:
            days.append(day)
            rows.append((close, bid, ask))

    @property
    def symbols(self) -> list[str]:
        return sorted(self._days)

    def last_day(self) -> date | None:
        return max((d[-1] for d in self._days.values() if d), default=None)

    def days(self, symbol: str) -> list[date]:
        return self._days.get(symbol, [])

    def quote(self, symbol: str, day: date) -> Quote | None:
        """The latest quote on or before `day` (its `day` tells how stale it is)."""
        days = self._days.get(symbol)
        if not days:
            return None
        i = bisect.bisect_right(days, day) - 1
        if i < 0:
            return None
        close, bid, ask = self._rows[symbol][i]
        return Quote(days[i], Decimal(close), Decimal(bid) if bid else None, Decimal(ask) if ask else None)

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        days = self._days.get(symbol, [])
        lo, hi = bisect.bisect_left(days, start), bisect.bisect_right(days, end)
        return [(days[i], Decimal(self._rows[symbol][i][0])) for i in range(lo, hi)]


def _check_number(value: str, where: str) -> str:
    try:
        if Decimal(value) <= 0:
            raise PriceFileError(f"{where}: price must be positive, got {value!r}")
    except InvalidOperation:
        raise PriceFileError(f"{where}: not a number: {value!r}") from None
    return value


def _day(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PriceFileError(f"{where}: not a YYYY-MM-DD date: {value!r}") from None


def parse(text: str, name: str = "prices") -> PriceBook:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if not header or header[0].lower() != "date":
        raise PriceFileError(f"{name}:1: the first column must be 'date'")
    book = PriceBook()
    lower = [h.lower() for h in header]
    if "symbol" in lower and "close" in lower:
        col = {h: i for i, h in enumerate(lower)}
        for row in reader:
            if not row:
                continue
            where = f"{name}:{reader.line_num}"
            cells = {c: row[i].strip() for c, i in col.items() if i < len(row)}
            bid, ask = cells.get("bid", ""), cells.get("ask", "")
            book.add(cells.get("symbol", "").upper(), _day(row[0], where),
                     _check_number(cells.get("close", ""), where),
                     _check_number(bid, where) if bid else "", _check_number(ask, where) if ask else "")
        return book
    symbols = [h.upper() for h in header[1:]]
    for row in reader:
        if not row:
            continue
        where = f"{name}:{reader.line_num}"
        day = _day(row[0], where)
        for symbol, value in zip(symbols, row[1:], strict=False):
            value = value.strip()
            if value:
                book.add(symbol, day, _check_number(value, where))
    return book


def load(path: Path) -> PriceBook:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return parse(raw.decode("utf-8-sig"), str(path))
