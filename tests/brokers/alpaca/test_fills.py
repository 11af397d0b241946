"""Fills from the FILL account activities: paged by page_token, resumed by cursor, exact, never twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from brokers.alpaca import AlpacaBroker
from brokers.protocol import BrokerError, Fill, OrderRequest, OrderSide
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca


def seed(fake: FakeAlpaca, account: FakeAccount, n: int, symbol: str = "VTI") -> None:
    """`n` one-share buys, filled, straight into the fake's state (fast: no HTTP)."""
    with fake.lock:
        for i in range(n):
            body = {"symbol": symbol, "qty": "1", "side": "buy", "type": "market", "time_in_force": "day",
                    "client_order_id": f"seed-{len(account.orders)}-{i}"}
            order = account.new_order(body, fake.prices, fake.time())
            account.fill(order, None, fake.prices[symbol], fake.time())


def pages(fake: FakeAlpaca) -> list[dict[str, str]]:
    return [r.query for r in fake.received("GET", "/v2/account/activities")]


def test_paging_over_more_than_one_page(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    seed(fake, john, 250)
    page = broker.fills("john")
    ids = [a["id"] for a in john.activities]
    assert [f.fill_id for f in page.fills] == ids
    assert page.cursor == ids[-1]
    queries = pages(fake)
    assert [q.get("page_token") for q in queries] == [None, ids[99], ids[199]]
    assert all(q["activity_types"].split(",")[:9] == ["FILL", "SPLIT", "SSP", "SPIN", "SSO", "MA", "NC", "SC",
                                                     "REORG"] and q["direction"] == "asc" and q["page_size"] == "100"
               for q in queries)


def test_cursor_resumes_without_duplicates(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    seed(fake, john, 100)  # exactly one full page: the next (empty) one ends the loop
    first = broker.fills("john")
    assert len(first.fills) == 100 and len(pages(fake)) == 2
    nothing = broker.fills("john", first.cursor)
    assert nothing.fills == () and nothing.cursor == first.cursor

    seed(fake, john, 3, "BND")
    broker.submit(OrderRequest("tlh-1", "john", "VXUS", OrderSide.BUY, notional=Decimal("500")))
    more = broker.fills("john", first.cursor)
    assert [f.symbol for f in more.fills] == ["BND", "BND", "BND", "VXUS"]
    assert not {f.fill_id for f in more.fills} & {f.fill_id for f in first.fills}
    assert more.cursor == john.activities[-1]["id"]
    assert broker.fills("john").fills == first.fills + more.fills


def test_no_fills_yet(broker: AlpacaBroker) -> None:
    assert broker.fills("jane") == broker.fills("jane", None)
    assert broker.fills("jane").cursor is None


def test_fill_fields(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    fake.now = datetime(2024, 1, 10, 0, 40, 5, 123456, tzinfo=UTC)
    fake.set_price("VTI", Decimal("235.1"))
    state = broker.submit(OrderRequest("tlh-f", "john", "VTI", OrderSide.SELL, quantity=Decimal("0.5234")))
    (fill,) = broker.fills("john").fills
    assert fill == Fill(fill_id=john.activities[0]["id"], account="john", symbol="VTI", side=OrderSide.SELL,
                        quantity=Decimal("0.5234"), price=Decimal("235.1"), time=fake.now, fees=Decimal(0),
                        broker_order_id=state.broker_order_id, client_order_id=None)
    assert fill.time.tzinfo is not None


def test_sell_short_is_a_sell(broker: AlpacaBroker, john: FakeAccount) -> None:
    john.activities.append({"id": "20240102093000000::a", "activity_type": "FILL", "side": "sell_short",
                            "symbol": "vti", "qty": "2", "price": "240", "type": "fill",
                            "transaction_time": "2024-01-02T14:30:00.123456789Z", "order_id": "o-1"})
    (fill,) = broker.fills("john").fills
    assert (fill.side, fill.symbol, fill.time) == (OrderSide.SELL, "VTI",
                                                   datetime(2024, 1, 2, 14, 30, 0, 123456, tzinfo=UTC))


@pytest.mark.parametrize(("change", "message"), [
    ({"qty": "lots"}, "qty: not a number"),
    ({"qty": "0"}, "qty must be positive"),
    ({"price": None}, "price: missing"),
    ({"side": "borrow"}, "side 'borrow'"),
    ({"transaction_time": "2024-01-02T14:30:00"}, "no time zone"),
    ({"symbol": ""}, "symbol missing"),
])
def test_a_malformed_fill_is_put_aside_and_the_rest_read(broker: AlpacaBroker, fake: FakeAlpaca,
                                                          john: FakeAccount, change: dict[str, object],
                                                          message: str) -> None:
    seed(fake, john, 3)
    john.activities[1].update(change)
    page = broker.fills("john")
    assert [f.fill_id for f in page.fills] == [john.activities[0]["id"], john.activities[2]["id"]]
    (bad,) = page.activities
    assert bad.activity_id == john.activities[1]["id"] and bad.kind == "unmapped"
    assert message in (bad.problem or "") and bad.raw[0]["id"] == john.activities[1]["id"]
    assert page.cursor == john.activities[2]["id"]


def test_an_activity_without_an_id_stops_the_sync(broker: AlpacaBroker, john: FakeAccount) -> None:
    john.activities.append({"activity_type": "SPLIT", "date": "2024-06-10", "symbol": "VTI", "qty": "4"})
    with pytest.raises(BrokerError, match="id missing") as caught:
        broker.fills("john")
    assert caught.value.transient is False


def test_an_unknown_cursor_is_refused(broker: AlpacaBroker) -> None:
    with pytest.raises(BrokerError, match="invalid page_token") as caught:
        broker.fills("john", "20200101000000000::gone")
    assert (caught.value.status, caught.value.transient) == (422, False)
