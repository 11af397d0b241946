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

import hashlib
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from daemon.bookkeeping import ImportedAction
from daemon.importers.csv_trades import _date, _decimal, parse_rows, parse_time, read_text
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
    return parse_rows(text, path, REQUIRED, OPTIONAL, lambda raw, line, seen: _row(raw, line, accounts, seen))


def read(path: Path, accounts: Collection[str]) -> list[ImportedAction]:
    return parse(read_text(path), str(path), accounts)
