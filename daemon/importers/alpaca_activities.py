"""Alpaca FILL account activities (`GET /v2/account/activities?activity_types=FILL`) as trades.

Each item is validated with the SDK's own model, `alpaca.trading.models.TradeActivity`, but money and
quantities are taken from the raw JSON strings: the SDK types `price` and `qty` as floats, and a float
cannot hold "0.5234" or "187.4312" exactly. Each fill (a partial fill too) becomes one trade, and a buy
fill one lot: that is how Alpaca records them, and how its 1099-B will report them.

The trade date is the fill's `transaction_time` (UTC) seen in New York: trade dates are exchange-local.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alpaca.trading.enums import ActivityType, TradeActivityType
from alpaca.trading.models import TradeActivity
from pydantic import ValidationError

from brokers.alpaca.activities import activity_id, non_trade
from daemon.bookkeeping import ImportedAction
from daemon.importers.broker_activities import ImportReport
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger.types import ZERO, Side, Trade

SOURCE = "alpaca"
EXCHANGE_TZ = ZoneInfo("America/New_York")
# The Trading API's activities do not name the account (the Broker API's do); the SDK model requires an
# `account_id`, so an item without one is validated with this placeholder. It is never used.
_NO_ACCOUNT = "00000000-0000-0000-0000-000000000000"
_REQUIRED = ("id", "activity_type", "transaction_time", "type", "price", "qty", "side", "symbol")


def _exchange_time(when: datetime) -> time:
    """Execution time on the exchange's clock: the ledger orders a day's fills by it."""
    return when.astimezone(EXCHANGE_TZ).time().replace(tzinfo=None)


def trade_date(when: datetime) -> date:
    """The exchange-local (New York) date of a fill time; a naive time is refused, not guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"transaction_time: no time zone: {when.isoformat()!r}")
    return when.astimezone(EXCHANGE_TZ).date()


def _decimal(item: Mapping[str, Any], name: str) -> Decimal:
    raw = item.get(name)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ValueError(f"{name}: not a number: {raw!r}")
    try:
        # A JSON number that arrived as a float: its shortest repr is the text the sender wrote.
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name}: not a number: {raw!r}")
    return value


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{where}: {'missing' if error['type'] == 'missing' else error['msg']}")
    return "; ".join(parts)


def _convert(item: Any, account: str) -> tuple[Trade, str]:
    if not isinstance(item, Mapping):
        raise ValueError(f"not a JSON object but {type(item).__name__}")
    # Checks the SDK would report less clearly (or, for sell_short, only as "not a valid enum member").
    if item.get("side") == "sell_short":
        raise ValueError("side: sell_short (a short sale) is not supported: the ledger books long "
                         "positions only")
    missing = [name for name in _REQUIRED if item.get(name) in (None, "")]
    if missing:
        raise ValueError(f"{', '.join(missing)}: missing")
    data = dict(item)
    data.setdefault("account_id", _NO_ACCOUNT)
    try:
        activity = TradeActivity.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_validation_message(exc)) from None
    if activity.type not in (TradeActivityType.FILL, TradeActivityType.PARTIAL_FILL):  # pragma: no cover
        raise ValueError(f"type: expected fill or partial_fill, got {activity.type!r}")
    quantity = _decimal(item, "qty")
    if quantity <= 0:
        raise ValueError(f"qty: must be positive, got {item['qty']!r}")
    if quantity != quantity.quantize(Decimal("1e-9")):
        raise ValueError(f"qty: at most 9 decimal places, got {item['qty']!r}")
    price = _decimal(item, "price")
    if price < 0:
        raise ValueError(f"price: must not be negative, got {item['price']!r}")
    symbol = activity.symbol.strip().upper()
    if not symbol:
        raise ValueError("symbol: missing")
    activity_id = activity.id.strip()
    trade = Trade(trade_id=f"{SOURCE}-{activity_id}", date=trade_date(activity.transaction_time),
                  account=account, symbol=symbol, side=Side(activity.side.value), quantity=quantity,
                  price=price, fees=ZERO, time=_exchange_time(activity.transaction_time),
                  order_id=str(activity.order_id) if activity.order_id else None)
    return trade, activity_id


def parse_report(items: Sequence[Any], account: str, name: str) -> ImportReport:
    """FILLs as trades (all or nothing: the first bad one raises TradeImportError naming `name` and
    "item N"), the other activities (corporate actions, transfers) paired and mapped as the sync maps them;
    those that cannot be mapped are handed back (with their item number) for the quarantine.

    `items` is the activities array (as decoded JSON, e.g. from the API); `account` is our account id,
    which the activities do not carry. The same activity twice (overlapping pages) counts once; the same
    id with different contents is an error.
    """
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise TradeImportError(name, None, "expected a JSON array of account activities")
    out = ImportReport(imported=[])
    seen: dict[str, tuple[int, Any]] = {}
    other: list[tuple[int, Mapping[str, Any]]] = []
    for n, item in enumerate(items, start=1):
        if isinstance(item, Mapping) and item.get("activity_type") not in (None, ActivityType.FILL.value):
            try:
                key = activity_id(item)
            except ValueError as exc:
                raise TradeImportError(name, n, f"item {n}: {exc}") from None
            if key in seen:
                if seen[key][1] != item:
                    raise TradeImportError(name, n, f"item {n}: activity id {key!r} already used by item "
                                                    f"{seen[key][0]} with different contents")
                continue
            seen[key] = (n, item)
            other.append((n, item))
            continue
        try:
            trade, key = _convert(item, account)
        except ValueError as exc:
            raise TradeImportError(name, n, f"item {n}: {exc}") from None
        if key in seen:
            first, earlier = seen[key]
            if earlier != trade:
                raise TradeImportError(name, n, f"item {n}: activity id {key!r} already used by "
                                                f"item {first} with different contents")
            continue
        seen[key] = (n, trade)
        out.imported.append(ImportedTrade(trade=trade, source=SOURCE, external_id=key, line=n))
    number = {id(item): n for n, item in other}
    for activity in non_trade([item for _, item in other], account):
        first = min(number[id(i)] for i in other_items(other, activity))
        out.add(activity, SOURCE, first)
    return out


def other_items(other: Sequence[tuple[int, Mapping[str, Any]]], activity: Any) -> list[Mapping[str, Any]]:
    ids = set(activity.activity_id.split("+"))
    return [item for _, item in other if str(item.get("id") or "").strip() in ids] or [other[0][1]]


def parse(items: Sequence[Any], account: str, name: str) -> list[ImportedTrade | ImportedAction]:
    """Like `parse_report`, but an activity that cannot be mapped is an error naming its item."""
    report = parse_report(items, account, name)
    if report.unmapped:
        n, activity = report.unmapped[0]
        raise TradeImportError(name, n, f"item {n}: {activity.problem}")
    return report.imported


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TradeImportError(str(path), None, f"cannot read: {exc.strerror}") from None
    try:
        # Numbers as Decimal: a JSON number (not the API's string) must not pass through a float.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise TradeImportError(str(path), exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") \
            from None


def read(path: Path, account: str) -> list[ImportedTrade | ImportedAction]:
    """Read a saved JSON array of account activities (FILLs and corporate actions) for our account."""
    return parse(_load(path), account, str(path))


def read_report(path: Path, account: str) -> ImportReport:
    return parse_report(_load(path), account, str(path))
