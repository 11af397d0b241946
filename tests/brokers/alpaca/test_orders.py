"""Orders: notional buys and quantity sells, lookup by client order id, duplicates, partial fills, cancels."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from brokers.alpaca import AlpacaBroker, parsing
from brokers.protocol import BrokerError, DuplicateOrder, OrderRequest, OrderSide, OrderStatus, TimeInForce
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_buy_by_notional_and_sell_by_quantity(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    bought = broker.submit(OrderRequest("tlh-1", "john", "VXUS", BUY, notional=Decimal("1000")))
    shares = (Decimal(1000) / 60).quantize(Decimal("1e-9"), ROUND_DOWN)
    assert (bought.status, bought.filled_quantity, bought.filled_avg_price) == (OrderStatus.FILLED, shares, 60)
    assert (bought.client_order_id, bought.account, bought.symbol, bought.side) == ("tlh-1", "john", "VXUS", BUY)
    assert (bought.quantity, bought.notional) == (None, Decimal(1000))
    assert bought.broker_order_id in john.orders
    assert bought.submitted_at is not None and bought.submitted_at.tzinfo is not None

    sold = broker.submit(OrderRequest("tlh-2", "john", "VTI", SELL, quantity=Decimal(4)))
    assert (sold.status, sold.quantity, sold.notional, sold.filled_quantity) == (OrderStatus.FILLED, 4, None, 4)

    assert {p.symbol: p.quantity for p in broker.positions("john")} == {"VTI": 6, "VXUS": shares}
    assert broker.account("john").cash == Decimal(100_000) - shares * 60 + 4 * 250
    posted = [r.body for r in fake.received("POST", "/v2/orders")]
    assert posted[0] == {"symbol": "VXUS", "notional": 1000, "side": "buy", "type": "market",
                         "time_in_force": "day", "client_order_id": "tlh-1"}
    assert posted[1]["qty"] == 4 and "notional" not in posted[1]
    fills = broker.fills("john").fills
    assert [(f.symbol, f.side, f.quantity, f.price, f.broker_order_id) for f in fills] == [
        ("VXUS", BUY, shares, 60, bought.broker_order_id), ("VTI", SELL, 4, 250, sold.broker_order_id)]


def test_fractional_quantities_are_exact(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    state = broker.submit(OrderRequest("frac", "john", "VTI", SELL, quantity=Decimal("0.523400001")))
    assert state.quantity == Decimal("0.523400001") == state.filled_quantity
    assert fake.received("POST", "/v2/orders")[0].body["qty"] == Decimal("0.523400001")
    with pytest.raises(BrokerError, match="cannot be sent exactly") as caught:
        broker.submit(OrderRequest("big", "john", "VTI", SELL, quantity=Decimal("12345678.123456789")))
    assert caught.value.transient is False
    assert len(fake.received("POST", "/v2/orders")) == 1


def test_order_lookup_by_client_order_id(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    submitted = broker.submit(OrderRequest("tlh-9", "john", "BND", BUY, quantity=Decimal(10)))
    found = broker.order("john", "tlh-9")
    assert found is not None
    assert found == submitted
    assert broker.order("john", "no-such-order") is None
    assert broker.order("jane", "tlh-9") is None  # another key pair, another account
    assert fake.received("GET", "/v2/orders:by_client_order_id")[0].query == {"client_order_id": "tlh-9"}


def test_duplicate_client_order_id(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    first = OrderRequest("tlh-dup", "john", "VTI", SELL, quantity=Decimal(1))
    broker.submit(first)
    with pytest.raises(DuplicateOrder) as caught:
        broker.submit(first)
    assert caught.value.status == 422 and caught.value.transient is False
    assert "client_order_id must be unique" in str(caught.value)
    assert len(fake.received("POST", "/v2/orders")) == 2  # the second POST reached Alpaca...
    assert len(john.orders) == 1 and john.positions["VTI"] == 9  # ...which kept one order
    # The same client order id in another account is another order.
    broker.submit(OrderRequest("tlh-dup", "jane", "BND", BUY, quantity=Decimal(1)))


def test_partial_fills_and_open_orders(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fill_mode = "manual"
    state = broker.submit(OrderRequest("tlh-p", "john", "BND", BUY, quantity=Decimal(10)))
    assert (state.status, state.filled_quantity, state.filled_avg_price) == (OrderStatus.NEW, 0, None)
    assert [o.client_order_id for o in broker.open_orders("john")] == ["tlh-p"]
    assert broker.open_orders("jane") == []
    assert broker.fills("john").fills == ()

    fake.fill("tlh-p", Decimal(4), Decimal("72.40"))
    partial = broker.order("john", "tlh-p")
    assert partial is not None
    assert (partial.status, partial.filled_quantity, partial.filled_avg_price) == (
        OrderStatus.PARTIALLY_FILLED, 4, Decimal("72.4"))
    page = broker.fills("john")
    assert [(f.quantity, f.price) for f in page.fills] == [(4, Decimal("72.4"))]

    fake.fill("tlh-p", price=Decimal("72.60"))
    done = broker.order("john", "tlh-p")
    assert done is not None and done.status == OrderStatus.FILLED and done.filled_quantity == 10
    assert done.filled_avg_price == Decimal("72.52")
    assert broker.open_orders("john") == []
    later = broker.fills("john", page.cursor)
    assert [(f.quantity, f.price) for f in later.fills] == [(6, Decimal("72.6"))]


def test_cancel(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fill_mode = "manual"
    broker.submit(OrderRequest("tlh-c", "john", "VTI", SELL, quantity=Decimal(2)))
    broker.cancel("john", "tlh-c")
    state = broker.order("john", "tlh-c")
    assert state is not None and state.status == OrderStatus.CANCELED and state.status.final
    broker.cancel("john", "tlh-c")  # already over: nothing to do
    assert len(fake.received("DELETE", f"/v2/orders/{state.broker_order_id}")) == 1
    with pytest.raises(BrokerError, match="no order 'nope'") as caught:
        broker.cancel("john", "nope")
    assert caught.value.status == 404


def test_cancel_of_an_order_that_filled_meanwhile(broker: AlpacaBroker, fake: FakeAlpaca,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake.fill_mode = "manual"
    state = broker.submit(OrderRequest("tlh-r", "john", "VTI", SELL, quantity=Decimal(2)))
    serve = fake.handle

    def fill_first(method: str, path: str, *rest: Any) -> tuple[int, Any]:
        if method == "DELETE" and path.endswith(str(state.broker_order_id)):
            fake.fill("tlh-r")  # the order fills between our lookup and the DELETE
        return serve(method, path, *rest)

    monkeypatch.setattr(fake, "handle", fill_first)
    broker.cancel("john", "tlh-r")  # Alpaca says 422 "order is not cancelable"; the order is over: fine
    assert len(fake.received("DELETE", f"/v2/orders/{state.broker_order_id}")) == 1
    after = broker.order("john", "tlh-r")
    assert after is not None and after.status == OrderStatus.FILLED

    other = broker.submit(OrderRequest("tlh-s", "john", "VTI", SELL, quantity=Decimal(1)))
    fake.fail_next(f"/v2/orders/{other.broker_order_id}", 422, method="DELETE")
    with pytest.raises(BrokerError) as caught:  # refused, and still open: the caller must know
        broker.cancel("john", "tlh-s")
    assert caught.value.status == 422


def test_rejected(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fill_mode = "reject"
    state = broker.submit(OrderRequest("tlh-x", "john", "VTI", SELL, quantity=Decimal(1)))
    assert state.status == OrderStatus.REJECTED and state.status.final
    assert broker.positions("john")[0].quantity == 10


def test_market_on_close(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    state = broker.submit(OrderRequest("moc", "john", "VTI", SELL, quantity=Decimal(3),
                                       time_in_force=TimeInForce.CLOSE))
    assert state.status == OrderStatus.FILLED
    assert fake.received("POST", "/v2/orders")[0].body["time_in_force"] == "cls"
    # Alpaca takes fractional quantities (and notional amounts) on DAY orders only.
    with pytest.raises(BrokerError, match="fractional orders must be DAY orders") as caught:
        broker.submit(OrderRequest("moc-f", "john", "VTI", SELL, quantity=Decimal("1.5"),
                                   time_in_force=TimeInForce.CLOSE))
    assert caught.value.status == 422 and not caught.value.transient


def test_specific_lots_are_refused_before_sending(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    with pytest.raises(BrokerError, match="specific lots"):
        broker.submit(OrderRequest("lots", "john", "VTI", SELL, quantity=Decimal(1), lot_ids=("lot-1",)))
    assert fake.received("POST", "/v2/orders") == []


@pytest.mark.parametrize(("alpaca", "filled", "ours", "reason"), [
    ("new", 0, OrderStatus.NEW, None),
    ("accepted", 0, OrderStatus.NEW, None),
    ("pending_new", 0, OrderStatus.NEW, None),
    ("accepted_for_bidding", 0, OrderStatus.NEW, None),
    ("calculated", 0, OrderStatus.NEW, None),
    ("held", 0, OrderStatus.NEW, None),
    ("pending_review", 0, OrderStatus.NEW, None),
    ("stopped", 0, OrderStatus.NEW, None),
    ("suspended", 0, OrderStatus.NEW, None),
    ("pending_replace", 0, OrderStatus.NEW, None),
    ("pending_cancel", 0, OrderStatus.NEW, None),  # may still fill: not final
    ("pending_cancel", 3, OrderStatus.PARTIALLY_FILLED, None),
    ("partially_filled", 3, OrderStatus.PARTIALLY_FILLED, None),
    ("filled", 10, OrderStatus.FILLED, None),
    ("canceled", 0, OrderStatus.CANCELED, None),
    ("canceled", 3, OrderStatus.CANCELED, None),
    ("done_for_day", 3, OrderStatus.CANCELED, "done_for_day"),
    ("replaced", 0, OrderStatus.CANCELED, "replaced"),
    ("rejected", 0, OrderStatus.REJECTED, None),
    ("expired", 0, OrderStatus.EXPIRED, None),
])
def test_status_mapping(alpaca: str, filled: int, ours: OrderStatus, reason: str | None) -> None:
    assert parsing.order_status(alpaca, Decimal(filled)) == (ours, reason)
