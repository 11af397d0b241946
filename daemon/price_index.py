"""The price file's index: a CSV of daily closes parsed once into a small SQLite file, one row per symbol.

Parsing the 538-symbol history (3.5 million cells) takes seconds; a command needs a few dozen symbols. So
`daemon.prices.load` parses a file once, writes the result as an index and, as long as the file is unchanged,
opens the index instead and reads only the symbols it is asked for.

- Where: beside the file (`close.csv.gz` -> `close.csv.gz.tlh-index`); when that folder is not writable (a
  read-only mount, the shared data folder), in the user's cache folder (`$XDG_CACHE_HOME/tlh-daemon/prices`,
  else `~/.cache/...`), named after the file's absolute path. When neither can be written, the file is
  parsed on every load, as before.
- Valid while the file's size, modification time, change time and inode match the ones recorded in the
  index (and the index format is this code's); otherwise it is rebuilt from the file.
- Written atomically (a private temporary file in the same folder, then a rename), so concurrent readers see
  the old index or the new one, never a partial one; it is never changed in place, and readers open it
  read-only and immutable (no locks).
- The file is validated exactly as by `daemon.prices.parse` (the index is built from its result): a bad
  file raises the same `PriceFileError` and leaves no index.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import sqlite3
import sys
import threading
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.prices import PriceBook

FORMAT = "1"  # bump when the layout or the parsing changes: older indexes are rebuilt
SUFFIX = ".tlh-index"
_SEP = "\n"  # cells never contain a newline (the CSV reader splits rows on it)


def signature(path: Path) -> dict[str, str]:
    st = path.stat()
    return {"format": FORMAT, "byteorder": sys.byteorder, "size": str(st.st_size),
            "mtime_ns": str(st.st_mtime_ns), "ctime_ns": str(st.st_ctime_ns), "inode": str(st.st_ino)}


def _cache_home() -> Path:
    from daemon.files import cache_folder

    return cache_folder("prices")


def candidates(source: Path) -> list[Path]:
    """Where the index of `source` may live, in order of preference. A folder whose mode has no write bit
    is taken as read-only on purpose (shared data), even for root, who could write there anyway."""
    absolute = source.resolve()
    digest = sha256(str(absolute).encode()).hexdigest()[:16]
    home = _cache_home() / f"{absolute.name}.{digest}{SUFFIX}"
    try:
        read_only = not absolute.parent.stat().st_mode & 0o222
    except OSError:
        read_only = True
    return [home] if read_only else [absolute.with_name(absolute.name + SUFFIX), home]


def _read_meta(index: Path) -> dict[str, str] | None:
    try:
        with contextlib.closing(_connect(index)) as db:
            return dict(db.execute("SELECT key, value FROM meta"))
    except sqlite3.Error:
        return None


def _connect(index: Path) -> sqlite3.Connection:
    # immutable=1: the file never changes once renamed into place (a rebuild replaces it), so no locking.
    return sqlite3.connect(f"{index.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def find(source: Path, signature: dict[str, str]) -> tuple[Path, dict[str, str]] | None:
    """A valid index of `source` (whose signature is `signature`) and its metadata, or None."""
    for index in candidates(source):
        if not index.exists():
            continue
        meta = _read_meta(index)
        if meta is not None and all(meta.get(k) == v for k, v in signature.items()):
            return index, meta
    return None


Row = tuple[str, bytes, bytes, bytes | None, bytes | None]  # symbol, days, closes, bids, asks


@dataclass(frozen=True)
class Parsed:
    """What goes into an index: one row per symbol, in symbol order, and the last day of the file."""

    rows: list[Row]
    last_day: date | None


def from_book(book: PriceBook) -> Parsed:
    rows = []
    for symbol in book.symbols:
        closes, bids, asks = zip(*book._rows[symbol], strict=True)
        days = array("i", map(date.toordinal, book._days[symbol]))
        rows.append((symbol, zlib.compress(days.tobytes(), 1), _pack(closes),
                     _pack(bids) if any(bids) else None, _pack(asks) if any(asks) else None))
    return Parsed(rows, book.last_day())


# A cell `daemon.prices.parse` accepts with no question: a plain positive decimal (or empty: not listed yet).
_CELL = r"(?:(?=[.\d]*[1-9])(?:\d+(?:\.\d*)?|\.\d+))?"
_COLUMN = re.compile(rf"{_CELL}(?:\n{_CELL})*")
_CHUNK = 256  # rows transposed at a time


def from_wide_text(text: str) -> Parsed | None:
    """The index rows of a plain wide file (`date`, then one column per symbol: strictly increasing ISO dates,
    distinct symbols, plain positive decimals), read column-wise at C speed in a fraction of the memory of a
    PriceBook. None for anything else (a long file, a cell to strip or check, a date out of order): the
    caller then parses the file with `daemon.prices.parse`, which also reports any error."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    lower = [h.lower() for h in header]
    if not header or lower[0] != "date" or ("symbol" in lower and "close" in lower):
        return None
    symbols = [h.upper() for h in header[1:]]
    if "" in symbols or len(set(symbols)) != len(symbols):
        return None
    width = len(header)
    days: list[array[int]] = [array("i") for _ in symbols]
    cells: list[list[str]] = [[] for _ in symbols]
    previous = 0
    while raw := list(itertools.islice(reader, _CHUNK)):
        chunk = [row for row in raw if row]
        if not chunk:
            continue
        if any(len(row) != width for row in chunk):
            chunk = [(row + [""] * width)[:width] for row in chunk]
        try:
            ordinals = [date.fromisoformat(row[0]).toordinal() for row in chunk]
        except ValueError:
            return None
        if ordinals[0] <= previous or any(b <= a for a, b in itertools.pairwise(ordinals)):
            return None
        previous = ordinals[-1]
        for i, column in enumerate(itertools.islice(zip(*chunk, strict=True), 1, None)):
            if not any(column):
                continue
            if not _COLUMN.fullmatch(_SEP.join(column)):
                return None
            days[i].extend(itertools.compress(ordinals, column))
            cells[i].append(_SEP.join(filter(None, column)))
    rows: list[Row] = []
    last = 0
    for i, symbol in sorted(enumerate(symbols), key=lambda item: item[1]):
        if days[i]:
            last = max(last, days[i][-1])
            rows.append((symbol, zlib.compress(days[i].tobytes(), 1),
                         zlib.compress(_SEP.join(cells[i]).encode(), 1), None, None))
    return Parsed(rows, date.fromordinal(last) if last else None)


def write(source: Path, parsed: Parsed, signature: dict[str, str]) -> Path | None:
    """Write `parsed` (from `source`, whose signature before reading was `signature`) as its index; the path
    written, or None when no candidate folder is writable."""
    meta = {**signature, "last_day": parsed.last_day.isoformat() if parsed.last_day else "",
            "source": str(source.resolve())}
    for index in candidates(source):
        tmp = index.with_name(f".{index.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            index.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            _write(tmp, parsed.rows, meta)
            os.replace(tmp, index)
            return index
        except (OSError, sqlite3.Error):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            continue
    return None


def _write(tmp: Path, rows: list[Row], meta: dict[str, str]) -> None:
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode = OFF")  # a fresh private file: nothing to roll back to
        db.execute("PRAGMA synchronous = OFF")  # made durable below, before the rename publishes it
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE series (symbol TEXT PRIMARY KEY, days BLOB NOT NULL, closes BLOB NOT NULL, "
                    "bids BLOB, asks BLOB) WITHOUT ROWID")
        db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        db.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
    finally:
        db.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())


def _pack(cells: Iterable[str]) -> bytes:
    # Compressed: the index stays about the size of the gzipped CSV, and inflating one series is ~0.1 ms.
    return zlib.compress(_SEP.join(cells).encode(), 1)


def _unpack(blob: bytes) -> list[str]:
    return zlib.decompress(blob).decode().split(_SEP)


@dataclass(frozen=True, slots=True)
class Series:
    """One symbol's quotes as stored: the days as ordinals (bisected as ints, no date object made until a day
    is asked for) and the cells as text (parsed when quoted)."""

    ordinals: array[int]
    closes: list[str]
    bids: list[str] | None
    asks: list[str] | None

    def dates(self) -> list[date]:
        return [date.fromordinal(o) for o in self.ordinals]

    def rows(self) -> list[tuple[str, str, str]]:
        n = len(self.closes)
        return list(zip(self.closes, self.bids or [""] * n, self.asks or [""] * n, strict=True))


class CorruptIndex(Exception):
    """An index that cannot be read any more (damaged, or removed while a command reads it): named with what
    to do, never taken for the store's database (both are SQLite files)."""

    def __init__(self, index: Path, error: sqlite3.Error):
        super().__init__(f"price index {index}: {type(error).__name__}: {error}; it is only a cache of its price "
                         "file: delete it and run the command again to rebuild it")


class Reader:
    """Reads one symbol's series at a time from an index (thread-safe: the daemon's jobs share a book)."""

    def __init__(self, index: Path):
        self._index = index
        self._db = _connect(index)
        self._lock = threading.Lock()

    def symbols(self) -> list[str]:
        with self._lock:
            try:
                return [s for (s,) in self._db.execute("SELECT symbol FROM series ORDER BY symbol")]
            except sqlite3.Error as exc:
                raise CorruptIndex(self._index, exc) from exc

    def series(self, symbol: str) -> Series | None:
        with self._lock:
            try:
                row = self._db.execute("SELECT days, closes, bids, asks FROM series WHERE symbol = ?",
                                       (symbol,)).fetchone()
            except sqlite3.Error as exc:
                raise CorruptIndex(self._index, exc) from exc
        if row is None:
            return None
        raw, closes, bids, asks = row
        ordinals = array("i")
        ordinals.frombytes(zlib.decompress(raw))
        return Series(ordinals, _unpack(closes), _unpack(bids) if bids is not None else None,
                      _unpack(asks) if asks is not None else None)

    def close(self) -> None:
        self._db.close()
