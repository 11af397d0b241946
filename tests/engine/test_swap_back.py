"""Swap back: 31+ days after a harvest, from the replacement back to the asset class's primary."""

from __future__ import annotations

from decimal import Decimal

from daemon.engine import PairKind, SkipReason
from tests.engine.helpers import execute, harvest, ledger, quotes, run, skip_of, t

# VTI harvested 40 days ago into ITOT; ITOT is up 1 % since.
HARVESTED = (t(300, "tax", "buy", 100, "VTI", 300), t(40, "tax", "sell", 100, "VTI", 270),
             t(40, "tax", "buy", 270, "ITOT", 100, lot="itot"))
PRICES = quotes(VTI=280, ITOT=101, SCHB=50)
ON = harvest(swap_back=True, swap_back_max_gain_usd=Decimal(300))


def test_a_replacement_held_31_days_goes_back_to_the_primary_within_the_gain_limit() -> None:
    state = ledger(*HARVESTED)
    p = run(state, PRICES, config=ON)
    (pair,) = p.pairs
    assert (pair.kind, pair.sell_symbol, pair.buy_symbol) == (PairKind.SWAP_BACK, "ITOT", "VTI")
    assert pair.sell_quantity == 270 and pair.estimated_loss == -270  # a planned gain of $270
    assert p.restrictions == ()  # a gain washes nothing
    assert execute(state, p)[1] == []


def test_no_swap_back_when_the_gain_is_too_large_or_the_option_is_off() -> None:
    state = ledger(*HARVESTED)
    assert run(state, PRICES, config=harvest(swap_back=True, swap_back_max_gain_usd=Decimal(269))).pairs == ()
    assert run(state, PRICES).pairs == ()


def test_no_swap_back_before_31_days() -> None:
    state = ledger(t(300, "tax", "buy", 100, "VTI", 300), t(30, "tax", "sell", 100, "VTI", 270),
                   t(30, "tax", "buy", 270, "ITOT", 100))
    p = run(state, PRICES, config=ON)
    assert p.pairs == () and p.skipped == ()


def test_a_swap_back_at_a_small_loss_records_its_restriction() -> None:
    state = ledger(*HARVESTED)
    p = run(state, quotes(VTI=280, ITOT=99, SCHB=50), config=ON)  # 0.99 % down: no harvest, a swap back
    (pair,) = p.pairs
    assert pair.kind is PairKind.SWAP_BACK and pair.estimated_loss == 270
    assert [r.symbol for r in p.restrictions] == ["ITOT"]
    assert execute(state, p)[1] == []


def test_a_pending_loss_on_the_primary_blocks_the_swap_back() -> None:
    state = ledger(*HARVESTED, t(100, "spouse", "buy", 10, "VTI", 300), t(10, "spouse", "sell", 10, "VTI", 280))
    p = run(state, PRICES, config=ON)
    skip = skip_of(p, "tax", "ITOT")
    assert skip.reason is SkipReason.NO_ELIGIBLE_REPLACEMENT
    assert skip.detail.startswith("swap back ITOT to VTI: ") and "sold at a loss in spouse" in skip.detail


def test_young_lots_stay_and_a_loss_they_would_wash_blocks_the_swap_back() -> None:
    # A gain: the 10-day-old lot stays behind, the old lot goes back.
    state = ledger(*HARVESTED, t(10, "tax", "buy", 5, "ITOT", 100, lot="young"))
    (pair,) = run(state, PRICES, config=ON).pairs
    assert [s.lot_id for s in pair.lots] == ["itot"]
    # A loss: the young lot would wash it.
    p = run(state, quotes(VTI=280, ITOT=99, SCHB=50), config=ON)
    skip = skip_of(p, "tax", "ITOT")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK and "ITOT bought" in skip.detail


def test_with_fifo_relief_only_the_old_lots_at_the_front_go() -> None:
    state = ledger(t(300, "fifo", "buy", 100, "VTI", 300), t(40, "fifo", "sell", 100, "VTI", 270),
                   t(40, "fifo", "buy", 270, "ITOT", 100, lot="old"), t(10, "fifo", "buy", 5, "ITOT", 100))
    (pair,) = run(state, PRICES, config=ON).pairs
    assert [s.lot_id for s in pair.lots] == ["old"] and pair.sell_quantity == 270
    state = ledger(t(300, "lifo", "buy", 100, "VTI", 300), t(40, "lifo", "sell", 100, "VTI", 270),
                   t(40, "lifo", "buy", 270, "ITOT", 100, lot="old"), t(10, "lifo", "buy", 5, "ITOT", 100))
    assert run(state, PRICES, config=ON).pairs == ()  # LIFO would relieve the young lot first


def test_with_specific_relief_a_lot_at_a_gain_stays_rather_than_give_back_the_losses_sold_with_it() -> None:
    # ITOT lot "a" (the harvest's replacement) is up $270, lot "b" down $400: together a net loss, but selling
    # "a" would give back $270 of the $400. Only "b" goes back to VTI; with a $300 limit, "a" goes too.
    state = ledger(t(300, "tax", "buy", 100, "VTI", 300), t(60, "tax", "sell", 100, "VTI", 270),
                   t(60, "tax", "buy", 270, "ITOT", 100, lot="a"), t(40, "tax", "buy", 100, "ITOT", 105, lot="b"))
    p = run(state, PRICES, config=harvest(swap_back=True))
    (pair,) = p.pairs
    assert pair.kind is PairKind.SWAP_BACK and [s.lot_id for s in pair.lots] == ["b"]
    assert pair.estimated_loss == 400 and all(s.gain < 0 for s in pair.lots)
    assert execute(state, p)[1] == []
    (pair,) = run(state, PRICES, config=ON).pairs
    assert [s.lot_id for s in pair.lots] == ["a", "b"] and pair.estimated_loss == 130


def test_a_lot_whose_gain_is_smaller_than_the_spread_is_checked_as_the_loss_it_sells_at() -> None:
    # Lot "a" is up $1 at the close but sells at the bid ($2.50 lower for 100 shares at 5 bps): a loss,
    # which the 5 ITOT shares bought 10 days ago would wash. No swap back.
    state = ledger(t(300, "tax", "buy", 100, "VTI", 300), t(60, "tax", "sell", 100, "VTI", 270),
                   t(60, "tax", "buy", 100, "ITOT", "100.99", lot="a"), t(10, "tax", "buy", 5, "ITOT", "101.5"))
    p = run(state, quotes(VTI=280, ITOT="101.00", SCHB=50), config=ON)
    assert p.pairs == ()
    skip = skip_of(p, "tax", "ITOT")
    assert skip.reason is SkipReason.WASH_SALE_LOOKBACK and skip.detail.startswith("swap back ITOT to VTI")
