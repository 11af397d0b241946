"""IBKR Flex "Corporate Actions" and "Transfers" sections as neutral activities (brokers.protocol.Activity).

Corporate actions (`<CorporateAction type=... actionID=...>`): the rows of one action share an actionID and
are taken together. FS/RS (forward/reverse split): the ratio from the description ("SPLIT 4 FOR 1"), else
from an old-out/new-in pair. TC (merger/acquisition, tender): old shares out and new in is a stock merger
(ratio = in/out, the out row's proceeds are the boot), old out with proceeds only a cash merger. IC (issue
change) with as many shares in as out is a symbol change. SO (spin-off): the basis allocation (Form 8937) is
not in the report, so it is left for the user (quarantined). Other types (dividend rights, choices, bond
events...) are not mapped and are quarantined too, never dropped.

Transfers (`<Transfer direction="IN|OUT" ...>`): out is a transfer out; in is a transfer in when the row
carries a cost basis (costBasis) and the holding period's start (holdingPeriodDateTime or openDateTime),
otherwise it is left for the user to import with its basis (quarantined).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from brokers.protocol import Activity, ActivityKind

SPLITS = frozenset({"FS", "RS"})
MERGERS = frozenset({"TC", "TO", "TI"})
RENAMES = frozenset({"IC"})
SPINOFFS = frozenset({"SO"})
_RATIO = re.compile(r"(?:SPLIT|SPINOFF|SPIN-OFF|FOR)\s+(\d+(?:\.\d+)?)\s+FOR\s+(\d+(?:\.\d+)?)", re.IGNORECASE)
_FIX = ("book it yourself (tlh import FILE --format actions, or a trade CSV) and then "
        "`tlh quarantine resolve ID --note ...`")


def _ratio(description: str) -> Decimal | None:
    found = _RATIO.search(description)
    if not found:
        return None
    new, old = Decimal(found.group(1)), Decimal(found.group(2))
    return new / old if old else None


class _Row:
    def __init__(self, row: Mapping[str, Any], line: int, account: str):
        from daemon.importers import ibkr_flex as flex

        self.row, self.line, self.account = row, line, account
        self.type = flex._text(row, "type").upper()
        self.symbol = " ".join(flex._text(row, "symbol").upper().split()).replace(" ", ".")
        raw_day = flex._text(row, "reportDate") or flex._text(row, "date") or flex._text(row, "dateTime")[:8]
        if not raw_day:
            raise ValueError("reportDate: missing")
        self.day: date = flex._date(raw_day.split(";")[0])
        self.quantity = flex._decimal(row, "quantity", required=False)
        self.proceeds = flex._decimal(row, "proceeds", required=False) or Decimal(0)
        self.description = flex._text(row, "actionDescription") or flex._text(row, "description")
        self.id = flex._text(row, "transactionID") or f"line{line}"
        self.action = flex._text(row, "actionID") or f"{self.type}|{self.day}|{self.id}"


def _account(row: Mapping[str, Any], statement: str | None, codes: Mapping[str, str]) -> str:
    from daemon.importers import ibkr_flex as flex

    code = flex._text(row, "accountId") or (statement or "")
    account = codes.get(code)
    if account is None:
        raise ValueError(f"accountId: IB account {code!r} is not the broker_account of any configured account")
    return account


def _activity(rows: list[_Row], kind: ActivityKind, symbol: str | None, **fields: Any) -> Activity:
    return Activity(activity_id="+".join(r.id for r in rows), account=rows[0].account, kind=kind, day=rows[0].day,
                    symbol=symbol, broker_type="CorporateAction " + "+".join(sorted({r.type for r in rows})),
                    raw=tuple({str(k): v for k, v in r.row.items()} for r in rows), **fields)


def _unmapped(rows: list[_Row], problem: str) -> Activity:
    return _activity(rows, ActivityKind.UNMAPPED, rows[0].symbol or None, problem=problem)


def _action(rows: list[_Row]) -> Activity:
    kind = rows[0].type
    outs = [r for r in rows if r.quantity is not None and r.quantity < 0]
    ins = [r for r in rows if r.quantity is not None and r.quantity > 0]
    described = next((x for x in (_ratio(r.description) for r in rows) if x is not None), None)
    if kind in SPLITS:
        symbols = {r.symbol for r in rows}
        if len(symbols) == 1 and described is not None and described > 0:
            return _activity(rows, ActivityKind.SPLIT, rows[0].symbol, ratio=described)
        if len(outs) == 1 and len(ins) == 1:
            assert outs[0].quantity is not None and ins[0].quantity is not None
            return _activity(rows, ActivityKind.SPLIT, outs[0].symbol, ratio=ins[0].quantity / -outs[0].quantity)
        return _unmapped(rows, f"a split ({kind}) whose ratio is not in the description nor an out/in pair; {_FIX}")
    if kind in MERGERS or kind in RENAMES:
        if len(outs) != 1 or len(ins) > 1:
            return _unmapped(rows, f"{kind}: rows that do not pair up (one out, at most one in); {_FIX}")
        old = outs[0]
        assert old.quantity is not None
        shares = -old.quantity
        cash = sum((r.proceeds for r in rows), Decimal(0))
        if ins:
            new = ins[0]
            assert new.quantity is not None
            if new.symbol == old.symbol:
                return _unmapped(rows, f"{kind}: {old.symbol} out and in again; {_FIX}")
            if new.quantity == shares and cash <= 0:
                return _activity(rows, ActivityKind.SYMBOL_CHANGE, old.symbol, new_symbol=new.symbol)
            return _activity(rows, ActivityKind.STOCK_MERGER, old.symbol, ratio=new.quantity / shares,
                             new_symbol=new.symbol, cash_per_share=cash / shares if cash > 0 else None)
        if cash > 0 and kind in MERGERS:
            return _activity(rows, ActivityKind.CASH_MERGER, old.symbol, cash_per_share=cash / shares)
        return _unmapped(rows, f"{kind}: {shares} {old.symbol} out with nothing in and no proceeds; {_FIX}")
    if kind in SPINOFFS:
        new = ins[0].symbol if len(ins) == 1 else "?"
        return _unmapped(rows, f"a spin-off into {new}: the basis allocation (the issuer's Form 8937) is not in "
                               f"the report: import a spinoff row (tlh import FILE --format actions), then "
                               f"`tlh quarantine resolve ID --note ...`")
    return _unmapped(rows, f"corporate action type {kind or '?'} is not one the importer maps; {_FIX}")


def corporate_actions(report: Any, name: str, codes: Mapping[str, str]) -> list[tuple[int, Activity]]:
    """(line, activity) of each corporate action of stocks in the report, rows of one action together."""
    from daemon.importers import ibkr_flex as flex
    from daemon.importers.csv_trades import TradeImportError

    objs = report.extract("CorporateAction", parseNumbers=False)
    places = flex._positions(report.data, "CorporateAction")
    groups: dict[str, list[_Row]] = {}
    for obj, where in zip(objs, places, strict=True):
        row = vars(obj)
        if flex._text(row, "assetCategory").upper() not in ("", "STK"):
            continue
        if flex._text(row, "levelOfDetail").upper() not in ("", "DETAIL"):
            continue
        try:
            parsed = _Row(row, where.line, _account(row, where.statement_account, codes))
        except ValueError as exc:
            raise TradeImportError(name, where.line, f"CorporateAction: {exc}") from None
        groups.setdefault(f"{parsed.account}|{parsed.action}", []).append(parsed)
    return [(rows[0].line, _action(rows)) for rows in groups.values()]


def transfers(report: Any, name: str, codes: Mapping[str, str]) -> list[tuple[int, Activity]]:
    """(line, activity) of each stock transfer in or out."""
    from daemon.importers import ibkr_flex as flex
    from daemon.importers.csv_trades import TradeImportError

    objs = report.extract("Transfer", parseNumbers=False)
    places = flex._positions(report.data, "Transfer")
    out: list[tuple[int, Activity]] = []
    for obj, where in zip(objs, places, strict=True):
        row = vars(obj)
        if flex._text(row, "assetCategory").upper() not in ("", "STK"):
            continue
        try:
            r = _Row(row, where.line, _account(row, where.statement_account, codes))
            direction = flex._text(row, "direction").upper()
            if not r.quantity or not r.symbol:
                raise ValueError("quantity and symbol: required")
            basis = flex._decimal(row, "costBasis", required=False)
            since = flex._text(row, "holdingPeriodDateTime") or flex._text(row, "openDateTime")
            acquired = flex._date(since.split(";")[0][:10].replace("-", "")) if since else None
        except ValueError as exc:
            raise TradeImportError(name, where.line, f"Transfer: {exc}") from None
        shares = abs(r.quantity)
        base = {"activity_id": r.id, "account": r.account, "day": r.day, "symbol": r.symbol,
                "broker_type": f"Transfer {flex._text(row, 'type') or '?'}",
                "raw": ({str(k): v for k, v in row.items()},), "quantity": shares}
        if direction == "OUT" or r.quantity < 0:
            out.append((r.line, Activity(kind=ActivityKind.TRANSFER_OUT, **base)))
        elif basis is not None and acquired is not None:
            out.append((r.line, Activity(kind=ActivityKind.TRANSFER_IN, basis=abs(basis), acquired=acquired,
                                         **base)))
        else:
            out.append((r.line, Activity(kind=ActivityKind.UNMAPPED, **base, problem=(
                f"{shares} {r.symbol} transferred in without a cost basis and acquisition date in the report: "
                f"import them as transfer_in rows (trade CSV with acquired and basis), then "
                f"`tlh quarantine resolve ID --note ...`"))))
    return out
