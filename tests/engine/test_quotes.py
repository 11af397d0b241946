"""Spread and price sanity on both legs."""

from __future__ import annotations

from datetime import timedelta

from daemon.engine import SkipReason
from daemon.prices import Quote
from tests.engine.helpers import AS_OF, D, harvest, ledger, quotes, run, skip_of, t

STATE = ledger(t(200, "tax", "buy", 100, "VTI", 300))


def q(close: object, bid: object = None, ask: object = None, days_old: int = 0) -> Quote:
    return Quote(AS_OF - timedelta(days=days_old), D(close), None if bid is None else D(bid),
                 None if ask is None else D(ask))


def test_a_sell_leg_with_a_wide_spread_is_skipped() -> None:
    p = run(STATE, {"VTI": q(270, "269", "271"), **quotes(ITOT=100)})  # 74 bps
    skip = skip_of(p, "tax", "VTI")
    assert skip.reason is SkipReason.SPREAD_TOO_WIDE and "74.1 bps" in skip.detail


def test_a_missing_sell_price_is_skipped() -> None:
    skip = skip_of(run(STATE, quotes(ITOT=100)), "tax", "VTI")
    assert skip.reason is SkipReason.MISSING_PRICE


def test_a_stale_sell_price_is_skipped_but_four_days_is_fine() -> None:
    p = run(STATE, {"VTI": q(270, days_old=5), **quotes(ITOT=100)})
    assert skip_of(p, "tax", "VTI").reason is SkipReason.STALE_PRICE
    assert run(STATE, {"VTI": q(270, days_old=4), **quotes(ITOT=100)}).pairs
    p = run(STATE, {"VTI": q(270, days_old=2), **quotes(ITOT=100)}, config=harvest(max_price_age_days=1))
    assert skip_of(p, "tax", "VTI").reason is SkipReason.STALE_PRICE


def test_a_stale_price_that_shows_no_loss_is_not_reported() -> None:
    assert run(STATE, {"VTI": q(310, days_old=9), **quotes(ITOT=100)}).skipped == ()


def test_a_quote_dated_after_the_run_is_not_used() -> None:
    p = run(STATE, {"VTI": q(270, days_old=-1), **quotes(ITOT=100)})
    assert skip_of(p, "tax", "VTI").reason is SkipReason.MISSING_PRICE


def test_a_buy_leg_with_a_bad_price_passes_to_the_next_member() -> None:
    prices = {"VTI": q(270), "ITOT": q(100, "99", "101"), "SCHB": q(50, days_old=10), "IWV": q(300)}
    (pair,) = run(STATE, prices).pairs
    assert pair.buy_symbol == "IWV"
    skip = skip_of(run(STATE, {"VTI": q(270), "ITOT": q(100, "99", "101")}), "tax", "VTI")
    assert skip.reason is SkipReason.NO_ELIGIBLE_REPLACEMENT
    assert "ITOT: spread 200.0 bps" in skip.detail and "SCHB: no price" in skip.detail


def test_bid_and_ask_set_the_spread_cost_else_default_spread_bps() -> None:
    (pair,) = run(STATE, {"VTI": q(270, "269.9", "270.1"), "ITOT": q(100)}).pairs
    # sell: 0.10 per share × 100; buy: 2.5 bps of the notional (default 5 bps / 2).
    assert pair.estimated_cost == D("10.0") + pair.buy_notional * D("0.00025")
