"""IbkrBroker reads (accounts, positions, quotes, closes, clock) through the real ib_async and a fake TWS."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from ib_async import IB

from brokers.ibkr import IbkrBroker
from brokers.protocol import Broker, BrokerError, Position
from daemon.config.models import AccountConfig
from tests.brokers.ibkr.conftest import ACCOUNTS, IRA, make_broker
from tests.fakes.tws_server import FakeTws


def test_connects_lazily_with_the_configured_client_id(tws: FakeTws, broker: IbkrBroker) -> None:
    assert isinstance(broker, Broker)
    assert broker.capabilities.market_on_close and not broker.capabilities.fractional
    assert not broker.capabilities.notional and not broker.capabilities.specific_lots
    assert tws.client_ids() == []  # nothing until the first call
    broker.positions("taxable")
    assert tws.client_ids() == [17]
    assert broker.accounts == ("taxable", "ira")


def test_positions_per_account_code(broker: IbkrBroker) -> None:
    assert sorted(broker.positions("taxable"), key=lambda p: p.symbol) == [
        Position("taxable", "VEA", Decimal(50)),
        Position("taxable", "VTI", Decimal(100)),
    ]
    assert broker.positions("ira") == [Position("ira", "VTI", Decimal(10))]


def test_account_snapshot_from_account_values(tws: FakeTws, broker: IbkrBroker) -> None:
    taxable = broker.account("taxable")
    assert (taxable.cash, taxable.equity) == (Decimal(100_000), Decimal(100_000 + 100 * 250 + 50 * 50))
    assert taxable.paper and not taxable.trading_blocked  # a DU... code is an IB paper account
    ira = broker.account("ira")
    assert (ira.account, ira.cash, ira.equity) == ("ira", Decimal(20_000), Decimal(22_500))
    tws.book.accounts[IRA].cash = Decimal(19_000)  # a fresh read each time, not the value cached at connect
    assert broker.account("ira").cash == Decimal(19_000)


def test_unknown_account_and_unmanaged_code(tws: FakeTws, broker: IbkrBroker) -> None:
    with pytest.raises(BrokerError, match="unknown account"):
        broker.positions("nope")
    stranger = [*ACCOUNTS, AccountConfig(id="other", household="smith", broker="ibkr", broker_account="U9999999")]
    other = make_broker(tws, accounts=stranger)
    try:
        with pytest.raises(BrokerError, match="U9999999 are not managed") as err:
            other.positions("taxable")
        assert not err.value.transient
        with pytest.raises(BrokerError, match="not managed"):
            other.positions("taxable")  # still refused on the next call
    finally:
        other.close()
    with pytest.raises(BrokerError, match="broker_account"):
        IbkrBroker(make_broker(tws).config, [AccountConfig(id="x", household="h", broker="ibkr")])


def test_quotes_from_market_data_snapshots(broker: IbkrBroker) -> None:
    quotes = broker.quotes(["VTI", "SCHB", "NOPE"])
    assert set(quotes) == {"VTI", "SCHB"}  # IB has no NOPE: left out
    vti = quotes["VTI"]
    assert (vti.last, vti.bid, vti.ask) == (Decimal("250"), Decimal("249.95"), Decimal("250.05"))
    assert vti.day is not None and vti.day <= date.today()
    assert (quotes["SCHB"].last, quotes["SCHB"].bid) == (Decimal(60), None)
    assert broker.quotes([]) == {}


def test_closes_from_daily_bars(broker: IbkrBroker) -> None:
    closes = broker.closes(["VTI", "SCHB", "NOPE"], date(2024, 6, 4), date(2024, 6, 5))
    assert closes == {"VTI": [(date(2024, 6, 4), Decimal("251")), (date(2024, 6, 5), Decimal("249.5"))],
                      "SCHB": [], "NOPE": []}
    assert broker.closes(["VTI"], date(2020, 1, 1), date(2024, 6, 30))["VTI"][0] == (date(2024, 6, 3), Decimal("250.1"))


def test_clock_from_the_exchange_calendar(broker: IbkrBroker) -> None:
    clock = broker.clock()
    assert clock.now.tzinfo is not None and clock.next_open > clock.now and clock.next_close > clock.now
    assert clock.next_close - clock.now < timedelta(days=5)
    assert clock.is_open == (clock.next_close < clock.next_open)


def test_callable_from_any_thread(broker: IbkrBroker) -> None:
    results: list[object] = []

    def work() -> None:
        results.append(broker.positions("ira"))
        results.append(broker.account("taxable").cash)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results.count([Position("ira", "VTI", Decimal(10))]) == 4 and results.count(Decimal(100_000)) == 4
    assert broker.positions("taxable")  # and from the main thread afterwards

    async def inside_a_running_loop() -> list[Position]:
        return broker.positions("ira")

    assert asyncio.run(inside_a_running_loop()) == [Position("ira", "VTI", Decimal(10))]



def test_a_single_account_login_with_an_injected_ib() -> None:
    # with one managed account ib_async subscribes with reqAccountUpdates (message 6) at connect
    with FakeTws({"DU3333333": 5_000}) as fake:
        fake.set_price("VTI", 100)
        accounts = [AccountConfig(id="solo", household="h", broker="ibkr", broker_account="DU3333333")]
        broker = IbkrBroker(make_broker(fake).config, accounts, ib=IB())
        try:
            snapshot = broker.account("solo")
            assert (snapshot.cash, snapshot.equity) == (Decimal(5_000), Decimal(5_000))
            assert broker.positions("solo") == []
            assert ["6", "2", "1", "DU3333333"] in fake.requests
        finally:
            broker.close()
        assert fake.errors == []
