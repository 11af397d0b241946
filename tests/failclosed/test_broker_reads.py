"""Findings 1-3 of issue 12: an account is traded only when, in this run, its positions were read and
reconciled and its cash was read; a broker outage is an error alert (and a non-zero exit, see the CLI test).
Real alpaca-py against the fake Alpaca, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from brokers.protocol import OrderRequest, OrderState
from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca


def _skips(result: Any) -> dict[str, str]:
    return {s.account: s.reason.value for s in result.plan.skipped if s.symbol == "*"}


def test_positions_unreadable_is_not_traded_even_if_it_was_in_sync(alpaca: FakeAlpaca, engine: Any,
                                                                    db_url: str) -> None:
    # Finding 1: the broker holds 10 VTI, the ledger 40, and /v2/positions answers 500.
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    alpaca.accounts[hh.KEY].positions["VTI"] = Decimal(10)
    alpaca.positions_fault(500)
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    assert result.plan.pairs == () and result.outcomes == []
    assert alpaca.received("POST", "/v2/orders") == []
    assert _skips(result) == {"tax": "broker_unavailable"}
    assert "positions not read" in result.unavailable["tax"]
    assert not hh.in_sync(engine)
    (alert,) = hh.alerts(engine, "broker_unavailable")
    assert alert.severity == "error" and alert.account_id == "tax" and "500" in alert.message
    assert result.broker_outage() is not None


def test_account_unreadable_plans_nothing(alpaca: FakeAlpaca, engine: Any, db_url: str) -> None:
    # Finding 2: GET /v2/account answers truncated JSON; the pair was planned and the sell sent anyway.
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    alpaca.account_fault("truncated")
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    assert alpaca.received("POST", "/v2/orders") == []
    assert _skips(result) == {"tax": "broker_unavailable"}
    assert "cash not read" in result.unavailable["tax"]
    assert not hh.in_sync(engine)
    assert [a.severity for a in hh.alerts(engine, "broker_unavailable")] == ["error"]
    # Once the broker answers again, the next run reads, reconciles and trades.
    alpaca.account_fault(None)
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    assert [p.sell_symbol for p in result.plan.pairs] == ["VTI"] and hh.in_sync(engine)
    assert result.unavailable == {}


class _CashGoesAway:
    """The broker answers the account before planning, but not any more once the sell is sent."""

    def __init__(self, inner: Any, fake: FakeAlpaca):
        self.inner, self.fake = inner, fake

    def submit(self, order: OrderRequest) -> OrderState:
        state = self.inner.submit(order)
        self.fake.account_fault("truncated")
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_cash_unreadable_after_the_sell_still_buys_with_the_proceeds(alpaca: FakeAlpaca, engine: Any,
                                                                      db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": _CashGoesAway(broker, alpaca)})
    finally:
        broker.close()
    posted = [(r.body["symbol"], r.body["side"]) for r in alpaca.received("POST", "/v2/orders")]
    assert posted == [("VTI", "sell"), ("ITOT", "buy")]
    (outcome,) = result.outcomes
    assert outcome.buy is not None and outcome.buy.filled_quantity > 0
    buy = alpaca.received("POST", "/v2/orders")[1].body
    assert Decimal(str(buy["notional"])) <= 40 * 230  # at most what the sale raised


@pytest.mark.parametrize("fault", [500, 401, "refused"])
def test_outage_is_an_error_alert_for_every_account(alpaca: FakeAlpaca, engine: Any, db_url: str,
                                                    fault: Any) -> None:
    # Finding 3: connection refused, 401 or 500 on every call; the run said nothing but an indirect
    # circuit_breaker_unavailable.
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    alpaca.outage(fault)
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
        alpaca.outage(None)
    assert result.plan.pairs == ()
    assert _skips(result) == {"tax": "broker_unavailable"}
    (alert,) = hh.alerts(engine, "broker_unavailable")
    assert alert.severity == "error"
    assert "positions not read" in alert.message  # one alert per account and run, with what failed
    assert "cash not read" in result.unavailable["tax"]
    assert hh.KEY not in alert.message and hh.SECRET not in alert.message
    assert not hh.in_sync(engine)
