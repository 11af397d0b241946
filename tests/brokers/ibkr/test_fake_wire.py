"""The fake TWS's wire format checked against ib_async 2.1.0 itself: its Client encodes what the fake parses,
its Decoder parses what the fake sends (ib_async logs decode errors instead of raising, so check here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from ib_async import IB, Client, LimitOrder, MarketOrder, Order, Stock
from ib_async.decoder import Decoder

from tests.fakes.tws import wire
from tests.fakes.tws.state import FakeExecution, FakeOrder, Instrument


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = UTC

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: self.calls.append((name, args))


def decode(frame: bytes) -> tuple[str, tuple[Any, ...]]:
    recorder = Recorder()
    decoder = Decoder(recorder, wire.SERVER_VERSION)  # type: ignore[arg-type]
    fields = frame[4:].decode().split("\0")[:-1]
    decoder.handlers[int(fields[0])](fields)  # the handler itself: decode errors raise here
    [call] = recorder.calls
    return call


def encoded_place_order(order: Order, contract: Stock) -> list[str]:
    client = IB().client
    client._serverVersion = wire.SERVER_VERSION
    client.connState = Client.CONNECTED
    sent: list[str] = []
    client.sendMsg = sent.append  # type: ignore[method-assign,assignment]
    client.placeOrder(42, contract, order)  # type: ignore[no-untyped-call]
    client.connState = Client.DISCONNECTED
    return sent[0].split("\0")[:-1]


@pytest.mark.parametrize("order", [
    MarketOrder("BUY", 10, account="DU1", orderRef="cid-1", tif="DAY"),
    Order(action="SELL", totalQuantity=3, orderType="MOC", account="DU2", orderRef="cid-2", tif="DAY", whatIf=True),
    LimitOrder("BUY", 7, 12.5, account="DU3", orderRef="cid-3"),
])  # fmt: skip
def test_place_order_positions_match_ib_async_encoding(order: Order) -> None:
    contract = Stock("VTI", "SMART", "USD", conId=756000, primaryExchange="ARCA")
    f = encoded_place_order(order, contract)
    got = {name: f[i] for name, i in wire.PLACE.items()}
    assert got["order_id"] == "42" and got["con_id"] == "756000" and got["symbol"] == "VTI"
    assert [got[k] for k in ("sec_type", "exchange", "primary_exchange", "currency")] == ["STK", "SMART", "ARCA", "USD"]
    assert (got["action"], float(got["quantity"])) == (order.action, order.totalQuantity)
    assert got["order_type"] == order.orderType
    assert (got["tif"], got["account"], got["order_ref"]) == (order.tif, order.account, order.orderRef)
    assert got["transmit"] == "1" and got["what_if"] == ("1" if order.whatIf else "0")
    if order.orderType == "LMT":
        assert float(got["lmt_price"]) == 12.5


VTI = Instrument("VTI", 756000, "ARCA", Decimal(250))
ORDER = FakeOrder(7, 17, 900000002, "DU1", "VTI", "BUY", Decimal(10), "MKT", "DAY", "cid-1",
                  status="Filled", filled=Decimal(10), avg_price=Decimal("250.05"))
EXEC = FakeExecution("0000e0d5.01", ORDER, datetime(2024, 6, 4, 14, 0, 1, tzinfo=UTC), Decimal(10),
                     Decimal("250.05"), Decimal(1), Decimal(10), Decimal("250.05"))


def test_orders_decode() -> None:
    name, (order_id, contract, order, state) = decode(wire.open_order(ORDER, VTI))
    assert (name, order_id, contract.conId, contract.symbol, state.status) == ("openOrder", 7, 756000, "VTI", "Filled")
    assert (order.clientId, order.permId, order.orderRef, order.account) == (17, 900000002, "cid-1", "DU1")
    assert (order.action, order.totalQuantity, order.orderType, order.whatIf) == ("BUY", 10.0, "MKT", False)
    name, (contract, order, state) = decode(wire.completed_order(ORDER, VTI))
    assert (name, contract.symbol, order.permId, order.orderRef, state.status) == (
        "completedOrder", "VTI", 900000002, "cid-1", "Filled")
    assert order.filledQuantity == 10.0
    name, args = decode(wire.order_status(ORDER))
    assert (name, args[:5], args[8]) == ("orderStatus", (7, "Filled", 10.0, 0.0, 250.05), 17)


def test_executions_and_commissions_decode() -> None:
    name, (req_id, contract, ex) = decode(wire.exec_details(-1, EXEC, VTI))
    assert (name, req_id, contract.symbol, ex.execId, ex.acctNumber, ex.side) == (
        "execDetails", -1, "VTI", "0000e0d5.01", "DU1", "BOT")
    assert (ex.shares, ex.price, ex.permId, ex.clientId, ex.orderRef) == (10.0, 250.05, 900000002, 17, "cid-1")
    assert ex.time == datetime(2024, 6, 4, 14, 0, 1, tzinfo=UTC)
    name, (report,) = decode(wire.commission_report(EXEC))
    assert (name, report.execId, report.commission, report.currency) == ("commissionReport", "0000e0d5.01", 1.0, "USD")


def test_positions_accounts_and_market_data_decode() -> None:
    name, (account, contract, qty, cost) = decode(wire.position("DU1", VTI, Decimal(100), Decimal(200)))
    assert (name, account, contract.conId, contract.symbol) == ("position", "DU1", 756000, "VTI")
    assert (qty, cost) == (100.0, 200.0)
    name, args = decode(wire.portfolio("DU1", VTI, Decimal(100), Decimal(250), Decimal(200)))
    assert (name, args[1:5], args[7]) == ("updatePortfolio", (100.0, 250.0, 25000.0, 200.0), "DU1")
    assert decode(wire.account_update_multi(3, "DU1", "NetLiquidation", Decimal(5), "USD")) == (
        "accountUpdateMulti", (3, "DU1", "", "NetLiquidation", "5", "USD"))
    name, (req_id, details) = decode(wire.contract_details(5, VTI))
    assert (name, req_id, details.contract.conId, details.contract.primaryExchange) == (
        "contractDetails", 5, 756000, "ARCA")
    assert decode(wire.tick_price(6, 4, Decimal("250.5"), 100)) == ("priceSizeTick", (6, 4, 250.5, 100.0))
    assert decode(wire.error(7, 201, "Order rejected")) == ("error", (7, 201, "Order rejected", ""))
