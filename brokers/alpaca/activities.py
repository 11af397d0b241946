"""Alpaca non-trade account activities (raw JSON) -> our neutral `Activity` values. No SDK here: plain JSON.

Alpaca reports a corporate action as activities sharing a date: the old shares out (negative `qty`) and the
new ones in (positive `qty`). They are paired here: a SPLIT out/in of one symbol is a split (ratio = in/out),
NC/SC out of one symbol and in of another a symbol change (a merger when the quantities differ), MA/REO/REORG
out/in a stock-for-stock merger (cash on the pair = boot), an MA/REO out alone with cash a cash merger, a
REORG out alone without cash a worthless removal, DIVROC a return of capital, ACATS/JNLS out a transfer out.

What cannot be mapped safely becomes an UNMAPPED activity whose `problem` says why and what to do, and the
sync quarantines it: a type we do not map, a pair that does not pair up (a half, or several candidates on
one day), cash in lieu on a split, a spin-off (its basis allocation is not in the activity), a transfer in
(Alpaca does not send the basis and acquisition date). Nothing is guessed and nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from brokers.protocol import Activity, ActivityKind

EXCHANGE_TZ = ZoneInfo("America/New_York")
ZERO = Decimal(0)

SPLITS = frozenset({"SPLIT", "SSP"})  # SSP: the former split code, still returned for old activities
RENAMES = frozenset({"NC", "SC"})
REORGS = frozenset({"MA", "REO", "REORG"})
SPINOFFS = frozenset({"SPIN", "SSO"})  # SSO: the former spin-off code
CAPITAL = frozenset({"DIVROC"})
TRANSFERS = frozenset({"ACATS", "JNLS"})
MAPPED = SPLITS | RENAMES | REORGS | SPINOFFS | CAPITAL | TRANSFERS
# Activities that move shares but that we do not map (option assignment, expiry, exercise deliver or take
# stock at a price the activity does not state): asked for so that they are quarantined, never missed.
UNMAPPED_TYPES = frozenset({"OPASN", "OPEXP", "OPXRC"})
# Cash only (dividends, interest, deposits, fees, cash journals): no effect on lots; skipped in a file.
CASH_ONLY = frozenset({"DIV", "DIVCGL", "DIVCGS", "DIVFEE", "DIVFT", "DIVNRA", "DIVTW", "DIVTXEX", "INT",
                       "INTNRA", "INTTW", "CSD", "CSW", "JNLC", "ACATC", "FEE", "CFEE", "PTC", "PTR", "TRANS"})
# What the sync asks the activities endpoint for: fills and everything that moves shares.
REQUESTED = ("FILL", "SPLIT", "SSP", "SPIN", "SSO", "MA", "NC", "SC", "REORG", "REO", "DIVROC", "ACATS", "JNLS",
             "OPASN", "OPEXP", "OPXRC")

_FIX = ("book it yourself (tlh import FILE --format actions, or a trade CSV) and then "
        "`tlh quarantine resolve ID --note ...`")


def _text(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    return "" if value is None else str(value).strip()


def _number(item: Mapping[str, Any], name: str) -> Decimal | None:
    raw = item.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{name}: not a number: {raw!r}")
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name}: not a number: {raw!r}")
    return value


def _day(item: Mapping[str, Any]) -> date:
    raw = _text(item, "date") or _text(item, "transaction_time")
    if not raw:
        raise ValueError("date: missing")
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"date: not a date: {raw!r}") from None
    return when.astimezone(EXCHANGE_TZ).date() if when.tzinfo is not None else when.date()


def activity_id(item: Any) -> str:
    """The activity's id (the paging token); ValueError when it has none (it could not be paged past)."""
    if not isinstance(item, Mapping):
        raise ValueError(f"activity: not a JSON object but {type(item).__name__}")
    out = _text(item, "id")
    if not out:
        raise ValueError("activity: id missing")
    return out


def _plain(item: Mapping[str, Any]) -> dict[str, object]:
    """JSON-safe copy (Decimals from a file read with parse_float=Decimal as their text)."""
    return {str(k): (str(v) if isinstance(v, Decimal) else v) for k, v in item.items()}


class _Item:
    __slots__ = ("cash", "day", "id", "item", "qty", "symbol", "type")

    def __init__(self, item: Mapping[str, Any]):
        self.item = item
        self.id = activity_id(item)
        self.type = _text(item, "activity_type").upper()
        self.day = _day(item)
        self.symbol = _text(item, "symbol").upper()
        self.qty = _number(item, "qty")
        self.cash = _number(item, "net_amount")


def unmapped(items: Sequence[Mapping[str, Any]], account: str, problem: str, day: date | None = None) -> Activity:
    ids = [_text(i, "id") or "?" for i in items]
    types = sorted({_text(i, "activity_type").upper() or "?" for i in items})
    symbols = sorted({_text(i, "symbol").upper() for i in items} - {""})
    if day is None:
        try:
            day = _day(items[0])
        except ValueError:
            day = date.min
    return Activity(activity_id="+".join(ids), account=account, kind=ActivityKind.UNMAPPED, day=day,
                    symbol=symbols[0] if symbols else None, broker_type="+".join(types),
                    raw=tuple(_plain(i) for i in items), problem=problem)


def _activity(items: Sequence[_Item], account: str, kind: ActivityKind, symbol: str, **fields: Any) -> Activity:
    return Activity(activity_id="+".join(i.id for i in items), account=account, kind=kind, day=items[0].day,
                    symbol=symbol, broker_type="+".join(sorted({i.type for i in items})),
                    raw=tuple(_plain(i.item) for i in items), **fields)


def _ratio(out: _Item, into: _Item) -> Decimal:
    assert out.qty is not None and into.qty is not None
    return into.qty / -out.qty


def _pairs(group: list[_Item]) -> tuple[list[tuple[_Item, _Item | None]], list[_Item]]:
    """(out, in) pairs of a day's activities of one family, and what does not pair: one out and at most one
    in pair up; with several outs on one day nothing does (which goes with which is never guessed)."""
    outs = [i for i in group if i.qty is not None and i.qty < 0]
    ins = [i for i in group if i.qty is not None and i.qty > 0]
    rest = [i for i in group if i not in outs and i not in ins]
    if len(outs) == 1 and len(ins) <= 1:
        return [(outs[0], ins[0] if ins else None)], rest
    return [], group


def _split(group: list[_Item], account: str) -> list[Activity]:
    by_symbol: dict[str, list[_Item]] = {}
    for item in group:
        by_symbol.setdefault(item.symbol, []).append(item)
    out: list[Activity] = []
    for symbol, items in by_symbol.items():
        pairs, rest = _pairs(items)
        cash = [i for i in rest if i.cash]
        if len(pairs) == 1 and pairs[0][1] is not None and not rest and symbol:
            old, new = pairs[0]
            assert new is not None
            out.append(_activity([old, new], account, ActivityKind.SPLIT, symbol, ratio=_ratio(old, new)))
        elif pairs and cash:
            out.append(unmapped([i.item for i in items], account,
                                f"a split of {symbol} with cash in lieu: the fraction's price is not "
                                f"certain from the activities; {_FIX}"))
        else:
            out.append(unmapped([i.item for i in items], account,
                                f"split activities of {symbol or '?'} on {items[0].day} that do not pair up "
                                f"(one out, one in): the sync that brings the other half pairs them; "
                                f"otherwise {_FIX}"))
    return out


def _rename_or_reorg(group: list[_Item], account: str, family: frozenset[str]) -> list[Activity]:
    pairs, rest = _pairs(group)
    if rest or not pairs:
        what = "symbol change" if family is RENAMES else "merger/reorganization"
        return [unmapped([i.item for i in group], account,
                         f"{what} activities on {group[0].day} that do not pair up (one out, one in): "
                         f"the sync that brings the other half pairs them; otherwise {_FIX}")]
    ((old, new),) = pairs
    assert old.qty is not None
    legs = [old] if new is None else [old, new]
    cash = sum((i.cash or ZERO for i in legs), ZERO)
    if new is not None:
        if not new.symbol or not old.symbol:
            return [unmapped([i.item for i in legs], account, f"a symbol is missing; {_FIX}")]
        if new.symbol == old.symbol:
            return [unmapped([i.item for i in legs], account,
                             f"{old.symbol} out and in again under the same symbol ({old.type}); {_FIX}")]
        ratio = _ratio(old, new)
        if family is RENAMES and ratio == 1 and not cash:
            return [_activity(legs, account, ActivityKind.SYMBOL_CHANGE, old.symbol, new_symbol=new.symbol)]
        return [_activity(legs, account, ActivityKind.STOCK_MERGER, old.symbol, ratio=ratio, new_symbol=new.symbol,
                          cash_per_share=(cash / -old.qty) if cash > 0 else None)]
    if cash > 0 and family is REORGS:
        per_share = _number(old.item, "per_share_amount") or cash / -old.qty
        return [_activity(legs, account, ActivityKind.CASH_MERGER, old.symbol, cash_per_share=per_share)]
    if old.type == "REORG" and not cash:
        return [_activity(legs, account, ActivityKind.WORTHLESS, old.symbol)]
    return [unmapped([old.item], account,
                     f"{old.type}: {-old.qty} {old.symbol} out with nothing in: half of a pair? The sync that "
                     f"brings the other half pairs them; otherwise {_FIX}")]


def _single(item: _Item, account: str) -> Activity:
    if item.type in CAPITAL:
        per_share = _number(item.item, "per_share_amount")
        if per_share is None and item.cash and item.qty:
            per_share = item.cash / abs(item.qty)
        if not item.symbol or per_share is None or per_share <= 0:
            return unmapped([item.item], account, f"DIVROC without a symbol or an amount per share; {_FIX}")
        return _activity([item], account, ActivityKind.RETURN_OF_CAPITAL, item.symbol, cash_per_share=per_share)
    if item.type in TRANSFERS:
        if not item.symbol or not item.qty:
            return unmapped([item.item], account, f"{item.type} without a symbol or quantity; {_FIX}")
        if item.qty < 0:
            price = _number(item.item, "price")
            return _activity([item], account, ActivityKind.TRANSFER_OUT, item.symbol, quantity=-item.qty,
                             price=price)
        return unmapped([item.item], account,
                        f"{item.type}: {item.qty} {item.symbol} transferred in; Alpaca does not send their "
                        f"original basis and acquisition date: import them as transfer_in rows (trade CSV with "
                        f"acquired and basis columns), then `tlh quarantine resolve ID --note ...`")
    if item.type in SPINOFFS:
        return unmapped([item.item], account,
                        f"{item.type}: a spin-off into {item.symbol or '?'}: the parent, ratio and basis "
                        f"allocation (the issuer's Form 8937) are not in the activity: import a spinoff row "
                        f"(tlh import FILE --format actions), then `tlh quarantine resolve ID --note ...`")
    return unmapped([item.item], account,
                    f"activity type {item.type or '?'} is not one the adapter maps; {_FIX}")


def non_trade(items: Sequence[Mapping[str, Any]], account: str) -> list[Activity]:
    """Map a page's non-trade activities (in the broker's order) to Activities, pairing halves by date.

    An item whose fields cannot be read is UNMAPPED by itself; an item without an id raises ValueError.
    Cash-only activities (CASH_ONLY) are left out: they change no lot."""
    out: list[tuple[int, Activity]] = []
    groups: dict[tuple[str, date], list[tuple[int, _Item]]] = {}
    for n, item in enumerate(items):
        activity_id(item)
        if _text(item, "activity_type").upper() in CASH_ONLY:
            continue
        try:
            p = _Item(item)
        except ValueError as exc:
            out.append((n, unmapped([item], account, f"{exc}; {_FIX}")))
            continue
        family = next((name for name, codes in (("split", SPLITS), ("rename", RENAMES), ("reorg", REORGS))
                       if p.type in codes), None)
        if family is None:
            out.append((n, _single(p, account)))
        else:
            groups.setdefault((family, p.day), []).append((n, p))
    for (family, _), members in groups.items():
        group = [p for _, p in members]
        made = (_split(group, account) if family == "split"
                else _rename_or_reorg(group, account, RENAMES if family == "rename" else REORGS))
        out.extend((members[0][0], a) for a in made)
    out.sort(key=lambda it: it[0])
    return [a for _, a in out]
