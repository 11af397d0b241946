"""Orders and fills through IbkrBroker, the real ib_async and a fake TWS: fills, rejects, cancels, lookups."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.ibkr import IbkrBroker
from brokers.protocol import BrokerError, DuplicateOrder, OrderRequest, OrderSide, OrderStatus, TimeInForce
from tests.brokers.ibkr.conftest import IRA, TAXABLE, make_broker, wait_disconnected
from tests.fakes.tws_server import FakeTws


def buy(cid: str, symbol: str = "VEA", qty: int = 10, account: str = "taxable", **kw: object) -> OrderRequest:
    return OrderRequest(cid, account, symbol, OrderSide.BUY, Decimal(qty), **kw)  # type: ignore[arg-type]


def sell(cid: str, symbol: str = "VTI", qty: int = 40, account: str = "taxable") -> OrderRequest:
    return OrderRequest(cid, account, symbol, OrderSide.SELL, Decimal(qty))


def test_market_buy_and_sell_fill_and_show_up_as_fills(tws: FakeTws, broker: IbkrBroker) -> None:
    bought = broker.submit(buy("h1-buy", qty=10))
    assert bought.status in (OrderStatus.NEW, OrderStatus.FILLED) and bought.client_order_id == "h1-buy"
    state = broker.order("taxable", "h1-buy")
    assert state is not None and state.status is OrderStatus.FILLED
    assert (state.filled_quantity, state.filled_avg_price, state.side) == (Decimal(10), Decimal("50.02"), OrderSide.BUY)
    assert state.broker_order_id == str(tws.order("h1-buy").perm_id)

    page = broker.fills("taxable")
    [fill] = page.fills
    assert (fill.symbol, fill.side, fill.quantity, fill.price) == ("VEA", OrderSide.BUY, Decimal(10), Decimal("50.02"))
    assert fill.fees == Decimal(1) and fill.client_order_id == "h1-buy" and fill.account == "taxable"
    assert fill.fill_id == tws.executions[0].exec_id and fill.time.tzinfo is not None
    assert state.fills == (fill,)

    sold = broker.submit(sell("h1-sell", qty=40))
    assert sold.side is OrderSide.SELL
    later = broker.fills("taxable", page.cursor)
    assert [(f.client_order_id, f.side, f.quantity, f.price) for f in later.fills] == [
        ("h1-sell", OrderSide.SELL, Decimal(40), Decimal("249.95"))
    ]
    assert broker.fills("taxable", later.cursor).fills == ()  # nothing newer
    assert broker.fills("taxable", later.cursor).cursor == later.cursor
    assert [f.client_order_id for f in broker.fills("taxable").fills] == ["h1-buy", "h1-sell"]
    assert broker.fills("ira").fills == ()  # the other account's executions stay out

    positions = {p.symbol: p.quantity for p in broker.positions("taxable")}
    assert positions == {"VEA": Decimal(60), "VTI": Decimal(60)}
    assert broker.account("taxable").cash == Decimal(100_000) - Decimal("500.2") - 1 + Decimal("9998") - 1
    assert [o.order_ref for o in tws.received] == ["h1-buy", "h1-sell"]  # each sent exactly once
    assert {(o.account, o.order_type, o.tif) for o in tws.received} == {(TAXABLE, "MKT", "DAY")}


def test_orders_go_to_the_named_account(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.submit(sell("ira-1", qty=10, account="ira"))
    assert tws.position(IRA, "VTI") == 0 and tws.position(TAXABLE, "VTI") == 100
    assert broker.positions("ira") == []
    assert broker.order("taxable", "ira-1") is None  # looked up in the wrong account


def test_market_on_close_and_unsupported_orders(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.submit(buy("moc-1", time_in_force=TimeInForce.CLOSE))
    assert tws.received[-1].order_type == "MOC"
    with pytest.raises(BrokerError, match="notional"):
        broker.submit(OrderRequest("n-1", "taxable", "VEA", OrderSide.BUY, notional=Decimal(500)))
    with pytest.raises(BrokerError, match="whole number"):
        broker.submit(OrderRequest("f-1", "taxable", "VEA", OrderSide.BUY, Decimal("1.5")))
    with pytest.raises(BrokerError, match="Tax Optimizer"):
        broker.submit(OrderRequest("l-1", "taxable", "VTI", OrderSide.SELL, Decimal(1), lot_ids=("lot-1",)))
    with pytest.raises(BrokerError, match="NOPE") as err:
        broker.submit(buy("u-1", symbol="NOPE"))
    assert not err.value.transient
    assert len(tws.received) == 1


def test_a_client_order_id_is_sent_once(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.submit(buy("dup-1"))
    with pytest.raises(DuplicateOrder):
        broker.submit(buy("dup-1"))
    broker.close()
    wait_disconnected(tws)
    again = make_broker(tws)  # a new session knows it too (completed orders)
    try:
        with pytest.raises(DuplicateOrder):
            again.submit(buy("dup-1"))
    finally:
        again.close()
    assert len(tws.received) == 1


def test_order_lookup_after_the_fact(tws: FakeTws, broker: IbkrBroker) -> None:
    broker.submit(buy("old-1", qty=3))
    broker.close()
    wait_disconnected(tws)
    later = make_broker(tws)
    try:
        state = later.order("taxable", "old-1")
        assert state is not None and state.status is OrderStatus.FILLED
        assert (state.filled_quantity, state.quantity, state.symbol) == (Decimal(3), Decimal(3), "VEA")
        assert [f.fees for f in state.fills] == [Decimal(1)]
        assert later.order("taxable", "never-sent") is None
    finally:
        later.close()


def test_rejected_order(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.fill_mode = "reject"
    state = broker.submit(buy("rej-1"))
    assert state.status is OrderStatus.REJECTED and state.reason is not None and "201" in state.reason
    tws.fill_mode = "immediate"
    broke = broker.submit(buy("rej-2", qty=10_000))  # $500k with $100k of cash
    assert broke.status is OrderStatus.REJECTED and "INSUFFICIENT CASH" in (broke.reason or "")
    looked_up = broker.order("taxable", "rej-2")
    assert looked_up is not None and looked_up.status is OrderStatus.REJECTED
    assert broker.open_orders("taxable") == [] and broker.fills("taxable").fills == ()
    broker.close()
    wait_disconnected(tws)
    later = make_broker(tws)  # a new session still reads it as rejected (IB reports it Inactive)
    try:
        again = later.order("taxable", "rej-1")
        assert again is not None and again.status is OrderStatus.REJECTED
    finally:
        later.close()


def test_cancel_a_working_order(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.fill_mode = "manual"
    state = broker.submit(buy("man-1", qty=10))
    assert state.status is OrderStatus.NEW and state.filled_quantity == 0
    assert [o.client_order_id for o in broker.open_orders("taxable")] == ["man-1"]
    assert broker.open_orders("ira") == []
    tws.fill("man-1", quantity=4)
    partial = broker.order("taxable", "man-1")
    assert partial is not None and partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.filled_quantity == Decimal(4)
    broker.cancel("taxable", "man-1")
    final = broker.order("taxable", "man-1")
    assert final is not None and final.status is OrderStatus.CANCELED and final.reason is None
    assert final.filled_quantity == Decimal(4) and tws.order("man-1").status == "Cancelled"
    broker.cancel("taxable", "man-1")  # canceling a finished order is a no-op
    assert broker.open_orders("taxable") == []
    with pytest.raises(BrokerError, match="no order"):
        broker.cancel("taxable", "nope")


def test_manual_fill_seen_later(tws: FakeTws, broker: IbkrBroker) -> None:
    tws.fill_mode = "manual"
    broker.submit(sell("man-2", qty=5))
    tws.fill("man-2")
    state = broker.order("taxable", "man-2")
    assert state is not None and state.status is OrderStatus.FILLED and state.filled_avg_price == Decimal("249.95")
    assert tws.position(TAXABLE, "VTI") == 95
