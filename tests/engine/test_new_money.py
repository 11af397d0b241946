"""New money in a book of ETFs with target weights: most underweight class first, never into a fund a
purchase would wash."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from daemon.engine import HarvestPlan, plan
from daemon.engine.types import Restriction, TargetsInput
from daemon.ledger import LedgerState, Side, Trade, WashMatch, apply
from tests.engine.helpers import (
    ACCOUNTS,
    AS_OF,
    IDENTICAL,
    D,
    account,
    harvest,
    ledger,
    make_input,
    plan_trades,
    quotes,
    t,
)

PRICES = quotes(VTI=100, ITOT=50, SCHB=25, IWV=200, VOO=400, VV=200, VEA=50, IEFA=70, SCHF=35)
TARGETS = (TargetsInput("tax", (("us_total_market", D("0.6")), ("intl_developed", D("0.4")))),)


def execute(state: LedgerState, p: HarvestPlan) -> list[WashMatch]:
    """Book the pairs and the purchases; the wash matches they created."""
    buys = [Trade(b.purchase_id, AS_OF, b.account, b.symbol, Side.BUY, b.quantity_estimate, b.price)
            for b in p.purchases]
    after = apply(state, [*plan_trades(p), *buys], ACCOUNTS, IDENTICAL)
    return list(after.matches[len(state.matches):])


def _plan(state, cash: object, prices=PRICES, targets=TARGETS, **kw):  # type: ignore[no-untyped-def]
    inp = make_input(state, prices, accounts=[account("tax", cash)], **kw)
    return plan(replace(inp, targets=targets))


def test_cash_goes_to_the_most_underweight_class_first() -> None:
    # $6,000 of VTI, nothing international: $4,000 brings intl_developed to its 40 % of $10,000.
    state = ledger(t(100, "tax", "buy", 60, "VTI", 100))
    p = _plan(state, 4000, config=harvest(cash_max_pct=0))
    (buy,) = p.purchases
    assert (buy.account, buy.symbol) == ("tax", "VEA")
    assert buy.notional == D("4000.00") and "intl_developed" in buy.detail
    assert p.pairs == ()
    assert not [a for a in p.alerts if a.kind == "cash_above_limit"]  # invested in this run
    # Without targets the same cash is idle, and said so.
    assert [a.kind for a in _plan(state, 4000, targets=()).alerts] == ["cash_above_limit"]


def test_cash_beyond_every_shortfall_is_spread_by_target_weight() -> None:
    state = ledger(t(100, "tax", "buy", 60, "VTI", 100), t(100, "tax", "buy", 40, "VEA", 50))
    # $6,000 VTI + $2,000 VEA + $2,000 cash: VEA is $2,000 short of 40 % of $10,000; VTI is on target.
    p = _plan(state, 2000, config=harvest(cash_max_pct=0))
    assert {b.symbol: b.notional for b in p.purchases} == {"VEA": D("2000.00")}
    # $12,000 of cash: shortfalls $6,000 (VEA) and $6,000 (VTI) of a $20,000 account.
    p = _plan(state, 12000, config=harvest(cash_max_pct=0))
    assert {b.symbol: b.notional for b in p.purchases} == {"VEA": D("6000.00"), "VTI": D("6000.00")}


def test_all_the_cash_is_invested_whatever_cash_max_pct() -> None:
    # Cash is not a target: a $100 contribution to a $6,100 account is invested although it is below
    # cash_max_pct (2 %: $122), or a large account would hold back months of contributions.
    state = ledger(t(100, "tax", "buy", 60, "VTI", 100))
    p = _plan(state, 4000, config=harvest(cash_max_pct=D("0.02")))
    assert sum((b.notional for b in p.purchases), Decimal(0)) == D("4000.00")
    (buy,) = _plan(state, 100, config=harvest(cash_max_pct=D("0.02"))).purchases
    assert (buy.symbol, buy.notional) == ("VEA", D("100.00"))
    assert _plan(state, "0.50").purchases == ()  # less than a dollar waits


def test_never_buys_a_fund_a_purchase_would_wash() -> None:
    # VEA was sold at a loss 10 days ago (pending, unwashed) and IEFA is under a restriction: SCHF is bought.
    state = ledger(t(100, "tax", "buy", 60, "VTI", 100), t(100, "tax", "buy", 10, "VEA", 60),
                   t(10, "tax", "sell", 10, "VEA", 50))
    until = AS_OF.replace(day=AS_OF.day + 5)
    r = Restriction("h", "IEFA", until, "p1: an earlier harvest")
    p = _plan(state, 4000, config=harvest(cash_max_pct=0), restrictions=[r])
    (buy,) = p.purchases
    assert buy.symbol == "SCHF"
    assert execute(state, p) == []  # no wash sale


def test_a_harvest_today_is_not_bought_back_by_new_money() -> None:
    # VTI is harvested today (into ITOT, with its proceeds only); the contribution's US part goes to ITOT,
    # never back to VTI.
    state = ledger(t(100, "tax", "buy", 60, "VTI", 120), t(100, "tax", "buy", 80, "VEA", 50))
    p = _plan(state, 3000, config=harvest(cash_max_pct=0))
    (pair,) = p.pairs
    assert (pair.sell_symbol, pair.buy_symbol) == ("VTI", "ITOT") and pair.buy_notional < 6000
    assert [b.symbol for b in p.purchases] == ["ITOT", "VEA"]
    assert execute(state, p) == []


def test_an_account_without_targets_gets_no_purchases() -> None:
    state = ledger(t(100, "tax", "buy", 60, "VTI", 100))
    assert _plan(state, 4000, targets=()).purchases == ()
