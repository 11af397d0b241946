"""Connection faults: a dropped socket, a TWS that does not answer, a drop while an order is in flight."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.ibkr import IbkrBroker
from brokers.protocol import BrokerError, OrderRequest, OrderSide, OrderStatus
from tests.brokers.ibkr.conftest import make_broker
from tests.fakes.tws_server import FakeTws

PLACE_ORDER = 3
REQ_POSITIONS = 61


def test_dropped_connection_is_transient_and_the_next_call_reconnects(tws: FakeTws, broker: IbkrBroker) -> None:
    assert broker.positions("ira")
    tws.drop_connections()
    with pytest.raises(BrokerError) as err:
        broker.positions("ira")
    assert err.value.transient
    assert broker.positions("ira")  # reconnected
    assert tws.client_ids() == [17]


def test_nothing_listening_is_transient() -> None:
    with FakeTws() as fake:
        fake.add_account("DU1111111")
        broker = make_broker(fake, timeout=1)
    try:
        with pytest.raises(BrokerError, match="failed") as err:
            broker.account("taxable")
        assert err.value.transient
    finally:
        broker.close()


def test_a_slow_tws_times_out_as_transient(tws: FakeTws) -> None:
    broker = make_broker(tws, timeout=1)
    try:
        assert broker.positions("ira")
        tws.delay, tws.delay_msg_ids = 1.5, {REQ_POSITIONS}
        with pytest.raises(BrokerError, match="within 1 s") as err:
            broker.positions("ira")
        assert err.value.transient
        tws.delay = 0
        assert broker.account("ira").cash == Decimal(20_000)  # the connection survives a timeout
    finally:
        broker.close()


def test_drop_while_an_order_is_in_flight(tws: FakeTws, broker: IbkrBroker) -> None:
    order = OrderRequest("drop-1", "taxable", "VEA", OrderSide.BUY, Decimal(5))
    tws.drop_on(PLACE_ORDER)
    with pytest.raises(BrokerError, match="look it up") as err:
        broker.submit(order)
    assert err.value.transient
    assert broker.order("taxable", "drop-1") is None  # it never reached IB: safe to send again
    assert broker.submit(order).client_order_id == "drop-1"
    state = broker.order("taxable", "drop-1")
    assert state is not None and state.status is OrderStatus.FILLED
    assert len(tws.received) == 1 and tws.position("DU1111111", "VEA") == 55


def test_closed_broker_refuses_calls(broker: IbkrBroker) -> None:
    broker.positions("ira")
    broker.close()
    broker.close()  # idempotent
    with pytest.raises(BrokerError, match="closed"):
        broker.positions("ira")
