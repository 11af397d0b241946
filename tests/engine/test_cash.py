"""Sizing the buy: proceeds plus excess cash; cash after the pair within [0, cash_max_pct × value]."""

from __future__ import annotations

from decimal import Decimal

from daemon.engine import Severity
from daemon.engine.cash import size_buy
from daemon.engine.quotes import Price
from tests.engine.helpers import AS_OF, D, account, harvest, ledger, quotes, run, t

# 100 VTI at 270 = 27,000 of holdings; spread cost 2.5 bps per leg (no bid/ask).
STATE = ledger(t(200, "tax", "buy", 100, "VTI", 300))
PRICES = quotes(VTI=270, ITOT=100, SCHB=50)
SELL_SPREAD = D(27_000) * D("0.00025")


def test_the_buy_gets_the_proceeds_and_the_cash_above_the_limit() -> None:
    p = run(STATE, PRICES, accounts=[account("tax", 3000)])
    (pair,) = p.pairs
    limit = D("0.02") * 30_000  # 600
    assert pair.buy_notional == (D(27_000) - SELL_SPREAD + 3000 - limit).quantize(D("0.01"))
    (alert,) = p.alerts
    assert alert.kind == "cash_above_limit" and alert.severity is Severity.WARNING
    assert alert.data["account"] == "tax" and alert.data["limit"] == "600.00"
    assert "above cash_max_pct 2 %" in alert.message


def test_cash_within_the_limit_stays_and_the_proceeds_are_reinvested() -> None:
    p = run(STATE, PRICES, accounts=[account("tax", 100)])
    (pair,) = p.pairs
    assert pair.buy_notional == (D(27_000) - SELL_SPREAD).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert p.alerts == ()


def test_negative_cash_is_paid_back_first_and_never_left_below_zero() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 40))
    (pair,) = run(state, {**PRICES, **quotes(VEA=50)}, accounts=[account("tax", -500)]).pairs
    assert pair.buy_notional == (D(27_000) - SELL_SPREAD - 500).quantize(D("0.01"), rounding="ROUND_DOWN")


def test_the_excess_cash_is_used_once_per_account() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 60))
    p = run(state, quotes(VTI=270, ITOT=100, VEA=50, IEFA=70), accounts=[account("tax", 5000)])
    assert len(p.pairs) == 2
    value = 5000 + 27_000 + 5000
    spent = sum((x.buy_notional for x in p.pairs), Decimal(0))
    proceeds = sum((x.sell_quantity * x.sell_price for x in p.pairs), Decimal(0))
    spreads = proceeds * D("0.00025")
    cash_after = 5000 + proceeds - spreads - spent
    assert D("0.02") * value - D("0.02") <= cash_after <= D("0.02") * value


def test_commissions_are_paid_from_the_sale_not_from_thin_air() -> None:
    price = Price("ITOT", D(100), D("0.025"), AS_OF)
    buy = size_buy(D(0), D(1000), D("0.25"), D(0), price, harvest(commission_usd=D(5)), False)
    assert buy.notional == D("989.75") and buy.cash_after == 0


def test_a_whole_share_buy_rounds_down_and_leaves_less_than_one_share() -> None:
    price = Price("ITOT", D(100), D("0.025"), AS_OF)
    buy = size_buy(D(0), D(1000), D("0.25"), D(10), price, harvest(), True)
    assert buy.quantity == 9 and buy.notional == D("900.225")
    assert 0 <= buy.cash_after < 100 + 10


def test_no_alert_for_accounts_the_engine_does_not_trade() -> None:
    state = ledger(t(200, "ira", "buy", 10, "VTI", 300))
    p = run(state, PRICES, accounts=[account("ira", 9000), account("tax", 0)])
    assert p.alerts == ()
