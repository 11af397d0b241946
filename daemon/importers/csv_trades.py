"""Our trade CSV: `date,account,symbol,side,quantity,price` and optional `fees,lot_id`, one trade a row."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from daemon.ledger.types import ZERO, Side, Trade

REQUIRED = ("date", "account", "symbol", "side", "quantity", "price")
OPTIONAL = ("fees", "lot_id")
SOURCE = "csv"


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


def _decimal(value: str, name: str) -> Decimal:
    try:
        d = Decimal(value.strip().replace(",", "").replace("$", ""))
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"{name}: not a number: {value!r}")
    return d


def _row(raw: dict[str, str], line: int, accounts: Collection[str], seen: dict[str, int]) -> ImportedTrade:
    def field(name: str) -> str:
        return (raw.get(name) or "").strip()

    for name in REQUIRED:
        if not field(name):
            raise ValueError(f"{name}: missing")
    try:
        day = date.fromisoformat(field("date"))
    except ValueError:
        raise ValueError(f"date: not a YYYY-MM-DD date: {field('date')!r}") from None
    account = field("account")
    if account not in accounts:
        raise ValueError(f"account: unknown account {account!r} (not in the configuration)")
    try:
        side = Side(field("side").lower())
    except ValueError:
        raise ValueError(f"side: must be buy, sell or reinvest, got {field('side')!r}") from None
    quantity = _decimal(field("quantity"), "quantity")
    if quantity <= 0:
        raise ValueError(f"quantity: must be positive, got {field('quantity')}")
    if quantity != quantity.quantize(Decimal("1e-9")):
        raise ValueError(f"quantity: at most 9 decimal places, got {field('quantity')}")
    price = _decimal(field("price"), "price")
    if price < 0:
        raise ValueError(f"price: must not be negative, got {field('price')}")
    fees = _decimal(field("fees"), "fees") if field("fees") else ZERO
    if fees < 0:
        raise ValueError(f"fees: must not be negative, got {field('fees')}")
    symbol = field("symbol").upper()
    lot_id = field("lot_id") or None
    # Identity is the row's content (and its occurrence, for identical rows): re-importing adds nothing.
    content = "|".join([day.isoformat(), account, symbol, side.value, str(quantity.normalize()),
                        str(price.normalize()), str(fees.normalize()), lot_id or ""])
    seen[content] = seen.get(content, 0) + 1
    digest = hashlib.sha256(f"{content}|{seen[content]}".encode()).hexdigest()[:20]
    trade = Trade(trade_id=f"csv-{digest}", date=day, account=account, symbol=symbol, side=side,
                  quantity=quantity, price=price, fees=fees, lot_id=lot_id)
    return ImportedTrade(trade=trade, source=SOURCE, external_id=digest, line=line)


def parse(text: str, path: str, accounts: Collection[str]) -> list[ImportedTrade]:
    """Every row or nothing: the first bad row raises TradeImportError naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise TradeImportError(path, 1, f"header lacks column(s) {', '.join(missing)}; expected "
                                    f"{','.join(REQUIRED)}[,{','.join(OPTIONAL)}]")
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise TradeImportError(path, 1, f"unknown column(s) {', '.join(unknown)}")
    reader.fieldnames = header
    out: list[ImportedTrade] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            continue
        if None in raw:
            raise TradeImportError(path, line, "more fields than the header has columns")
        try:
            out.append(_row(raw, line, accounts, seen))
        except ValueError as exc:
            raise TradeImportError(path, line, str(exc)) from None
    return out


def read(path: Path, accounts: Collection[str]) -> list[ImportedTrade]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TradeImportError(str(path), None, f"cannot read: {exc.strerror}") from None
    return parse(text, str(path), accounts)
