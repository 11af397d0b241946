"""The tax arithmetic: yearly tax, the three liquidation assumptions, settlements, XIRR."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.backtest.metrics import xirr
from daemon.backtest.portfolio import Taxes
from daemon.backtest.taxes import Carry, year_tax
from daemon.ledger.gains import GainRow
from daemon.ledger.types import Term
from tests.backtest.helpers import D, backtest, harvest_settings, history, portfolio, weekdays

NO_SWAP = harvest_settings(swap_back=False)


def drop_then_rise(n: int) -> list[float]:
    """100, then 80 (a harvest: -$2,000 short-term on 100 shares), then up in a line to 120."""
    return [100.0, 80.0] + [80.0 + 40.0 * (i - 1) / (n - 2) for i in range(2, n)]


def test_three_liquidation_assumptions_on_a_tiny_case() -> None:
    days = weekdays(100)  # 2024-01-08 to 2024-05-24: everything is short-term
    path = drop_then_rise(len(days))
    out = backtest(portfolio(harvest=NO_SWAP), history(days, A=path, B=path))
    assert [(p["sell"], p["buy"], p["estimated_loss"]) for p in out["pairs"]] == [("A", "B", 2000.0)]
    assert out["final_value"] == {"with_harvesting": 12000.0, "without_harvesting": 12000.0}
    # With: realized -2,000 short-term; 100 B bought at 80 are worth 120 (+4,000 short-term if sold).
    # Without: 100 A bought at 100 (+2,000 short-term if sold). Short-term 40 %, long-term 20 %.
    assert out["after_tax_value"] == {
        "held": {"with_harvesting": 12800.0, "without_harvesting": 12000.0},  # -2,000 x 40 % saved
        "liquidated": {"with_harvesting": 11200.0, "without_harvesting": 11200.0},  # net +2,000 x 40 % each
        # -2,000 x 40 % + 4,000 x 20 % = 0 with; 2,000 x 20 % = 400 without
        "liquidated_st_as_lt": {"with_harvesting": 12000.0, "without_harvesting": 11600.0},
    }
    assert out["taxes_at_end"]["liquidated"] == {"with_harvesting": 800.0, "without_harvesting": 800.0}


def test_limited_losses_offset_3000_of_ordinary_income() -> None:
    days = weekdays(100)
    path = drop_then_rise(len(days))
    p = portfolio(harvest=NO_SWAP, taxes={"losses": "limited", "ordinary_rate": "0.30"})
    out = backtest(p, history(days, A=path, B=path))
    # Held: the $2,000 net loss offsets ordinary income at 30 %; liquidated: a net $2,000 short-term gain.
    assert out["after_tax_value"]["held"] == {"with_harvesting": 12600.0, "without_harvesting": 12000.0}
    assert out["after_tax_value"]["liquidated"] == {"with_harvesting": 11200.0, "without_harvesting": 11200.0}


def test_a_saving_is_credited_on_the_settle_date_and_invested() -> None:
    days = weekdays(100, start=date(2023, 12, 18))  # the harvest on 2023-12-19; settled 2024-04-15
    path = drop_then_rise(len(days))
    out = backtest(portfolio(harvest=NO_SWAP), history(days, A=path, B=path))
    y2023 = out["years"][0]
    assert y2023["year"] == 2023 and y2023["taxes_settled"]
    assert y2023["taxes_paid"] == {"with_harvesting": -800.0, "without_harvesting": 0.0}
    held = out["holdings"]["with_harvesting"]
    assert held["B"] == 100.0 and held["A"] > 0  # the $800 bought the primary, no longer restricted
    outside = backtest(portfolio(harvest=NO_SWAP, taxes={"paid_from": "outside"}),
                       history(days, A=path, B=path))
    assert outside["holdings"]["with_harvesting"] == {"B": 100.0}
    # Kept outside: the $800 is added to the after-tax value, not compounded.
    assert outside["after_tax_value"]["held"]["with_harvesting"] == outside["final_value"]["with_harvesting"] + 800


def _row(gain: int, term: Term) -> GainRow:
    return GainRow("d", "taxable", "X", D(1), date(2024, 1, 1), date(2024, 6, 1), D(gain) if gain > 0 else D(0),
                   D(-gain) if gain < 0 else D(0), D(0), "", term, D(0))


def test_year_tax_limited_carries_forward_by_character() -> None:
    taxes = Taxes(short_term_rate=D("0.35"), long_term_rate=D("0.15"), niit_rate=D("0.05"), state_rate=D(0),
                  losses="limited", ordinary_rate=D("0.30"))
    first = year_tax([_row(-10000, Term.SHORT), _row(2000, Term.LONG)], Carry(), taxes)
    # Net -8,000: 3,000 against ordinary income, 5,000 short-term carried forward.
    assert first.tax == D(-900) and first.carry == Carry(D(5000), D(0))
    second = year_tax([_row(6000, Term.LONG)], first.carry, taxes)
    # The 5,000 carried short-term loss absorbs part of the long-term gain: 1,000 taxed at 20 %.
    assert second.tax == D(200) and second.carry == Carry()
    unlimited = Taxes(short_term_rate=D("0.35"), long_term_rate=D("0.15"), niit_rate=D("0.05"))
    assert year_tax([_row(-10000, Term.SHORT), _row(2000, Term.LONG)], Carry(), unlimited).tax == D(-3600)


def test_xirr() -> None:
    start = date(2020, 1, 1)
    assert xirr([(start, -100.0), (start + timedelta(days=365), 110.0)]) == pytest.approx(0.10, abs=1e-9)
    assert xirr([(start, -100.0), (start + timedelta(days=365), -10.0), (start + timedelta(days=730), 121.0)]) \
        == pytest.approx((-10 + (100 + 48400) ** 0.5) / 200 - 1, abs=1e-6)  # 100x² + 10x - 121 = 0
    assert xirr([(start, 100.0)]) is None


def test_money_weighted_return_is_reported_before_and_after_tax() -> None:
    days = weekdays(100)
    path = drop_then_rise(len(days))
    out = backtest(portfolio(harvest=NO_SWAP), history(days, A=path, B=path))
    mwr = out["money_weighted_return"]
    assert mwr["before_tax"]["with_harvesting"] == mwr["before_tax"]["without_harvesting"] > 0
    assert mwr["after_tax"]["held"]["with_harvesting"] > mwr["after_tax"]["held"]["without_harvesting"]
    assert Decimal(str(out["tax_alpha_annual"])) == 0
