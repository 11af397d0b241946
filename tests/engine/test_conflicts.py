"""Wash-sale conflicts across the household: look-back purchases, pending losses, restrictions, and pairs of
one plan that must not wash each other."""

from __future__ import annotations

from datetime import timedelta

from daemon.engine import Restriction, SkipReason
from daemon.ledger import Side, Trade, apply
from tests.engine.helpers import (
    ACCOUNTS,
    AS_OF,
    IDENTICAL,
    D,
    account,
    ago,
    execute,
    harvest,
    ledger,
    quotes,
    run,
    skip_of,
    t,
)

PRICES = quotes(VOO=450, IVV=450, VV=200, SCHX=50, IWB=300, VTI=270, ITOT=100, SCHB=50, IWV=300)


def test_an_ira_purchase_of_an_identical_fund_last_week_blocks_the_harvest() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VOO", 500), t(7, "ira", "buy", 10, "IVV", 460))
    p = run(state, PRICES)
    assert p.pairs == ()
    skip = skip_of(p, "tax", "VOO")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK
    assert f"IVV bought {ago(7)} in ira (10 sh) would wash the loss on VOO" in skip.detail
    # Why it matters: the sale would be washed by the IRA shares, and the loss lost for good.
    sold = apply(state, [Trade("s", AS_OF, "tax", "VOO", Side.SELL, D(100), D(450))], ACCOUNTS, IDENTICAL)
    (match,) = sold.matches
    assert match.permanent and match.account == "ira" and match.quantity == 10


def test_a_spouse_purchase_of_the_sold_fund_ten_days_ago_blocks_it_too() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(10, "spouse", "buy", 5, "VTI", 280))
    p = run(state, PRICES)
    skip = skip_of(p, "tax", "VTI")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK
    assert f"VTI bought {ago(10)} in spouse (5 sh)" in skip.detail
    assert not any(pair.sell_symbol == "VTI" and pair.account == "tax" for pair in p.pairs)


def test_the_window_is_thirty_days_back() -> None:
    for days, blocked in ((30, True), (31, False)):
        state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(days, "ira", "buy", 5, "VTI", 300))
        p = run(state, PRICES)
        assert (p.pairs == ()) is blocked, days


def test_shares_that_already_washed_a_loss_do_not_wash_another() -> None:
    state = ledger(
        t(100, "spouse", "buy", 10, "VOO", 500), t(25, "spouse", "sell", 10, "VOO", 470),
        t(20, "ira", "buy", 10, "IVV", 470),  # absorbs the spouse's loss (permanently)
        t(200, "tax", "buy", 100, "VOO", 500),
    )
    p = run(state, PRICES)
    (pair,) = p.pairs
    assert (pair.account, pair.sell_symbol) == ("tax", "VOO")
    _, matches = execute(state, p)
    assert matches == []


def test_unwashed_only_counts_the_part_a_recent_purchase_does_not_wash() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(10, "spouse", "buy", 30, "VTI", 280))
    p = run(state, PRICES, config=harvest(lookback_policy="unwashed_only"))
    (pair,) = p.pairs
    assert pair.washed_loss == 30 * 30 and pair.estimated_loss == 70 * 30
    assert pair.estimated_benefit == D("0.40") * 70 * 30
    after, matches = execute(state, p)
    (match,) = matches
    assert match.quantity == 30 and match.disallowed == pair.washed_loss and match.account == "spouse"


def test_unwashed_only_still_skips_when_the_allowed_part_is_too_small() -> None:
    state = ledger(t(200, "tax", "buy", 10, "VTI", 300), t(10, "spouse", "buy", 9, "VTI", 280))
    p = run(state, PRICES, config=harvest(lookback_policy="unwashed_only"))
    skip = skip_of(p, "tax", "VTI")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK and "below the loss thresholds" in skip.detail


def test_a_recent_loss_lot_of_the_position_is_sold_along_instead_of_washing_the_harvest() -> None:
    # The recent lot is only 1 % down (below min_loss_pct), but left behind it would wash the old lot's loss.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300, lot="old"), t(5, "tax", "buy", 10, "VTI", 273,
                                                                          lot="new"))
    p = run(state, PRICES)
    (pair,) = p.pairs
    assert [s.lot_id for s in pair.lots] == ["old", "new"]
    assert execute(state, p)[1] == []


def test_shares_of_the_same_purchase_never_replace_each_other() -> None:
    # A whole-share broker sells 10 of 10.5 recent shares: the 0.5 left over are of the same purchase.
    state = ledger(t(10, "tax", "buy", "10.5", "VTI", 300))
    p = run(state, PRICES, accounts=[account("tax", fractional=False)])
    (pair,) = p.pairs
    assert pair.sell_quantity == 10
    assert execute(state, p)[1] == []
    # ... but they would wash the loss of another lot sold with them: then the harvest is skipped.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(10, "tax", "buy", "10.5", "VTI", 300))
    p = run(state, PRICES, accounts=[account("tax", fractional=False)])
    assert skip_of(p, "tax", "VTI").reason is SkipReason.WASH_SALE_LOOKBACK


def test_a_replacement_identical_to_a_spouse_loss_of_twenty_days_ago_is_passed_over() -> None:
    state = ledger(
        t(100, "spouse", "buy", 10, "IVV", 500), t(20, "spouse", "sell", 10, "IVV", 470),  # loss, unwashed
        t(200, "tax", "buy", 100, "IWB", 350),
    )
    p = run(state, PRICES)
    (pair,) = p.pairs
    assert (pair.sell_symbol, pair.buy_symbol) == ("IWB", "VV")  # VOO (primary) is identical to IVV
    assert execute(state, p)[1] == []


def test_a_loss_sold_thirty_one_days_ago_no_longer_blocks_its_group() -> None:
    state = ledger(
        t(100, "spouse", "buy", 10, "IVV", 500), t(31, "spouse", "sell", 10, "IVV", 470),
        t(200, "tax", "buy", 100, "IWB", 350),
    )
    (pair,) = run(state, PRICES).pairs
    assert pair.buy_symbol == "VOO"


def test_active_restrictions_block_a_replacement_and_expired_ones_do_not() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300))
    active = Restriction("h", "ITOT", AS_OF + timedelta(days=1), "an earlier sale of ITOT")
    expired = Restriction("h", "ITOT", AS_OF, "an older sale")
    other = Restriction("g", "ITOT", AS_OF + timedelta(days=9), "another household")
    assert run(state, PRICES, restrictions=[active]).pairs[0].buy_symbol == "SCHB"
    assert run(state, PRICES, restrictions=[expired, other]).pairs[0].buy_symbol == "ITOT"


def test_every_member_blocked_means_no_eligible_replacement_with_each_reason() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300))
    until = AS_OF + timedelta(days=5)
    blocked = [Restriction("h", s, until, f"sale of {s}") for s in ("ITOT", "SCHB", "IWV")]
    skip = skip_of(run(state, PRICES, restrictions=blocked), "tax", "VTI")
    assert skip.reason is SkipReason.NO_ELIGIBLE_REPLACEMENT
    for s in ("ITOT", "SCHB", "IWV"):
        assert f"{s}: {s} may not be bought until {until}" in skip.detail


def test_a_sale_records_a_restriction_for_every_symbol_of_its_identical_group() -> None:
    state = ledger(t(200, "tax", "buy", 100, "IVV", 500))
    p = run(state, PRICES)
    assert sorted(r.symbol for r in p.restrictions) == ["IVV", "SPLG", "SPY", "VOO"]
    assert {r.until for r in p.restrictions} == {AS_OF + timedelta(days=31)}
    assert all(r.household == "h" and r.sale.startswith("p1: tax sells 100 IVV") for r in p.restrictions)


def test_two_accounts_harvesting_the_same_fund_do_not_buy_each_others_sold_fund() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VOO", 500), t(150, "spouse", "buy", 80, "IVV", 490))
    p = run(state, PRICES)
    assert {(x.account, x.sell_symbol) for x in p.pairs} == {("tax", "VOO"), ("spouse", "IVV")}
    sold = {IDENTICAL.key(x.sell_symbol) for x in p.pairs}
    assert all(IDENTICAL.key(x.buy_symbol) not in sold for x in p.pairs)
    assert {x.buy_symbol for x in p.pairs} == {"VV"}
    assert execute(state, p)[1] == []


def test_a_pair_never_sells_what_an_earlier_pair_of_the_plan_buys() -> None:
    # tax sells VTI and buys ITOT; the spouse's ITOT (a smaller loss) may not be sold at a loss today.
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300), t(150, "spouse", "buy", 50, "ITOT", 110))
    p = run(state, PRICES)
    (pair,) = p.pairs
    assert (pair.account, pair.sell_symbol, pair.buy_symbol) == ("tax", "VTI", "ITOT")
    skip = skip_of(p, "spouse", "ITOT")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK and "p1 (ITOT in tax)" in skip.detail
    assert execute(state, p)[1] == []


def test_other_households_do_not_count() -> None:
    state = ledger(t(200, "tax", "buy", 100, "VTI", 300))
    other = ledger(t(3, "other", "buy", 100, "VTI", 270), household="g")
    assert other.lots and run(state, PRICES).pairs


def test_shares_whose_washed_loss_flowed_into_the_sold_lot_do_not_wash_it_unwashed_only() -> None:
    # Day -30 (the window's last day back): 10 shares of "a" sold at a loss, washed by "b" bought after
    # them. "a"'s shares (those sold and those still held) are not "b"'s replacement: their loss flowed into
    # "b" (wash-sales.md, "never let a wash run in a circle"). Today both "a" and "b" are sold at a loss:
    # the ledger washes nothing, so the plan must not count "b"'s loss out.
    state = ledger(t(30, "spouse", "buy", 20, "VTI", 310, lot="a", tid="a"),
                   t(30, "spouse", "sell", 10, "VTI", 300, lot="a", tid="s"),
                   t(30, "spouse", "buy", 10, "VTI", 310, lot="b", tid="b"))
    (b,) = [lot for lot in state.lots if lot.lot_id == "b"]
    assert b.absorbed and b.washed_from == {"a"} and b.adjustment == 100
    p = run(state, PRICES, config=harvest(lookback_policy="unwashed_only"))
    (pair,) = p.pairs
    assert sorted(s.lot_id for s in pair.lots) == ["a", "b"]
    _, matches = execute(state, p)
    assert matches == []
    assert pair.washed_loss == 0 and pair.estimated_loss == 10 * 40 + 10 * 50
