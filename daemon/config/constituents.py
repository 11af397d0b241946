"""A direct index's constituents file: CSV with header `symbol,weight,sector,sub_industry`.

An empty weight means equal weights: when every weight is empty each stock gets 1/N; weights given must all
be given and are normalized to add up to 1 (an index provider's file rarely adds up exactly). Sector and
sub-industry (GICS) drive replacement ranking and `sector:X` exclusions; they may be empty (the stock then
only has peers when its sector is known). Errors name the file and the line.

The shipped `sp500.csv` (config/sp500.csv) lists the 498 stocks of the price data (today's S&P 500 members,
shared/data/prices/securities.csv) with GICS sectors and sub-industries and empty weights: the data has no
market caps, so the shipped index is equal-weighted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

HEADER = ("symbol", "weight", "sector", "sub_industry")
SHIPPED_DIR = Path(__file__).parent  # the package carries links to config/sp500.csv and substitutes.toml


@dataclass(frozen=True, slots=True)
class Constituent:
    symbol: str
    weight: Decimal  # normalized: all constituents of a file add up to 1
    sector: str
    sub_industry: str


def resolve(base: Path, name: str) -> Path:
    """`name` relative to the config file's folder, else a shipped file of that name (e.g. "sp500.csv")."""
    p = Path(name).expanduser()
    if p.is_absolute():
        return p
    local = (base / p).resolve()
    if local.exists() or not (SHIPPED_DIR / p.name).exists() or p.name != str(p):
        return local
    return (SHIPPED_DIR / p.name).resolve()


def load_constituents(path: Path | str) -> tuple[Constituent, ...]:
    return _load(str(Path(path).resolve()), Path(path).stat().st_mtime_ns if Path(path).exists() else 0)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int) -> tuple[Constituent, ...]:
    from daemon.config.loader import ConfigError  # (not at import: the engine imports Constituent)

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or tuple(h.strip().lower() for h in header) != HEADER:
                raise ConfigError(path, [("", f"line 1: the header must be {','.join(HEADER)}, got "
                                              f"{','.join(header or [])!r}")])
            raw: list[tuple[str, Decimal | None, str, str]] = []
            seen: dict[str, int] = {}
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(HEADER):
                    raise ConfigError(path, [("", f"line {line}: expected {len(HEADER)} fields, got {len(row)}")])
                symbol, weight, sector, sub = (c.strip() for c in row)
                symbol = symbol.upper()
                if not symbol:
                    raise ConfigError(path, [("", f"line {line}: empty symbol")])
                if symbol in seen:
                    raise ConfigError(path, [("", f"line {line}: {symbol} is listed twice (line {seen[symbol]})")])
                seen[symbol] = line
                value: Decimal | None = None
                if weight:
                    try:
                        value = Decimal(weight)
                    except InvalidOperation:
                        raise ConfigError(path, [("", f"line {line}: weight {weight!r} is not a number")]) from None
                    if not value.is_finite() or value < 0:
                        raise ConfigError(path, [("", f"line {line}: weight must be zero or positive, got {weight}")])
                raw.append((symbol, value, sector, sub))
    except FileNotFoundError:
        raise ConfigError(path, [("", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [("", f"not UTF-8 text: {exc}")]) from None
    if not raw:
        raise ConfigError(path, [("", "no constituents")])
    given = [w for _, w, _, _ in raw if w is not None]
    if given and len(given) != len(raw):
        line = next(seen[s] for s, w, _, _ in raw if w is None)
        raise ConfigError(path, [("", f"line {line}: weight is empty while other lines give one; give every "
                                      f"weight or none (equal weights)")])
    total = sum(given, Decimal(0)) if given else Decimal(len(raw))
    if total <= 0:
        raise ConfigError(path, [("", "weights add up to zero")])
    return tuple(Constituent(s, (w if w is not None else Decimal(1)) / total, sector, sub)
                 for s, w, sector, sub in raw)
