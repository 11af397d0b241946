"""alpaca-py models and raw Alpaca JSON -> our broker types. Nothing from the SDK leaves this package.

Money and quantities are Decimal from the API's own text where it sends text (trading responses); market
data arrives as JSON numbers, which the SDK holds as floats: their shortest repr is the number sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from alpaca.data.models import Quote as AlpacaQuote
from alpaca.data.models import Trade as AlpacaTrade
from alpaca.trading.models import Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition

from brokers.protocol import (
    AccountSnapshot,
    Fill,
    MarketClock,
    OrderSide,
    OrderState,
    OrderStatus,
    Position,
    Quote,
)

EXCHANGE_TZ = ZoneInfo("America/New_York")
ZERO = Decimal(0)

# Alpaca order statuses that end an order. Every other status is "still working": NEW, or PARTIALLY_FILLED
# once something filled. pending_cancel / pending_replace are not final: the order may still fill.
_FINAL: dict[str, OrderStatus] = {
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "done_for_day": OrderStatus.CANCELED,  # a day order's unfilled rest after the close
    "replaced": OrderStatus.CANCELED,  # superseded by another order (we never replace orders)
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}
_LOSSY = {"done_for_day", "replaced"}  # final statuses we fold into CANCELED: kept as the reason


def dec(value: Any, name: str = "value") -> Decimal | None:
    """A Decimal from an API string or number (None for None/""), exactly as written."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: not a number: {value!r}")
    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if not out.is_finite():
        raise ValueError(f"{name}: not a number: {value!r}")
    return out


def _required(value: Any, name: str) -> Decimal:
    out = dec(value, name)
    if out is None:
        raise ValueError(f"{name}: missing")
    return out


def _utc(when: datetime | None) -> datetime | None:
    """The SDK's aware datetimes carry pydantic's own tzinfo class: plain UTC ones instead."""
    return None if when is None else when.astimezone(UTC)


def _exchange_time(when: datetime) -> datetime:
    return when.astimezone(EXCHANGE_TZ)


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def order_status(alpaca_status: str, filled: Decimal) -> tuple[OrderStatus, str | None]:
    """Our status for an Alpaca order status (and the Alpaca one as the reason where the mapping loses it)."""
    final = _FINAL.get(alpaca_status)
    if final is not None:
        return final, alpaca_status if alpaca_status in _LOSSY else None
    if alpaca_status == "partially_filled" or filled > 0:
        return OrderStatus.PARTIALLY_FILLED, None
    return OrderStatus.NEW, None


def order_state(order: Order, account: str) -> OrderState:
    filled = dec(order.filled_qty, "filled_qty") or ZERO
    status, reason = order_status(_value(order.status), filled)
    avg = dec(order.filled_avg_price, "filled_avg_price")
    if order.side is None or not order.symbol:
        raise ValueError(f"order {order.id}: no side or symbol (a multi-leg order?)")
    return OrderState(
        client_order_id=order.client_order_id,
        account=account,
        symbol=order.symbol,
        side=OrderSide(_value(order.side)),
        status=status,
        broker_order_id=str(order.id),
        quantity=dec(order.qty, "qty"),
        notional=dec(order.notional, "notional"),
        filled_quantity=filled,
        filled_avg_price=avg if filled else None,
        submitted_at=_utc(order.submitted_at),
        updated_at=_utc(order.updated_at),
        reason=reason,
    )


def fill(item: Any, account: str) -> Fill:
    """One FILL account activity (raw JSON: `id, transaction_time, side, symbol, qty, price, order_id`)."""
    if not isinstance(item, Mapping):
        raise ValueError(f"activity: not a JSON object but {type(item).__name__}")
    fill_id = str(item.get("id") or "").strip()
    if not fill_id:
        raise ValueError("activity: id missing")
    where = f"activity {fill_id}"
    if item.get("activity_type", "FILL") != "FILL":
        raise ValueError(f"{where}: activity_type {item.get('activity_type')!r}, not FILL")
    side = item.get("side")
    if side not in ("buy", "sell", "sell_short"):
        raise ValueError(f"{where}: side {side!r}")
    symbol = str(item.get("symbol") or "").strip().upper()
    if not symbol:
        raise ValueError(f"{where}: symbol missing")
    try:
        when = datetime.fromisoformat(str(item.get("transaction_time")))
    except ValueError:
        raise ValueError(f"{where}: transaction_time {item.get('transaction_time')!r}") from None
    if when.utcoffset() is None:
        raise ValueError(f"{where}: transaction_time has no time zone")
    quantity = _required(item.get("qty"), f"{where}: qty")
    if quantity <= 0:
        raise ValueError(f"{where}: qty must be positive, got {item.get('qty')!r}")
    order_id = item.get("order_id")
    return Fill(fill_id=fill_id, account=account, symbol=symbol,
                side=OrderSide.BUY if side == "buy" else OrderSide.SELL, quantity=quantity,
                price=_required(item.get("price"), f"{where}: price"), time=when,
                broker_order_id=str(order_id) if order_id else None)


def account_snapshot(raw: TradeAccount, account: str, paper: bool) -> AccountSnapshot:
    return AccountSnapshot(account=account, cash=_required(raw.cash, "cash"),
                           equity=_required(raw.equity, "equity"),
                           trading_blocked=bool(raw.trading_blocked or raw.account_blocked), paper=paper)


def position(raw: AlpacaPosition, account: str) -> Position:
    return Position(account=account, symbol=raw.symbol, quantity=_required(raw.qty, f"{raw.symbol} qty"))


def market_clock(raw: Clock) -> MarketClock:
    return MarketClock(now=_exchange_time(raw.timestamp), is_open=raw.is_open,
                       next_open=_exchange_time(raw.next_open), next_close=_exchange_time(raw.next_close))


def exchange_date(when: datetime) -> date:
    """The New York date of an aware time (a daily bar's timestamp is midnight New York)."""
    return when.astimezone(EXCHANGE_TZ).date()


def _price(value: float | None) -> Decimal | None:
    out = dec(value, "price")
    return out if out is not None and out > 0 else None  # 0 = no bid / no ask


def quote(symbol: str, latest_quote: AlpacaQuote | None, latest_trade: AlpacaTrade | None) -> Quote:
    """The last trade's price and New York date (else the quote's date), with the latest bid and ask."""
    when = latest_trade.timestamp if latest_trade is not None else (
        latest_quote.timestamp if latest_quote is not None else None)
    return Quote(symbol=symbol,
                 last=_price(latest_trade.price) if latest_trade is not None else None,
                 bid=_price(latest_quote.bid_price) if latest_quote is not None else None,
                 ask=_price(latest_quote.ask_price) if latest_quote is not None else None,
                 day=exchange_date(when) if when is not None else None)
