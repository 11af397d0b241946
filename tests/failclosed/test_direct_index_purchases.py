"""A direct index's new money through the real alpaca-py SDK against the fake Alpaca on loopback: the
engine's purchases reach the broker once each, as notional DAY buys named by run and purchase; an account
whose broker could not be read in this run buys nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
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

CONSTITUENTS = """symbol,weight,sector,sub_industry
AAA,,Information Technology,Semiconductors
BBB,,Information Technology,Semiconductors
CCC,,Information Technology,Semiconductors
DDD,,Financials,Diversified Banks
"""
HISTORY = (f"date,account,symbol,side,quantity,price,fees,lot_id\n"
           f"{hh.TODAY - timedelta(days=200)},tax,AAA,buy,10,100,,a1\n"
           f"{hh.TODAY - timedelta(days=200)},tax,BBB,buy,10,100,,b1\n")
PRICES = {"AAA": "100", "BBB": "100", "CCC": "50", "DDD": "40"}


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    fake = FakeAlpaca().start()
    for symbol, price in PRICES.items():
        fake.set_price(symbol, Decimal(price))
    fake.add_account(hh.KEY, hh.SECRET, cash=Decimal(6000), positions={"AAA": Decimal(10), "BBB": Decimal(10)})
    try:
        yield fake
    finally:
        fake.stop()


def _settings(alpaca: FakeAlpaca, db_url: str, tmp_path: Path) -> Settings:
    (tmp_path / "index.csv").write_text(CONSTITUENTS)
    return Settings.model_validate({
        "database_url": db_url, "mode": "paper", "substitutes": "",
        "accounts": [{"id": "tax", "household": "h", "broker": "alpaca", "credentials": "TAX",
                      "lot_method": "specific", "direct_index": {"constituents": str(tmp_path / "index.csv")}}],
        "harvest": {"circuit_breaker": False, "max_turnover_pct": 1, "max_price_age_days": 10},
        "brokers": {"alpaca": {"base_url": alpaca.url, "data_url": alpaca.url, "fill_timeout_seconds": 1}},
    })


def _cycle(engine: Any, s: Settings) -> CycleResult:
    broker = AlpacaBroker(s.brokers.alpaca, s.accounts, hh.ENVIRON, options=hh.FAST)
    try:
        prices = book_from_brokers({"alpaca": broker}, set(PRICES), s, hh.TODAY)
        return run_cycle(engine, s, {"alpaca": broker}, prices, hh.TODAY, "paper", hh.policy())
    finally:
        broker.close()


def _buys(alpaca: FakeAlpaca) -> list[tuple[str, Decimal, str, str]]:
    return [(q.body["symbol"], Decimal(str(q.body["notional"])), q.body["client_order_id"], q.body["time_in_force"])
            for q in alpaca.received("POST", "/v2/orders") if q.body["side"] == "buy"]


def test_purchases_reach_alpaca_once_each(alpaca: FakeAlpaca, engine: Any, db_url: str, tmp_path: Path) -> None:
    s = _settings(alpaca, db_url, tmp_path)
    bookkeeping.book(engine, s, parse(HISTORY, "history.csv", {"tax"}))
    first = _cycle(engine, s)
    run_id = first.plan.run_id
    planned = [(b.purchase_id, b.symbol, b.notional) for b in first.plan.purchases]
    assert [symbol for _, symbol, _ in planned] == ["CCC", "DDD", "AAA", "BBB"]
    assert _buys(alpaca) == [(symbol, notional, f"tlh-{run_id}-{pid}-buy", "day") for pid, symbol, notional in planned]
    account = alpaca.accounts[hh.KEY]
    assert account.positions["CCC"] == 40 and account.positions["DDD"] == 50
    assert account.cash == Decimal(6000) - sum(n for _, _, n in planned)
    assert hh.in_sync(engine)
    assert [o.buy is not None and o.buy.filled_quantity > 0 for o in first.outcomes] == [True] * 4

    again = _cycle(engine, s)  # the same trading day: already harvested, nothing bought twice
    assert again.plan.purchases == () and len(_buys(alpaca)) == 4


def test_an_account_whose_cash_cannot_be_read_buys_nothing(alpaca: FakeAlpaca, engine: Any, db_url: str,
                                                           tmp_path: Path) -> None:
    s = _settings(alpaca, db_url, tmp_path)
    bookkeeping.book(engine, s, parse(HISTORY, "history.csv", {"tax"}))
    alpaca.account_fault("truncated")
    result = _cycle(engine, s)
    assert result.plan.purchases == () and alpaca.received("POST", "/v2/orders") == []
    assert "tax" in result.unavailable and result.broker_outage() is not None
    assert any(x.reason.value == "broker_unavailable" for x in result.plan.skipped)
    (alert,) = hh.alerts(engine, "broker_unavailable")
    assert alert.severity == "error" and alert.account_id == "tax"
    # The next run, with the account readable again, buys the new money.
    alpaca.account_fault(None)
    later = _cycle(engine, s)
    assert [b.symbol for b in later.plan.purchases] == ["CCC", "DDD", "AAA", "BBB"]
    assert len(alpaca.received("POST", "/v2/orders")) == 4


def test_a_harvest_and_new_money_in_one_run(alpaca: FakeAlpaca, engine: Any, db_url: str, tmp_path: Path) -> None:
    """AAA is 20 % down: the pair (sell AAA, buy its stand-in with the proceeds) goes first, then the new
    money; Alpaca, which refuses a buy beyond the cash, fills every order."""
    alpaca.set_price("AAA", Decimal(80))
    s = _settings(alpaca, db_url, tmp_path)
    bookkeeping.book(engine, s, parse(HISTORY, "history.csv", {"tax"}))
    result = _cycle(engine, s)
    (pair,) = result.plan.pairs
    assert (pair.sell_symbol, pair.kind.value) == ("AAA", "harvest") and result.plan.purchases
    posted = [(q.body["side"], q.body["symbol"], q.body["client_order_id"])
              for q in alpaca.received("POST", "/v2/orders")]
    run_id = result.plan.run_id
    assert posted[:2] == [("sell", "AAA", f"tlh-{run_id}-p1-sell"), ("buy", pair.buy_symbol, f"tlh-{run_id}-p1-buy")]
    assert [cid for _, _, cid in posted[2:]] == [f"tlh-{run_id}-{b.purchase_id}-buy" for b in result.plan.purchases]
    assert all(o.buy is not None and o.buy.status.value == "filled" for o in result.outcomes)
    account = alpaca.accounts[hh.KEY]
    assert "AAA" not in account.positions and Decimal(0) <= account.cash < Decimal(6000)
    assert hh.in_sync(engine)
