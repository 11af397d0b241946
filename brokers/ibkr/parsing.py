"""ib_async objects -> our protocol types, and our order requests -> ib_async contracts and orders. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from ib_async import CommissionReport, Order, Stock, Trade
from ib_async import Fill as IbFill
from ib_async.util import UNSET_DOUBLE

from brokers.protocol import BrokerError, Fill, OrderRequest, OrderSide, OrderState, OrderStatus, TimeInForce

SIDES = {"BOT": OrderSide.BUY, "SLD": OrderSide.SELL}
ACTIONS = {OrderSide.BUY: "BUY", OrderSide.SELL: "SELL"}
CANCEL_CODE = 202  # "Order Canceled - reason:" accompanies every cancel: not a rejection
# still working at IB ("ValidationError" is ib_async's mark for a warning on a live order)
WORKING = {"", "PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel", "ApiUpdate",
           "ValidationError"}


def number(value: float | Decimal | None) -> Decimal | None:
    """An IB float as a Decimal; None for IB's unset markers and NaN."""
    if value is None or isinstance(value, float) and (math.isnan(value) or abs(value) >= UNSET_DOUBLE / 2):
        return None
    if isinstance(value, float) and value.is_integer():
        return Decimal(int(value))
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def quantity(value: float | Decimal | None) -> Decimal:
    return number(value) or Decimal(0)


def price(value: float | Decimal | None) -> Decimal | None:
    """A price, or None for IB's "no price" (-1, 0, unset, NaN)."""
    p = number(value)
    return p if p is not None and p > 0 else None


# -- requests ----------------------------------------------------------------------------------------------
def stock(symbol: str) -> Stock:
    return Stock(symbol, "SMART", "USD")


def ib_order(request: OrderRequest, account_code: str) -> Order:
    """A market order (market-on-close for TimeInForce.CLOSE) in whole shares, tagged with our client order id."""
    if request.notional is not None or request.quantity is None:
        raise BrokerError("ibkr submit: orders are sized in shares; notional orders are not supported")
    if request.quantity != request.quantity.to_integral_value() or request.quantity <= 0:
        raise BrokerError(f"ibkr submit: quantity must be a positive whole number of shares, got {request.quantity}")
    if request.lot_ids:
        raise BrokerError("ibkr submit: specific-lot sells are set in IBKR's Tax Optimizer, not through the API")
    order_type = "MOC" if request.time_in_force is TimeInForce.CLOSE else "MKT"
    return Order(action=ACTIONS[request.side], totalQuantity=float(request.quantity), orderType=order_type,
                 tif="DAY", account=account_code, orderRef=request.client_order_id, transmit=True)


# -- fills -------------------------------------------------------------------------------------------------
def fee(report: CommissionReport | None) -> Decimal:
    if report is None or not report.execId:
        return Decimal(0)
    return number(report.commission) or Decimal(0)


def fill(raw: IbFill, account: str, report: CommissionReport | None = None) -> Fill:
    ex = raw.execution
    return Fill(fill_id=ex.execId, account=account, symbol=raw.contract.symbol, side=SIDES[ex.side],
                quantity=quantity(ex.shares), price=quantity(ex.price), time=ex.time,
                fees=fee(report or raw.commissionReport), broker_order_id=str(ex.permId) if ex.permId else None,
                client_order_id=ex.orderRef or None)


def encode_cursor(time: datetime, exec_ids: Iterable[str]) -> str:
    """The latest execution time seen, with the executions seen at exactly that time (IB stamps seconds)."""
    return time.isoformat() + "|" + ",".join(sorted(exec_ids))


def decode_cursor(cursor: str) -> tuple[datetime, frozenset[str]]:
    stamp, _, ids = cursor.partition("|")
    try:
        time = datetime.fromisoformat(stamp)
    except ValueError:
        raise BrokerError(f"ibkr fills: bad cursor {cursor!r}") from None
    if time.tzinfo is None:
        raise BrokerError(f"ibkr fills: cursor {cursor!r} has no timezone")
    return time, frozenset(i for i in ids.split(",") if i)


def after(f: Fill, cursor: tuple[datetime, frozenset[str]] | None) -> bool:
    if cursor is None:
        return True
    time, seen = cursor
    return f.time > time or (f.time == time and bool(seen) and f.fill_id not in seen)


# -- orders ------------------------------------------------------------------------------------------------
def rejection(trade: Trade) -> str | None:
    """The error that killed the order (IB reports rejections as errors on the order id), if any."""
    for entry in reversed(trade.log):
        if entry.errorCode and entry.errorCode != CANCEL_CODE and entry.status in ("Cancelled", "Inactive"):
            text = entry.message.split(": ", 1)[-1].split(", contract: ")[0]
            return f"{entry.errorCode}: {text}"
    return None


def status(trade: Trade, filled: Decimal, known_rejection: str | None) -> tuple[OrderStatus, str | None]:
    ib_status = trade.orderStatus.status
    reason = rejection(trade) or known_rejection
    if ib_status == "Filled":
        return OrderStatus.FILLED, None
    if ib_status in ("Cancelled", "ApiCancelled"):
        if reason and not filled:
            return OrderStatus.REJECTED, reason
        return OrderStatus.CANCELED, None
    if ib_status == "Inactive":
        return OrderStatus.REJECTED, reason or "inactive at IB (rejected or not working)"
    if ib_status not in WORKING:
        raise BrokerError(f"ibkr: unknown order status {ib_status!r}")
    return (OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW), None


def order_state(trade: Trade, account: str, reports: dict[str, CommissionReport],
                known_rejection: str | None = None) -> OrderState:
    o = trade.order
    fills = tuple(fill(f, account, reports.get(f.execution.execId)) for f in trade.fills)
    from_fills = sum((f.quantity for f in fills), Decimal(0))
    filled = max(quantity(trade.orderStatus.filled), from_fills, quantity(o.filledQuantity))
    avg = price(trade.orderStatus.avgFillPrice)
    if avg is None and from_fills:
        avg = sum((f.quantity * f.price for f in fills), Decimal(0)) / from_fills
    st, reason = status(trade, filled, known_rejection)
    times = [e.time for e in trade.log]
    cid = o.orderRef or f"ibkr-perm-{o.permId}"  # an order placed outside the API has no orderRef
    return OrderState(client_order_id=cid, account=account, symbol=trade.contract.symbol,
                      side=OrderSide.BUY if o.action == "BUY" else OrderSide.SELL, status=st,
                      broker_order_id=str(o.permId) if o.permId else None, quantity=quantity(o.totalQuantity),
                      filled_quantity=filled, filled_avg_price=avg if filled else None,
                      submitted_at=times[0] if times else None, updated_at=times[-1] if times else None,
                      reason=reason, fills=fills)

