"""Trade importers: our CSV, Alpaca FILL activities (JSON), IBKR Flex "Trades" reports (XML).

Each turns a file into `ImportedTrade`s (a `Trade` plus its source, external id and the line or item it
came from) or raises `TradeImportError` naming the file and where; booking them is `daemon.bookkeeping`'s.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.importers.csv_trades import ImportedTrade, TradeImportError


class ImportFormat(enum.StrEnum):
    CSV = "csv"
    ALPACA = "alpaca"  # a JSON array of Alpaca FILL account activities
    IBKR = "ibkr"  # an IBKR Flex query report (XML) with a Trades section
    ACTIONS = "actions"  # our corporate-actions CSV (never chosen by extension: name it)


_BY_SUFFIX = {".csv": ImportFormat.CSV, ".json": ImportFormat.ALPACA, ".xml": ImportFormat.IBKR}


def format_for(path: Path) -> ImportFormat | None:
    """The format a file's extension implies (.csv, .json, .xml), or None."""
    return _BY_SUFFIX.get(path.suffix.lower())


def __getattr__(name: str) -> Any:
    # Loaded on first use: `tlh --help` needs ImportFormat only, and csv_trades loads the whole ledger.
    if name in ("ImportedTrade", "TradeImportError"):
        from daemon.importers import csv_trades

        return getattr(csv_trades, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ImportFormat", "ImportedTrade", "TradeImportError", "format_for"]
