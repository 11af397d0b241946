"""Direct indexing in the engine: replacements ranked by correlation within sub-industry then sector, per-lot
swap backs within the year's gain budget, new money to underweights. Ledger states from the real ledger."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from daemon.config.constituents import Constituent
from daemon.engine import HarvestPlan, PairKind, SkipReason, plan
from daemon.engine.tracking import tracking_error, trailing_returns
from daemon.engine.types import DirectIndexInput, TrailingReturns
from daemon.ledger import LedgerState
from tests.engine.helpers import AS_OF, D, account, ago, ledger, make_input, quotes, skip_of, t

SEMIS, SOFTWARE, BANKS = "Semiconductors", "Application Software", "Diversified Banks"
STOCKS = [("AAA", "Information Technology", SEMIS), ("BBB", "Information Technology", SEMIS),
          ("CCC", "Information Technology", SEMIS), ("DDD", "Information Technology", SOFTWARE),
          ("EEE", "Financials", BANKS)]
CONSTITUENTS = tuple(Constituent(s, Decimal(1) / len(STOCKS), sector, sub) for s, sector, sub in STOCKS)


def returns(days: int = 120, seed: int = 7) -> TrailingReturns:
    """AAA moves with CCC closely, with BBB loosely; DDD and EEE on their own. Quiet markets (daily moves
    of 0.1 %): the tracking error of these small books stays under 1 % unless a test says otherwise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.001, days)
    cols = {"AAA": base + rng.normal(0, 0.0001, days), "BBB": base + rng.normal(0, 0.001, days),
            "CCC": base + rng.normal(0, 0.0002, days), "DDD": rng.normal(0, 0.001, days),
            "EEE": rng.normal(0, 0.001, days)}
    return TrailingReturns(list(cols), np.column_stack(list(cols.values())))


def spec(**kw: Any) -> DirectIndexInput:
    return DirectIndexInput("tax", CONSTITUENTS, **kw)


def run(state: LedgerState, prices: dict[str, Any], *, cash: object = 0, di: DirectIndexInput | None = None,
        rets: TrailingReturns | None = None, **kw: Any) -> HarvestPlan:
    inp = make_input(state, prices, accounts=[account("tax", cash), account("spouse")], **kw)
    market = replace(inp.market, returns=rets if rets is not None else returns())
    return plan(replace(inp, market=market, direct_indexes=(di or spec(),)))


def held(*symbols: str, qty: int = 10, price: int = 100, days: int = 400) -> list[Any]:
    return [t(days, "tax", "buy", qty, s, price) for s in symbols]


def test_replacement_is_the_most_correlated_stock_of_the_sub_industry() -> None:
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"))
    p = run(state, quotes(AAA=80, BBB=100, CCC=100, DDD=100, EEE=100))
    [pair] = p.pairs
    assert (pair.kind, pair.sell_symbol, pair.buy_symbol) == (PairKind.HARVEST, "AAA", "CCC")
    # Excluded: the next of the sub-industry; excluded with its sector: nothing.
    assert run(state, quotes(AAA=80, BBB=100, CCC=100, DDD=100, EEE=100),
               di=spec(exclude=("CCC",))).pairs[0].buy_symbol == "BBB"
    # An excluded stock held goes to what the index lacks most, outside its sector if need be.
    p = run(state, quotes(AAA=80, BBB=100, CCC=100, DDD=100, EEE=100),
            di=spec(exclude=("sector:Information Technology",)))
    assert p.pairs[0].buy_symbol == "EEE"
    # A stock of the index is replaced within its sector only.
    p = run(state, quotes(AAA=80, BBB=100, CCC=100, DDD=100, EEE=100), di=spec(exclude=("BBB", "CCC", "DDD")))
    assert not [x for x in p.pairs if x.kind is PairKind.HARVEST]
    skip = skip_of(p, "tax", "AAA")
    assert skip.reason is SkipReason.NO_ELIGIBLE_REPLACEMENT and "sub-industry (Semiconductors)" in skip.detail


def test_never_a_stock_itself_at_a_harvestable_loss_then_the_sector() -> None:
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"))
    # CCC and BBB are themselves at harvestable losses: AAA's replacement comes from its sector (DDD), and no
    # pair buys a stock another pair sells.
    p = run(state, quotes(AAA=80, BBB=75, CCC=70, DDD=100, EEE=100))
    bought = {x.sell_symbol: x.buy_symbol for x in p.pairs}
    assert bought["AAA"] == "DDD"
    assert set(bought) == {"AAA", "BBB", "CCC"}
    assert not set(bought.values()) & {"AAA", "BBB", "CCC"}


def test_never_identical_to_a_loss_sold_in_the_household_window() -> None:
    # The spouse sold CCC at a loss 10 days ago: buying CCC would wash it; BBB is next.
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"), t(60, "spouse", "buy", 5, "CCC", 120),
                   t(10, "spouse", "sell", 5, "CCC", 100))
    p = run(state, quotes(AAA=80, BBB=100, CCC=100, DDD=100, EEE=100))
    assert p.pairs[0].buy_symbol == "BBB"
    assert any(r.symbol == "AAA" for r in p.restrictions)


def stand_in(price_now: object, *extra: Any) -> tuple[LedgerState, dict[str, Any]]:
    """AAA harvested 40 days ago; BBB bought with the proceeds stands in for it."""
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"), t(40, "tax", "sell", 10, "AAA", 90),
                   t(40, "tax", "buy", 10, "BBB", 90, lot="standin"), *extra)
    return state, quotes(AAA=95, BBB=price_now, CCC=100, DDD=100, EEE=100)


def test_swap_back_after_31_days_when_it_realizes_a_loss() -> None:
    state, prices = stand_in(88)
    p = run(state, prices)
    [pair] = p.pairs
    assert (pair.kind, pair.sell_symbol, pair.buy_symbol) == (PairKind.SWAP_BACK, "BBB", "AAA")
    assert pair.estimated_loss > 0 and all(s.gain <= 0 for s in pair.lots)
    # Sized to the excess over BBB's target (never more than BBB's excess or AAA's shortfall).
    value = 20 * 88 + 3 * 1000  # BBB, and CCC, DDD, EEE at 100; AAA not held; no cash
    assert float(pair.sell_quantity * pair.sell_price) == pytest.approx(20 * 88 - value / 5, abs=1)
    # Not yet 31 days: nothing to swap back.
    state, prices = stand_in(88)
    early = make_input(state, prices, accounts=[account("tax")])
    early = replace(early, as_of=ago(15), market=replace(early.market, returns=returns()),
                    direct_indexes=(spec(),))
    assert not [x for x in plan(early).pairs if x.kind is PairKind.SWAP_BACK]


def test_a_gain_waits_for_the_budget_long_term_first() -> None:
    state, prices = stand_in(110)
    p = run(state, prices)
    assert not p.pairs
    skip = skip_of(p, "tax", "BBB")
    assert skip.reason is SkipReason.GAIN_BUDGET and "realized_gain_budget_usd" in skip.detail
    # With a budget: the long-term lot (bought 400 days ago) goes, the short-term stand-in lot stays.
    p = run(state, prices, di=spec(realized_gain_budget_usd=D(1000)))
    [pair] = p.pairs
    assert pair.kind is PairKind.SWAP_BACK and pair.buy_symbol == "AAA"
    assert all(s.term.value == "long" for s in pair.lots) and pair.estimated_long_loss < 0
    # Gains already realized this year use the budget up.
    spent = run(state, prices, di=spec(realized_gain_budget_usd=D(1000), gains_realized=D(995)))
    assert not spent.pairs and skip_of(spent, "tax", "BBB").reason is SkipReason.GAIN_BUDGET


def test_gains_already_realized_come_from_the_ledger() -> None:
    state, prices = stand_in(110, t(100, "tax", "buy", 10, "EEE", 50, lot="e2"),
                             t(20, "tax", "sell", 10, "EEE", "149.9", lot="e2"))
    assert AS_OF.year == ago(20).year
    p = run(state, prices, di=spec(realized_gain_budget_usd=D(1000)))
    assert not [x for x in p.pairs if x.kind is PairKind.SWAP_BACK]
    assert skip_of(p, "tax", "BBB").reason is SkipReason.GAIN_BUDGET


def test_short_term_gains_only_over_the_tracking_error_limit() -> None:
    state = ledger(*held("AAA", "CCC", "DDD", "EEE"), t(40, "tax", "sell", 10, "AAA", 90),
                   t(40, "tax", "buy", 20, "BBB", 90, lot="standin"))
    prices = quotes(AAA=95, BBB=110, CCC=100, DDD=100, EEE=100)
    budget = D(10_000)
    p = run(state, prices, di=spec(realized_gain_budget_usd=budget))
    assert skip_of(p, "tax", "BBB").reason is SkipReason.GAIN_BUDGET
    assert "short-term" in skip_of(p, "tax", "BBB").detail
    over = run(state, prices, di=spec(realized_gain_budget_usd=budget, tracking_error_budget=D("0.001")))
    [pair] = over.pairs
    assert pair.kind is PairKind.SWAP_BACK and pair.estimated_short_loss < 0
    assert any(a.kind == "tracking_error_over_budget" for a in over.alerts)


def test_new_money_to_underweights_never_restricted_or_excluded() -> None:
    state = ledger(*held("AAA", "BBB", "CCC"), t(5, "spouse", "buy", 1, "EEE", 100),
                   t(3, "spouse", "sell", 1, "EEE", 90))
    p = run(state, quotes(AAA=100, BBB=100, CCC=100, DDD=100, EEE=100), cash=5000,
            di=spec(exclude=("CCC",)))
    bought = {b.symbol: b.notional for b in p.purchases}
    # Value 8000, four stocks at 2000 (CCC is excluded): DDD first, then AAA and BBB; EEE has a pending loss
    # in the household. The excluded CCC (sold at no gain) went to DDD too.
    assert list(bought) == ["DDD", "AAA", "BBB"]
    assert [(x.sell_symbol, x.buy_symbol) for x in p.pairs] == [("CCC", "DDD")]
    assert bought["DDD"] + p.pairs[0].buy_notional == D(2000)
    assert bought["AAA"] == bought["BBB"] == D(1000)
    assert p.to_dict()["purchases"][0]["symbol"] == "DDD"
    # Cash up to cash_max_pct stays.
    assert not run(state, quotes(AAA=100, BBB=100, CCC=100, DDD=100, EEE=100), cash=50).purchases


def test_transition_sells_a_fund_at_a_loss_into_underweight_stocks() -> None:
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"), t(400, "tax", "buy", 20, "VTI", 100))
    prices = quotes(AAA=100, BBB=100, CCC=100, DDD=100, EEE=100, VTI=97)
    [pair] = run(state, prices).pairs
    assert pair.kind is PairKind.SWAP_BACK and pair.sell_symbol == "VTI" and pair.buy_symbol in {
        "AAA", "BBB", "CCC", "DDD", "EEE"}
    assert pair.estimated_loss > 0
    # At a gain, with no budget: it stays, and the plan says why.
    p = run(state, quotes(AAA=100, BBB=100, CCC=100, DDD=100, EEE=100, VTI=130))
    assert skip_of(p, "tax", "VTI").reason is SkipReason.GAIN_BUDGET


def test_trailing_returns_and_tracking_error() -> None:
    closes = {"A": [(ago(3), D(100)), (ago(2), D(110)), (ago(1), D(99))],
              "B": [(ago(2), D(50)), (ago(1), D(50))]}
    r = trailing_returns(closes, 5)
    assert r.symbols == ("A", "B")
    assert r.matrix[:, 0] == pytest.approx([0.1, -0.1])
    assert r.matrix[:, 1] == pytest.approx([0.0, 0.0])  # not listed, then flat
    rets = returns(days=250)
    assert tracking_error({}, rets) == 0.0
    te = tracking_error({"AAA": 0.1, "CCC": -0.1}, rets)
    far = tracking_error({"AAA": 0.1, "DDD": -0.1}, rets)
    assert te is not None and far is not None and 0 < te < far


def test_over_the_limit_beyond_the_budget_only_small_gains() -> None:
    state = ledger(*held("AAA", "CCC", "DDD", "EEE"), t(40, "tax", "sell", 10, "AAA", 90),
                   t(40, "tax", "buy", 20, "BBB", 100, lot="standin"))
    over = spec(tracking_error_budget=D("0.001"))
    # BBB up 0.5 %: a short-term gain of 0.5 % of the value sold goes back over the limit without a budget.
    [pair] = run(state, quotes(AAA=95, BBB="100.5", CCC=100, DDD=100, EEE=100), di=over).pairs
    assert pair.kind is PairKind.SWAP_BACK and 0 < -pair.estimated_short_loss <= D("0.01") * pair.sell_quantity * D(
        "100.5")
    # Up 5 %: it waits, and says why.
    p = run(state, quotes(AAA=95, BBB=105, CCC=100, DDD=100, EEE=100), di=over)
    assert not p.pairs and "at most 1 % of their value" in skip_of(p, "tax", "BBB").detail


def test_not_a_stock_at_a_harvestable_loss_elsewhere_in_the_household() -> None:
    # The spouse's taxable CCC is 15 % down (too small to harvest today, but harvestable once it grows):
    # buying CCC here would wash it, so AAA goes to BBB. The same lot in an IRA would not matter.
    prices = quotes(AAA=80, BBB=100, CCC=85, DDD=100, EEE=100)
    spouse = ledger(*held("AAA", "BBB", "DDD", "EEE"), t(400, "spouse", "buy", 1, "CCC", 100))
    assert run(spouse, prices).pairs[0].buy_symbol == "BBB"
    ira = ledger(*held("AAA", "BBB", "DDD", "EEE"), t(400, "ira", "buy", 1, "CCC", 100))
    assert run(ira, prices).pairs[0].buy_symbol == "CCC"


def test_the_plan_says_what_the_transition_would_cost() -> None:
    # A fund outside the index: 20 VTI bought at 100 two years ago (long-term), 5 bought at 120 60 days ago.
    state = ledger(*held("AAA", "BBB", "CCC", "DDD", "EEE"), t(700, "tax", "buy", 20, "VTI", 100),
                   t(60, "tax", "buy", 5, "VTI", 120))
    p = run(state, quotes(AAA=100, BBB=100, CCC=100, DDD=100, EEE=100, VTI=130),
            di=spec(realized_gain_budget_usd=D(250)))
    [alert] = [a for a in p.alerts if a.kind == "direct_index_transition"]
    # Long-term gain 20 x 30 = 600, short-term 5 x 10 = 50: tax 600 x 20 % + 50 x 40 % = 140.
    assert (alert.data["long_term_gain"], alert.data["short_term_gain"]) == ("600.00", "50.00")
    assert alert.data["estimated_tax"] == "140.00" and alert.data["value"] == "3250.00"
    assert "$250.00 of realized_gain_budget_usd left" in alert.message
    # Within the budget, the long-term lot moves first (and only as far as the budget goes).
    [pair] = [x for x in p.pairs if x.sell_symbol == "VTI"]
    assert all(s.term.value == "long" for s in pair.lots) and -pair.estimated_long_loss <= 250
