"""A wide close file's parsed matrix kept as a NumPy file, so a backtest parses the file's 3.5 million cells
once: later runs load the dates, symbols and closes in tens of milliseconds instead of importing pandas and
parsing the CSV (about a second of every backtest).

It lives where the price index does (`daemon.price_index.candidates`: beside the file, else in the user's
cache folder), named `<file>.tlh-matrix.npz`. It is trusted only while the file's signature (size,
modification and change times, inode: `daemon.price_index.signature`, plus this module's format) is the one
recorded in it; otherwise the file is parsed again and the matrix rewritten. It is written atomically (a
private temporary file, then a rename) and only for a file that parsed and validated, with the signature
taken before the parse, so a file changed meanwhile is never cached under its new signature. Deleting it is
always safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from daemon import price_index

FORMAT = "matrix-1"  # bump when the layout or the parsing changes: older files are rebuilt
SUFFIX = ".tlh-matrix.npz"


def signature(source: Path) -> dict[str, str] | None:
    try:
        return {**price_index.signature(source), "format": FORMAT}
    except OSError:
        return None


def _paths(source: Path) -> list[Path]:
    return [p.with_name(p.name.removesuffix(price_index.SUFFIX) + SUFFIX) for p in price_index.candidates(source)]


def read(source: Path) -> tuple[list[date], list[str], np.ndarray] | None:
    """The dates, symbols and closes cached for `source` as it is now, or None."""
    current = signature(source)
    if current is None:
        return None
    for path in _paths(source):
        if not path.exists():
            continue
        try:
            with np.load(path, allow_pickle=False) as stored:
                if json.loads(str(stored["meta"])) != current:
                    continue
                ordinals, symbols, close = stored["ordinals"], stored["symbols"], stored["close"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            continue  # unreadable or from another version: parse the file again
        if close.shape != (len(ordinals), len(symbols)):
            continue
        return [date.fromordinal(o) for o in ordinals.tolist()], symbols.tolist(), close
    return None


def write(source: Path, before: dict[str, str] | None, dates: Sequence[date], symbols: Sequence[str],
          close: np.ndarray) -> Path | None:
    """Cache what was parsed from `source`, whose signature before the parse was `before`; the path written,
    or None (nothing writable, or the file changed while it was read)."""
    if before is None or signature(source) != before:
        return None
    for path in _paths(source):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(before)),
                         ordinals=np.array([d.toordinal() for d in dates], dtype=np.int64),
                         symbols=np.array(list(symbols), dtype=str), close=np.asarray(close, dtype=float))
            os.replace(tmp, path)
            return path
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return None
