"""Why a candidate does not trade (or trades only in part): absolute reasons before budget reasons, and every
partial decision explained with its figures."""

from __future__ import annotations

from decimal import Decimal

from daemon.config.models import HarvestConfig
from daemon.engine import SkipReason
from tests.engine.helpers import D, account, harvest, ledger, quotes, run, skip_of, t

PRICES = quotes(VTI=270, ITOT=100, SCHB=50, VEA=45, IEFA=70, VOO=450, VV=200)


def test_with_the_defaults_two_losses_worth_more_than_half_the_account_are_both_harvested() -> None:
    # Value: 27,000 (VTI) + 4,500 (VEA) + 500 cash = 32,000; the two sales sell 98 % of it.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 50))
    p = run(state, PRICES, accounts=[account("tax", 500)], config=HarvestConfig(circuit_breaker=False))
    assert HarvestConfig().max_turnover_pct == 1
    assert sorted((x.sell_symbol, x.sell_quantity) for x in p.pairs) == [("VEA", 100), ("VTI", 100)]
    assert all(x.partial is None for x in p.pairs)
    assert p.skipped == ()


def test_a_spouses_purchase_is_the_reason_even_when_the_turnover_cap_is_exhausted() -> None:
    # The spouse bought VTI ten days ago: the loss on VTI would be washed, whatever the cap.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 50),
                   t(10, "spouse", "buy", 5, "VTI", 268))
    accounts = [account("tax"), account("spouse")]
    p = run(state, PRICES, accounts=accounts, config=harvest(max_turnover_pct=D(0)))
    washed = skip_of(p, "tax", "VTI")
    assert washed.reason is SkipReason.WASH_SALE_LOOKBACK
    assert "bought 2026-11-10 in spouse" in washed.detail
    capped = skip_of(p, "tax", "VEA")  # the one that would otherwise trade is the one the cap stops
    assert capped.reason is SkipReason.TURNOVER_CAP
    assert "$4,500.00" in capped.detail and "$0.00 of turnover left" in capped.detail
    assert p.pairs == ()


def test_a_spouses_purchase_is_the_reason_even_when_max_pairs_is_reached() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 50),
                   t(10, "spouse", "buy", 5, "VTI", 268))
    p = run(state, PRICES, accounts=[account("tax"), account("spouse")], config=harvest(max_pairs_per_run=0))
    assert skip_of(p, "tax", "VTI").reason is SkipReason.WASH_SALE_LOOKBACK
    pairs = skip_of(p, "tax", "VEA")
    assert pairs.reason is SkipReason.MAX_PAIRS_REACHED and "a harvest of $500.00" in pairs.detail


def test_no_replacement_is_the_reason_even_when_max_pairs_is_reached() -> None:
    # A bigger harvest first uses the only pair; XYZ has no asset class: that, not the budget, is its reason.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "XYZ", 10))
    p = run(state, {**PRICES, **quotes(XYZ=5)}, config=harvest(max_pairs_per_run=1))
    assert [x.sell_symbol for x in p.pairs] == ["VTI"]
    assert skip_of(p, "tax", "XYZ").reason is SkipReason.NO_ELIGIBLE_REPLACEMENT


def test_a_sale_the_cap_cuts_short_says_so_with_its_figures() -> None:
    # Value 27,000 + 4,500 = 31,500; a 50 % cap leaves 15,750 for VTI: 58.333333 of 100 shares.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(200, "tax", "buy", 100, "VEA", 50))
    p = run(state, PRICES, config=harvest(max_turnover_pct=D("0.5")))
    vti = next(x for x in p.pairs if x.sell_symbol == "VTI")
    assert vti.sell_quantity == D("58.333333")
    assert vti.partial is not None and vti.partial.reason is SkipReason.TURNOVER_CAP
    detail = vti.partial.detail
    assert "sells 58.333333 of 100 shares" in detail and "$15,750.00 of turnover left" in detail
    assert "max_turnover_pct 50 %" in detail and "a harvest of $3,000.00" in detail
    assert vti.to_dict()["partial"] == {"reason": "turnover_cap", "detail": detail}
    # VEA: nothing left under the cap, and the skip says what it would have been.
    vea = skip_of(p, "tax", "VEA")
    assert vea.reason is SkipReason.TURNOVER_CAP and "$0.00 of turnover left" in vea.detail
    assert all(x.partial is None for x in p.pairs if x.sell_symbol != "VTI")
    assert Decimal(p.to_dict()["pairs"][0]["sell_quantity"]) == D("58.333333")
