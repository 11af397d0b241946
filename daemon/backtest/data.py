"""Price history for backtests: a wide CSV of daily closes (`date`, then one column per symbol, as
shared/data/prices/close.csv.gz) held as a float matrix, plus `securities.csv` (GICS sectors) and the large
one-day moves (|log return| over 0.5, as large_moves.csv lists them: a few are splits the source did not
adjust).

Closes are carried forward over gaps; a symbol is *listed* from its first close on. Quotes for the engine are
made on demand, as `Decimal`s of the file's numbers.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from daemon.backtest import matrix_cache
from daemon.prices import PriceFileError, Quote

LARGE_MOVE = 0.5  # |log daily return| above this is flagged (a fall of 39 % or more, a rise of 65 % or more)


@dataclass(frozen=True, slots=True)
class LargeMove:
    symbol: str
    day: date
    previous: float
    close: float

    @property
    def change(self) -> float:
        return self.close / self.previous - 1


@dataclass(frozen=True, slots=True)
class Security:
    symbol: str
    kind: str  # etf | stock
    sector: str
    sub_industry: str


class History:
    """Daily closes: `close[t, c]` for trading day `dates[t]` and symbol `symbols[c]` (NaN before listing)."""

    def __init__(self, dates: Sequence[date], symbols: Sequence[str], close: np.ndarray):
        if close.shape != (len(dates), len(symbols)):
            raise PriceFileError(f"price matrix is {close.shape}, expected {(len(dates), len(symbols))}")
        if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
            raise PriceFileError("dates must be strictly increasing")
        self.dates = list(dates)
        self.symbols = [s.strip().upper() for s in symbols]
        self.col = {s: i for i, s in enumerate(self.symbols)}
        raw = np.asarray(close, dtype=float)
        if np.any(raw[~np.isnan(raw)] <= 0):
            raise PriceFileError("prices must be positive")
        rows = np.where(~np.isnan(raw), np.arange(len(self.dates))[:, None], -1)
        self.last_row = np.maximum.accumulate(rows, axis=0) if len(self.dates) else rows
        filled = np.take_along_axis(raw, np.maximum(self.last_row, 0), axis=0)
        filled[self.last_row < 0] = np.nan
        self.raw = raw
        self.close = filled  # carried forward; NaN until listed
        self.priced = np.nan_to_num(filled)  # 0 until listed: for valuations
        self.securities: dict[str, Security] = {}
        self._series: dict[str, tuple[np.ndarray, list[tuple[date, Decimal]]]] = {}
        self.moves: list[LargeMove] = self._detect_moves()

    @classmethod
    def from_columns(cls, dates: Sequence[date], columns: Mapping[str, Sequence[float | None]]) -> History:
        matrix = np.array([[np.nan if v is None else v for v in values] for values in columns.values()],
                          dtype=float).T.reshape(len(dates), len(columns))
        return cls(dates, list(columns), matrix)

    # -- look-ups --------------------------------------------------------------------------------------
    def row(self, day: date) -> int:
        """The last trading day on or before `day` (-1 when before the first)."""
        return bisect.bisect_right(self.dates, day) - 1

    def listed(self, t: int, symbol: str) -> bool:
        c = self.col.get(symbol)
        return c is not None and self.last_row[t, c] >= 0

    def price(self, t: int, symbol: str) -> float:
        c = self.col.get(symbol)
        return float("nan") if c is None else float(self.close[t, c])

    def decimal(self, t: int, symbol: str) -> Decimal:
        return Decimal(repr(float(self.close[t, self.col[symbol]])))

    def quote(self, t: int, symbol: str) -> Quote | None:
        c = self.col.get(symbol)
        if c is None:
            return None
        r = int(self.last_row[t, c])
        if r < 0:
            return None
        return Quote(self.dates[r], Decimal(repr(float(self.raw[r, c]))))

    def closes(self, symbol: str, t: int, n: int) -> list[tuple[date, Decimal]]:
        """The last `n` actual closes up to day `t` (for the circuit breaker)."""
        c = self.col.get(symbol)
        if c is None:
            return []
        found = self._series.get(symbol)
        if found is None:
            rows = np.nonzero(~np.isnan(self.raw[:, c]))[0]
            found = self._series[symbol] = (rows, [(self.dates[r], Decimal(repr(float(self.raw[r, c]))))
                                                   for r in rows])
        rows, series = found
        end = int(np.searchsorted(rows, t, side="right"))
        return series[max(0, end - n):end]

    def moves_of(self, symbol: str) -> list[LargeMove]:
        return [m for m in self.moves if m.symbol == symbol]

    def _detect_moves(self) -> list[LargeMove]:
        out: list[LargeMove] = []
        if len(self.dates) < 2:
            return out
        prev, cur = self.close[:-1], self.raw[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.log(cur / prev)
        for t, c in zip(*np.nonzero(np.abs(np.nan_to_num(ratio)) > LARGE_MOVE), strict=True):
            out.append(LargeMove(self.symbols[c], self.dates[t + 1], float(prev[t, c]), float(cur[t, c])))
        return out

    def add_moves(self, moves: Sequence[LargeMove]) -> None:
        seen = {(m.symbol, m.day) for m in self.moves}
        self.moves.extend(m for m in moves if (m.symbol, m.day) not in seen and m.symbol in self.col)
        self.moves.sort(key=lambda m: (m.day, m.symbol))


_MISSING = object()


class DayQuotes(Mapping[str, Quote]):
    """The engine's quotes for one day, made on demand (the engine asks only for what it needs)."""

    def __init__(self, history: History, t: int):
        self._h = history
        self._t = t
        self._cache: dict[str, Quote | None] = {}
        self._rows: list[int] | None = None  # the day's row of `last_row` and of the carried closes, as lists
        self._closes: list[float] = []

    def get(self, key: str, default: Quote | None = None) -> Quote | None:  # type: ignore[override]
        found = self._cache.get(key, _MISSING)
        if found is _MISSING:
            found = self._cache[key] = self._quote(key)
        return default if found is None else found  # type: ignore[return-value]

    def _quote(self, symbol: str) -> Quote | None:
        """`History.quote` for the day: the close carried to it is the last actual close."""
        h = self._h
        c = h.col.get(symbol)
        if c is None:
            return None
        if self._rows is None:
            self._rows, self._closes = h.last_row[self._t].tolist(), h.close[self._t].tolist()
        r = self._rows[c]
        if r < 0:
            return None
        return Quote(h.dates[r], Decimal(repr(self._closes[c])))

    def __getitem__(self, key: str) -> Quote:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(s for s in self._h.symbols if self._h.listed(self._t, s))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def load_history(path: Path, securities: Path | None = None, large_moves: Path | None = None) -> History:
    """Read a wide close file (gzip detected) and, when present beside it or named, securities.csv and
    large_moves.csv. The parsed matrix is cached (`matrix_cache`): an unchanged file is parsed once."""
    cached = matrix_cache.read(path)
    if cached is not None:
        history = History(*cached)
    else:
        before = matrix_cache.signature(path)
        dates, symbols, matrix = _parse(path)
        history = History(dates, symbols, matrix)  # validated before it is cached
        matrix_cache.write(path, before, history.dates, history.symbols, history.raw)
    folder = path.parent
    sec = securities if securities is not None else folder / "securities.csv"
    if sec.exists():
        history.securities = load_securities(sec)
    moves = large_moves if large_moves is not None else folder / "large_moves.csv"
    if moves.exists():
        history.add_moves(load_moves(moves))
    return history


def _parse(path: Path) -> tuple[list[date], list[str], np.ndarray]:
    import pandas as pd  # noqa: PLC0415 (slow import, only when a file is parsed)

    try:
        head = path.open("rb").read(2)
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        frame = pd.read_csv(path, index_col=0, compression="gzip" if head == b"\x1f\x8b" else None)
    except (ValueError, OSError) as exc:
        raise PriceFileError(f"{path}: not a CSV of daily closes: {exc}") from None
    if str(frame.index.name or "").strip().lower() != "date":
        raise PriceFileError(f"{path}:1: the first column must be 'date'")
    if "symbol" in [str(c).lower() for c in frame.columns]:
        raise PriceFileError(f"{path}: backtests need the wide layout (date, then one column per symbol)")
    try:
        dates = [date.fromisoformat(str(d).strip()) for d in frame.index]
        matrix = frame.to_numpy(dtype=float)
    except ValueError as exc:
        raise PriceFileError(f"{path}: {exc}") from None
    return dates, [str(c) for c in frame.columns], matrix


def load_securities(path: Path) -> dict[str, Security]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["symbol"].strip().upper(): Security(row["symbol"].strip().upper(), row.get("kind", ""),
                                                        row.get("sector", "") or "",
                                                        row.get("sub_industry", "") or "")
                for row in csv.DictReader(fh) if row.get("symbol")}


def load_moves(path: Path) -> list[LargeMove]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [LargeMove(row["symbol"].strip().upper(), date.fromisoformat(row["date"]),
                          float(row["previous_close"]), float(row["close"])) for row in csv.DictReader(fh)]
