"""The corporate-actions CSV: `date,symbol,action,ratio,new_symbol,cash_per_share,basis_fraction` and optional
`account,time`, one action a row (a public contract, like the trade CSV).

`action` is split (ratio = new shares per old: 4 for 4:1, 0.1 for 1:10; cash_per_share = the cash-in-lieu
price of a fractional share), symbol_change (new_symbol), cash_merger (cash_per_share), stock_merger (ratio,
new_symbol, optional cash_per_share boot), spinoff (ratio = new shares per old share held, new_symbol,
basis_fraction = the share of the parent's basis that moves to the new shares, from the issuer's Form 8937),
return_of_capital (cash_per_share), worthless. An empty `account` means every account of the household
holding the symbol that day. All rows or none: the first bad row raises an error naming its line.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from daemon.bookkeeping import ImportedAction
from daemon.importers.csv_trades import TradeImportError, _date, _decimal, parse_time
from daemon.ledger.actions import ActionError, ActionKind, CorporateAction, check

REQUIRED = ("date", "symbol", "action", "ratio", "new_symbol", "cash_per_share", "basis_fraction")
OPTIONAL = ("account", "time")
SOURCE = "csv-actions"


def _row(raw: dict[str, str], line: int, accounts: Collection[str], seen: dict[str, int]) -> ImportedAction:
    def field(name: str) -> str:
        return (raw.get(name) or "").strip()

    for name in ("date", "symbol", "action"):
        if not field(name):
            raise ValueError(f"{name}: missing")
    day = _date(field("date"), "date")
    try:
        kind = ActionKind(field("action").lower())
    except ValueError:
        raise ValueError(f"action: must be one of {', '.join(k.value for k in ActionKind)}, "
                         f"got {field('action')!r}") from None
    account = field("account") or None
    if account is not None and account not in accounts:
        raise ValueError(f"account: unknown account {account!r} (not in the configuration)")

    def number(name: str) -> Decimal | None:
        return _decimal(field(name), name) if field(name) else None

    action = CorporateAction(action_id="", date=day, symbol=field("symbol").upper(), kind=kind, account=account,
                             ratio=number("ratio"), new_symbol=field("new_symbol").upper() or None,
                             cash_per_share=number("cash_per_share"), basis_fraction=number("basis_fraction"),
                             time=parse_time(field("time")) if field("time") else None)
    try:
        check(action)
    except ActionError as exc:
        raise ValueError(str(exc)) from None
    content = "|".join(str(x) for x in (action.date, action.symbol, action.kind, action.account or "",
                                        action.ratio, action.new_symbol or "", action.cash_per_share,
                                        action.basis_fraction, action.time or ""))
    seen[content] = seen.get(content, 0) + 1
    digest = hashlib.sha256(f"{content}|{seen[content]}".encode()).hexdigest()[:20]
    action = replace(action, action_id=f"ca-{digest}")
    return ImportedAction(action=action, source=SOURCE, external_id=digest, line=line)


def parse(text: str, path: str, accounts: Collection[str]) -> list[ImportedAction]:
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
    out: list[ImportedAction] = []
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


def read(path: Path, accounts: Collection[str]) -> list[ImportedAction]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise TradeImportError(str(path), None, f"cannot read: {reason}") from None
    return parse(text, str(path), accounts)
