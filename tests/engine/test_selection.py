"""Loss thresholds and lot selection under the broker's lot relief."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.engine import SkipReason
from daemon.engine.benefit import Rates
from daemon.engine.quotes import Price
from daemon.engine.selection import Selection, select
from daemon.engine.types import Rejection
from daemon.ledger import LotMethod, Term, relief
from tests.engine.helpers import AS_OF, TAX, D, account, execute, harvest, ledger, quotes, run, skip_of, t

PRICES = quotes(VTI=100, ITOT=50, SCHB=25, IWV=200)


def _pair_lots(state, account_id: str, symbol: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [lot for lot in state.lots if lot.account == account_id and lot.symbol == symbol and lot.quantity]


@pytest.mark.parametrize(("price", "reason_part"), [
    ("96", "4.0 % of basis"),  # 4 % down: below min_loss_pct 5 %
    ("94", "loss $60.00"),  # 6 % but only $60: below min_loss_usd $200
])
def test_losses_below_either_threshold_are_skipped_with_the_numbers(price: str, reason_part: str) -> None:
    state = ledger(t(200, "tax", "buy", 10, "VTI", 100))
    p = run(state, quotes(VTI=price, ITOT=50))
    skip = skip_of(p, "tax", "VTI")
    assert skip.reason is SkipReason.BELOW_LOSS_THRESHOLD
    assert reason_part in skip.detail and "min_loss_pct 5 %" in skip.detail
    assert p.pairs == ()


def test_positions_without_a_loss_are_not_reported() -> None:
    state = ledger(t(200, "tax", "buy", 10, "VTI", 90))
    p = run(state, PRICES)
    assert p.pairs == () and p.skipped == ()


def test_specific_sells_exactly_the_lots_worth_harvesting() -> None:
    # "crumb" is down 0.01 %: its $0.10 loss is worth $0.04 in tax, less than the $0.50 of spread it costs to
    # sell it and buy it back; "small" is down only 2 % (below min_loss_pct), but its $20 loss is worth $8.
    state = ledger(t(500, "tax", "buy", 10, "VTI", 130, lot="lt"), t(300, "tax", "buy", 10, "VTI", 80, lot="gain"),
                   t(100, "tax", "buy", 10, "VTI", 120, lot="st"), t(90, "tax", "buy", 10, "VTI", 102, lot="small"),
                   t(80, "tax", "buy", 10, "VTI", "100.01", lot="crumb"))
    (pair,) = run(state, PRICES).pairs
    # Short-term first; then the position's other loss lots worth their spread; never a gain.
    assert [s.lot_id for s in pair.lots] == ["st", "lt", "small"]
    assert pair.estimated_short_loss == 220 and pair.estimated_long_loss == 300
    assert pair.estimated_benefit == D("0.40") * 220 + D("0.20") * 300
    after, matches = execute(state, pair_plan := run(state, PRICES))
    assert matches == []
    realized = sum((d.gain for d in after.dispositions if d.trade_id.startswith("p1-")), Decimal(0))
    assert realized == -pair_plan.pairs[0].estimated_loss


def test_a_position_without_a_lot_past_min_loss_pct_is_not_harvested_for_its_small_losses() -> None:
    state = ledger(t(100, "tax", "buy", 100, "VTI", 104, lot="a"), t(90, "tax", "buy", 100, "VTI", 103, lot="b"))
    skip = skip_of(run(state, PRICES), "tax", "VTI")
    assert skip.reason is SkipReason.BELOW_LOSS_THRESHOLD


def test_specific_under_a_share_cap_keeps_short_term_and_the_largest_value_per_share() -> None:
    state = ledger(t(500, "tax", "buy", 10, "VTI", 200, lot="lt"), t(100, "tax", "buy", 10, "VTI", 110, lot="st1"),
                   t(90, "tax", "buy", 10, "VTI", 130, lot="st2"))
    lots = _pair_lots(state, "tax", "VTI")
    price = Price("VTI", D(100), D("0.025"), AS_OF)
    sel = select("VTI", lots, LotMethod.SPECIFIC, price, AS_OF, harvest(), Rates.of(TAX), whole_shares=False,
                 max_shares=D(15))
    assert isinstance(sel, Selection)
    assert [(s.lot_id, s.quantity) for s in sel.sales] == [("st2", 10), ("st1", 5)]
    assert sel.short_loss == 300 + 50 and sel.long_loss == 0


def test_fifo_harvests_only_when_the_relief_nets_a_loss() -> None:
    # FIFO relieves the old gain lot first: a big gain ahead of the loss means no harvest at all.
    state = ledger(t(400, "fifo", "buy", 10, "VTI", 50), t(100, "fifo", "buy", 10, "VTI", 120))
    skip = skip_of(run(state, PRICES), "fifo", "VTI")
    assert skip.reason is SkipReason.LOT_RELIEF_GAIN and "relieves lots fifo" in skip.detail


def test_fifo_sells_through_a_small_planned_gain_to_reach_a_large_loss() -> None:
    state = ledger(t(400, "fifo", "buy", 10, "VTI", 98, lot="a"), t(100, "fifo", "buy", 10, "VTI", 150, lot="b"))
    p = run(state, PRICES)
    (pair,) = p.pairs
    assert [s.lot_id for s in pair.lots] == ["a", "b"]
    assert pair.estimated_long_loss == -20 and pair.estimated_short_loss == 500
    # What the broker relieves for that many shares is exactly what the plan says.
    held = _pair_lots(state, "fifo", "VTI")
    assert [(lot.lot_id, n) for lot, n in relief.select(held, pair.sell_quantity, LotMethod.FIFO)] == \
        [(s.lot_id, s.quantity) for s in pair.lots]
    after, matches = execute(state, p)
    assert matches == []
    realized = sum((d.gain for d in after.dispositions if d.trade_id.startswith("p1-")), Decimal(0))
    assert realized == -pair.estimated_loss == -480


@pytest.mark.parametrize("method", ["lifo", "hifo"])
def test_lifo_and_hifo_stop_before_the_gain_lots(method: str) -> None:
    state = ledger(t(400, method, "buy", 10, "VTI", 60, lot="old"), t(100, method, "buy", 10, "VTI", 130, lot="x"),
                   t(50, method, "buy", 5, "VTI", 120, lot="y"))
    p = run(state, PRICES)
    (pair,) = p.pairs
    expected = {"lifo": ["y", "x"], "hifo": ["x", "y"]}[method]
    assert [s.lot_id for s in pair.lots] == expected and pair.sell_quantity == 15
    held = _pair_lots(state, method, "VTI")
    picks = relief.select(held, pair.sell_quantity, LotMethod(method))
    assert [lot.lot_id for lot, _ in picks] == expected


def test_specific_without_broker_support_is_treated_as_fifo() -> None:
    state = ledger(t(400, "tax", "buy", 10, "VTI", 50), t(100, "tax", "buy", 10, "VTI", 120))
    assert run(state, PRICES).pairs  # specific: sells the loss lot alone
    p = run(state, PRICES, accounts=[account("tax", specific=False)])
    assert skip_of(p, "tax", "VTI").reason is SkipReason.LOT_RELIEF_GAIN


def test_a_whole_share_broker_sells_whole_shares() -> None:
    state = ledger(t(100, "fifo", "buy", "10.75", "VTI", 130), t(90, "fifo", "buy", "3.5", "VTI", 125))
    p = run(state, PRICES, accounts=[account("fifo", fractional=False)])
    (pair,) = p.pairs
    assert pair.sell_quantity == 14 and [s.quantity for s in pair.lots] == [D("10.75"), D("3.25")]
    assert pair.buy_quantity_estimate == pair.buy_quantity_estimate.to_integral_value()


def test_relief_rejection_below_threshold_mentions_the_best_net_loss() -> None:
    state = ledger(t(400, "fifo", "buy", 10, "VTI", 103))
    out = select("VTI", _pair_lots(state, "fifo", "VTI"), LotMethod.FIFO, Price("VTI", D(100), D(0), AS_OF),
                 AS_OF, harvest(), Rates.of(TAX), whole_shares=False)
    assert isinstance(out, Rejection) and out.reason is SkipReason.BELOW_LOSS_THRESHOLD
    assert "best fifo net loss $30.00" in out.detail


def test_terms_follow_the_adjusted_holding_period() -> None:
    # Washed shares carry the sold lot's holding period: a 20-day-old replacement can be long-term.
    state = ledger(t(700, "tax", "buy", 10, "VTI", 150), t(60, "tax", "sell", 10, "VTI", 120),
                   t(45, "tax", "buy", 10, "VTI", 120))
    (pair,) = run(state, PRICES).pairs
    (sale,) = pair.lots
    assert sale.term is Term.LONG and sale.basis == 1500  # cost 1200 + 300 disallowed


def test_the_precomputed_long_term_cutoff_agrees_with_term_of() -> None:
    from datetime import date, timedelta

    from daemon.engine.candidates import term
    from daemon.ledger.types import term_of

    for sold in [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2025, 2, 28), date(2025, 3, 1),
                 date(2026, 11, 20), date(2028, 2, 29), date(2025, 1, 1)]:
        for back in range(300, 800):
            acquired = sold - timedelta(days=back)
            assert term(acquired, sold) is term_of(acquired, sold), (acquired, sold)
