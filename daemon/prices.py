"""Daily closes (and optional bid/ask) from a CSV: the wide layout of shared/data/prices/close.csv.gz
(`date`, then one column per symbol) or a long one (`date,symbol,close[,bid,ask]`). Gzip is detected."""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import threading
import zlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from daemon import gc_pause, price_index


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


class IndexedPriceBook(PriceBook):
    """A price file's book read from its index (`daemon.price_index`): each symbol's series is read the first
    time it is asked for, so a command touching 50 symbols of a 538-symbol history reads 50 rows. A quote
    bisects the series' day ordinals and parses the one cell it returns: 26 years of a symbol's days are not
    made into date objects for it. The series becomes the base class's lists only when a day is added or
    all its days are asked for."""

    def __init__(self, reader: price_index.Reader, last_day: date | None):
        super().__init__()
        self._reader = reader
        self._last = last_day
        self._read: set[str] = set()
        self._series: dict[str, price_index.Series] = {}
        self._lock = threading.Lock()

    def _need(self, symbol: str) -> price_index.Series | None:
        """The symbol's series as read from the index, None once it is in the base class's lists (or absent)."""
        if symbol not in self._read:
            with self._lock:
                if symbol not in self._read:
                    series = self._reader.series(symbol)
                    if series is not None:
                        self._series[symbol] = series
                    self._read.add(symbol)
        return self._series.get(symbol)

    def _as_lists(self, symbol: str) -> None:
        self._need(symbol)
        with self._lock:
            series = self._series.pop(symbol, None)
            if series is not None:
                self._days[symbol], self._rows[symbol] = series.dates(), series.rows()

    def add(self, symbol: str, day: date, close: str, bid: str = "", ask: str = "") -> None:
        self._as_lists(symbol)
        super().add(symbol, day, close, bid, ask)

    @property
    def symbols(self) -> list[str]:
        return sorted(set(self._reader.symbols()) | set(self._days))

    def last_day(self) -> date | None:
        added = super().last_day()
        return max((d for d in (self._last, added) if d is not None), default=None)

    def days(self, symbol: str) -> list[date]:
        self._as_lists(symbol)
        return super().days(symbol)

    def quote(self, symbol: str, day: date) -> Quote | None:
        series = self._need(symbol)
        if series is None:
            return super().quote(symbol, day)
        i = bisect.bisect_right(series.ordinals, day.toordinal()) - 1
        if i < 0:
            return None
        bid = series.bids[i] if series.bids is not None else ""
        ask = series.asks[i] if series.asks is not None else ""
        return Quote(date.fromordinal(series.ordinals[i]), Decimal(series.closes[i]), Decimal(bid) if bid else None,
                     Decimal(ask) if ask else None)

    def closes(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        series = self._need(symbol)
        if series is None:
            return super().closes(symbol, start, end)
        ordinals = series.ordinals
        lo, hi = bisect.bisect_left(ordinals, start.toordinal()), bisect.bisect_right(ordinals, end.toordinal())
        return [(date.fromordinal(ordinals[i]), Decimal(series.closes[i])) for i in range(lo, hi)]


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise PriceFileError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PriceFileError(f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
                             "save the file as UTF-8") from None


def read(path: Path) -> PriceBook:
    """Parse the file itself (no index)."""
    return parse(_text(path), str(path))


def load(path: Path) -> PriceBook:
    """The file's prices, from its index when it has a valid one; else parsed, and indexed for next time."""
    try:
        before = price_index.signature(path)
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read: {exc.strerror}") from None
    found = price_index.find(path, before)
    if found is not None:
        index, meta = found
        last = meta.get("last_day") or None
        return IndexedPriceBook(price_index.Reader(index), date.fromisoformat(last) if last else None)
    # Millions of small tuples, none of them garbage: the cyclic collector would rescan them again and again
    # (it more than doubles the time to parse and index the 538-symbol file).
    with gc_pause.paused():
        text = _text(path)
        parsed = price_index.from_wide_text(text)
        book = None
        if parsed is None:  # not a plain wide file: the general parser (and its errors)
            book = parse(text, str(path))
            parsed = price_index.from_book(book)
        del text
        try:
            unchanged = price_index.signature(path) == before
        except OSError:
            unchanged = False
        # A file rewritten while it was read is not indexed: the index would not match what it holds.
        written = price_index.write(path, parsed, before) if unchanged else None
    if written is not None:
        return IndexedPriceBook(price_index.Reader(written), parsed.last_day)
    return book if book is not None else read(path)
