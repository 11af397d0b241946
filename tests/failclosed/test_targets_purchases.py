"""A book of ETFs with `[accounts.targets]` through the real alpaca-py SDK against the fake Alpaca on
loopback: the engine's new money buys the underweight classes, each purchase once, as notional DAY buys named
by run and purchase. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from brokers.alpaca import AlpacaBroker
from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.market import book_from_brokers
from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca

HISTORY = (f"date,account,symbol,side,quantity,price,fees,lot_id\n"
           f"{hh.TODAY - timedelta(days=200)},tax,VTI,buy,10,200,,v1\n")
PRICES = {"VTI": "200", "ITOT": "100", "BND": "80", "AGG": "90"}


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    fake = FakeAlpaca().start()
    for symbol, price in PRICES.items():
        fake.set_price(symbol, Decimal(price))
    fake.add_account(hh.KEY, hh.SECRET, cash=Decimal(6000), positions={"VTI": Decimal(10)})
    try:
        yield fake
    finally:
        fake.stop()


def _settings(alpaca: FakeAlpaca, db_url: str) -> Settings:
    return Settings.model_validate({
        "database_url": db_url, "mode": "paper", "substitutes": "",
        "accounts": [{"id": "tax", "household": "h", "broker": "alpaca", "credentials": "TAX",
                      "lot_method": "specific", "targets": {"stocks": "0.5", "bonds": "0.5"}}],
        "asset_classes": [{"name": "stocks", "members": ["VTI", "ITOT"]},
                          {"name": "bonds", "members": ["BND", "AGG"]}],
        "harvest": {"circuit_breaker": False, "max_price_age_days": 10},
        "brokers": {"alpaca": {"base_url": alpaca.url, "data_url": alpaca.url, "fill_timeout_seconds": 1}},
    })


def _cycle(engine: Any, s: Settings) -> CycleResult:
    broker = AlpacaBroker(s.brokers.alpaca, s.accounts, hh.ENVIRON, options=hh.FAST)
    try:
        prices = book_from_brokers({"alpaca": broker}, set(PRICES), s, hh.TODAY)
        return run_cycle(engine, s, {"alpaca": broker}, prices, hh.TODAY, "paper", hh.policy())
    finally:
        broker.close()


def test_new_money_buys_the_underweight_classes_once(alpaca: FakeAlpaca, engine: Any, db_url: str) -> None:
    s = _settings(alpaca, db_url)
    bookkeeping.book(engine, s, parse(HISTORY, "history.csv", {"tax"}))
    first = _cycle(engine, s)
    run_id = first.plan.run_id
    # $8,000 in all: bonds are $4,000 short of half, stocks $2,000.
    planned = [(b.purchase_id, b.symbol, b.notional) for b in first.plan.purchases]
    assert [(symbol, notional) for _, symbol, notional in planned] == [("BND", Decimal("4000.00")),
                                                                       ("VTI", Decimal("2000.00"))]
    buys = [(q.body["symbol"], Decimal(str(q.body["notional"])), q.body["client_order_id"])
            for q in alpaca.received("POST", "/v2/orders") if q.body["side"] == "buy"]
    assert buys == [(symbol, notional, f"tlh-{run_id}-{pid}-buy") for pid, symbol, notional in planned]
    assert alpaca.accounts[hh.KEY].cash == 0
    assert hh.in_sync(engine)
    again = _cycle(engine, s)  # the same trading day: nothing bought twice
    assert again.plan.purchases == () and len(alpaca.received("POST", "/v2/orders")) == 2
