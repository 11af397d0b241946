"""brokers.ibkr.parsing: ib_async objects to ours, without a connection."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ib_async import CommissionReport, Execution, Order, OrderStatus, Stock, Trade, TradeLogEntry
from ib_async import Fill as IbFill
from ib_async.util import UNSET_DOUBLE

from brokers.ibkr import parsing
from brokers.protocol import BrokerError, OrderRequest, OrderSide, TimeInForce
from brokers.protocol import OrderStatus as Status

T0 = datetime(2024, 6, 4, 14, 0, 1, tzinfo=UTC)


def ib_fill(exec_id: str, time: datetime = T0, side: str = "BOT") -> IbFill:
    ex = Execution(execId=exec_id, time=time, acctNumber="DU1", side=side, shares=10.0, price=50.02, permId=7,
                   orderRef="cid-1")
    return IbFill(Stock("VEA", "SMART", "USD"), ex, CommissionReport(exec_id, 1.25, "USD"), time)


def trade(status: str, *log: tuple[str, int], filled: float = 0.0) -> Trade:
    order = Order(action="SELL", totalQuantity=10.0, orderType="MKT", orderRef="cid-9", account="DU1", permId=9)
    entries = [TradeLogEntry(T0, s, f"Error {code}, reqId 3: reason {code}" if code else "", code) for s, code in log]
    return Trade(Stock("VTI", "SMART", "USD"), order, OrderStatus(orderId=3, status=status, filled=filled), [], entries)


def test_numbers() -> None:
    assert parsing.quantity(100.0) == Decimal(100) and str(parsing.quantity(0.1)) == "0.1"
    assert parsing.price(UNSET_DOUBLE) is None and parsing.price(float("nan")) is None and parsing.price(-1.0) is None
    assert parsing.price(250.05) == Decimal("250.05")


def test_fill() -> None:
    f = parsing.fill(ib_fill("e1", side="SLD"), "taxable")
    assert (f.fill_id, f.side, f.quantity, f.price, f.fees) == ("e1", OrderSide.SELL, Decimal(10), Decimal("50.02"),
                                                              Decimal("1.25"))
    assert (f.client_order_id, f.broker_order_id, f.time) == ("cid-1", "7", T0)


def test_cursor_keeps_same_second_executions_apart() -> None:
    first, same_second, later = (parsing.fill(ib_fill(i, t), "a") for i, t in
                                 (("e1", T0), ("e2", T0), ("e3", T0.replace(second=2))))
    cursor = parsing.decode_cursor(parsing.encode_cursor(T0, ["e1"]))
    assert [parsing.after(f, cursor) for f in (first, same_second, later)] == [False, True, True]
    bare = parsing.decode_cursor(T0.isoformat())  # a bare time: strictly after it
    assert [parsing.after(f, bare) for f in (first, same_second, later)] == [False, False, True]
    with pytest.raises(BrokerError):
        parsing.decode_cursor("yesterday")


@pytest.mark.parametrize(("t", "expected", "reason"), [
    (trade("Submitted"), Status.NEW, None),
    (trade("PreSubmitted", filled=4.0), Status.PARTIALLY_FILLED, None),
    (trade("Filled", filled=10.0), Status.FILLED, None),
    (trade("Cancelled", ("Cancelled", 202)), Status.CANCELED, None),
    (trade("Cancelled", ("Cancelled", 201)), Status.REJECTED, "201: reason 201"),
    (trade("Cancelled", ("Cancelled", 201), filled=4.0), Status.CANCELED, None),
    (trade("Inactive"), Status.REJECTED, "inactive at IB (rejected or not working)"),
    (trade("ValidationError", ("ValidationError", 399)), Status.NEW, None),  # a warning: still working
])  # fmt: skip
def test_order_status(t: Trade, expected: Status, reason: str | None) -> None:
    state = parsing.order_state(t, "taxable", {})
    assert (state.status, state.reason) == (expected, reason)
    assert (state.client_order_id, state.broker_order_id, state.side) == ("cid-9", "9", OrderSide.SELL)


def test_requests_become_ib_orders() -> None:
    day = parsing.ib_order(OrderRequest("c1", "taxable", "VTI", OrderSide.SELL, Decimal(40)), "DU1")
    assert (day.action, day.totalQuantity, day.orderType, day.tif, day.account, day.orderRef) == (
        "SELL", 40.0, "MKT", "DAY", "DU1", "c1")
    moc = parsing.ib_order(OrderRequest("c2", "t", "VTI", OrderSide.BUY, Decimal(1), time_in_force=TimeInForce.CLOSE),
                           "DU1")
    assert (moc.orderType, moc.tif) == ("MOC", "DAY")
