"""Account, positions, clock, quotes and closes: Alpaca JSON through alpaca-py into our types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from brokers.alpaca import AlpacaBroker
from brokers.protocol import (
    AccountSnapshot,
    Broker,
    BrokerError,
    Capabilities,
    MarketClock,
    OrderRequest,
    OrderSide,
    Position,
    Quote,
)
from tests.brokers.alpaca.conftest import JANE_KEY, JOHN_KEY, MakeBroker
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca

NY = ZoneInfo("America/New_York")


def test_is_a_broker(broker: AlpacaBroker) -> None:
    assert isinstance(broker, Broker)
    assert broker.name == "alpaca"
    assert broker.capabilities == Capabilities(fractional=True, notional=True, specific_lots=False,
                                               market_on_close=True)
    assert broker.paper is True
    assert broker.accounts == ("john", "jane")  # the paper-broker account is not Alpaca's


def test_paper_is_the_configured_setting(make_broker: MakeBroker) -> None:
    live = make_broker(paper=False)
    assert live.paper is False
    assert live.account("john").paper is False


def test_account_snapshot(broker: AlpacaBroker, fake: FakeAlpaca, john: FakeAccount) -> None:
    assert broker.account("john") == AccountSnapshot("john", cash=Decimal(100_000), equity=Decimal(102_500),
                                                     trading_blocked=False, paper=True)
    assert broker.account("jane") == AccountSnapshot("jane", Decimal(50_000), Decimal(50_000), False, True)
    john.account_blocked = True
    assert broker.account("john").trading_blocked is True
    john.account_blocked, john.trading_blocked = False, True
    assert broker.account("john").trading_blocked is True
    assert {r.key_id for r in fake.received("GET", "/v2/account")} == {JOHN_KEY, JANE_KEY}


def test_positions_are_per_account(broker: AlpacaBroker, jane: FakeAccount) -> None:
    assert broker.positions("john") == [Position("john", "VTI", Decimal(10))]
    assert broker.positions("jane") == []
    jane.positions["BND"], jane.cost["BND"] = Decimal("3.25"), Decimal("230")
    assert broker.positions("jane") == [Position("jane", "BND", Decimal("3.25"))]


def test_two_accounts_two_key_pairs_separate_state(broker: AlpacaBroker, fake: FakeAlpaca,
                                                   john: FakeAccount, jane: FakeAccount) -> None:
    broker.submit(OrderRequest("jane-1", "jane", "BND", OrderSide.BUY, quantity=Decimal(100)))
    assert broker.positions("jane") == [Position("jane", "BND", Decimal(100))]
    assert broker.positions("john") == [Position("john", "VTI", Decimal(10))]
    assert broker.account("john").cash == 100_000 and broker.account("jane").cash == 50_000 - 7_250
    assert broker.order("john", "jane-1") is None
    assert [f.account for f in broker.fills("jane").fills] == ["jane"] and broker.fills("john").fills == ()
    (post,) = fake.received("POST", "/v2/orders")
    assert post.key_id == JANE_KEY
    assert list(jane.orders) and not john.orders


def test_unknown_account(broker: AlpacaBroker) -> None:
    with pytest.raises(BrokerError, match="unknown account 'ira'"):
        broker.positions("ira")


def test_clock(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.now = datetime(2024, 1, 5, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
    clock = broker.clock()
    assert clock == MarketClock(now=fake.now, is_open=True, next_open=datetime(2024, 1, 8, 9, 30, tzinfo=NY),
                                next_close=datetime(2024, 1, 5, 16, 0, tzinfo=NY))
    assert clock.now.tzinfo is not None and clock.next_open.utcoffset() is not None
    fake.market_open = False
    assert broker.clock().is_open is False


def test_quotes(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.set_price("VTI", Decimal("250.13"), bid=Decimal("250.12"), ask=Decimal("250.15"),
                   at=datetime(2024, 1, 9, 1, 30, tzinfo=UTC))  # the evening of Jan 8 in New York
    quotes = broker.quotes(["VTI", "BND", "NOPE", "VTI"])
    assert quotes == {
        "VTI": Quote("VTI", last=Decimal("250.13"), bid=Decimal("250.12"), ask=Decimal("250.15"),
                     day=date(2024, 1, 8)),
        "BND": Quote("BND", last=Decimal("72.5"), bid=Decimal("72.5"), ask=Decimal("72.5"),
                     day=fake.time().astimezone(NY).date()),
    }
    (request,) = fake.received("GET", "/v2/stocks/quotes/latest")
    assert request.query["symbols"] == "VTI,BND,NOPE"
    assert broker.quotes([]) == {}


def test_closes(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.set_bars("VTI", [(date(2024, 1, d), Decimal(f"23{d}.17")) for d in (2, 3, 4, 5, 8)])
    closes = broker.closes(["VTI", "VXUS"], date(2024, 1, 3), date(2024, 1, 5))
    assert closes == {"VTI": [(date(2024, 1, 3), Decimal("233.17")), (date(2024, 1, 4), Decimal("234.17")),
                              (date(2024, 1, 5), Decimal("235.17"))],
                      "VXUS": []}
    (request,) = fake.received("GET", "/v2/stocks/bars")
    assert request.query["timeframe"] == "1Day" and request.query["adjustment"] == "all"
    assert broker.closes(["VTI"], date(2024, 1, 5), date(2024, 1, 4)) == {"VTI": []}


def _sdk_free(value: object) -> bool:
    """No alpaca-py (or pydantic) object anywhere in a result, timezones included."""
    if isinstance(value, dict):
        return all(_sdk_free(k) and _sdk_free(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_sdk_free(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return all(_sdk_free(getattr(value, name)) for name in value.__dataclass_fields__)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _sdk_free(value.tzinfo)
    return not type(value).__module__.startswith(("alpaca", "pydantic"))


def test_no_sdk_type_crosses_the_protocol(broker: AlpacaBroker, fake: FakeAlpaca) -> None:
    fake.fill_mode = "manual"
    fake.set_bars("VTI", [(date(2024, 1, 2), Decimal("230"))])
    broker.submit(OrderRequest("open-1", "john", "VTI", OrderSide.SELL, quantity=Decimal(1)))
    fake.fill("open-1", Decimal("0.5"))
    results: list[object] = [
        broker.account("john"), broker.positions("john"), broker.fills("john"), broker.quotes(["VTI"]),
        broker.closes(["VTI"], date(2024, 1, 1), date(2024, 1, 3)), broker.clock(),
        broker.order("john", "open-1"), broker.open_orders("john"),
        broker.submit(OrderRequest("tlh-2", "john", "BND", OrderSide.BUY, notional=Decimal(100))),
    ]
    assert all(_sdk_free(r) for r in results)
    assert isinstance(broker.clock().next_close.tzinfo, ZoneInfo)
