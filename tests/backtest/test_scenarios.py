"""Backtests on small synthetic price paths, with hand-computed results.

Unless a test says otherwise: a single sleeve [A, B] (B tracks A on a different index), $10,000 on day 0 at
$100 (100 shares), no spread, 5 % / $1 loss thresholds, short-term 40 % and long-term 20 % (NIIT included),
losses usable against outside gains, weekdays from Monday 2024-01-08.
"""

from __future__ import annotations

import random

from tests.backtest.helpers import (
    backtest,
    fall_and_recover,
    harvest_settings,
    history,
    portfolio,
    weekdays,
)


def test_a_fall_of_10_percent_and_recovery_is_one_harvest_then_one_swap_back() -> None:
    days = weekdays(41)
    path = fall_and_recover()
    out = backtest(portfolio(), history(days, A=path, B=path))
    pairs = out["pairs"]
    # Day 5 (2024-01-15) is the first close 5 % below the $100 basis: sell 100 A at 95, buy 100 B.
    assert [(p["date"], p["kind"], p["sell"], p["buy"]) for p in pairs] == [
        ("2024-01-15", "harvest", "A", "B"),
        # 31 days later B (bought at 95) is at 99: swapped back at a $400 gain (within the cap).
        ("2024-02-15", "swap_back", "B", "A"),
    ]
    year = out["years"][0]
    assert year["harvested_short"] == 500.0 and year["harvested_long"] == 0.0
    assert year["pairs"] == 1 and year["swap_backs"] == 1
    assert year["harvest_yield"] == 0.05
    assert year["realized_short"] == {"with_harvesting": -100.0, "without_harvesting": 0.0}  # -500 + 400
    assert year["wash_sales_created"] == 0
    # B dipped 5.3 % below its cost too, but A (its only substitute) was restricted: no second harvest.
    assert out["holdings"] == {"with_harvesting": {"A": 100.0}, "without_harvesting": {"A": 100.0}}
    assert out["final_value"] == {"with_harvesting": 10000.0, "without_harvesting": 10000.0}
    # Held: the $100 net loss saves $40. Liquidated: A bought back at 99 gains $100, net 0. Short-term at
    # long-term rates: -100 * 40 % + 100 * 20 % = -$20.
    assert out["after_tax_value"] == {
        "held": {"with_harvesting": 10040.0, "without_harvesting": 10000.0},
        "liquidated": {"with_harvesting": 10000.0, "without_harvesting": 10000.0},
        "liquidated_st_as_lt": {"with_harvesting": 10020.0, "without_harvesting": 10000.0},
    }
    assert out["tax_alpha_annual"] == 0.0


def test_without_swap_back_the_replacement_is_kept() -> None:
    days = weekdays(41)
    path = fall_and_recover()
    out = backtest(portfolio(harvest=harvest_settings(swap_back=False)), history(days, A=path, B=path))
    assert [(p["kind"], p["sell"], p["buy"]) for p in out["pairs"]] == [("harvest", "A", "B")]
    assert out["holdings"]["with_harvesting"] == {"B": 100.0}


def test_prices_that_only_rise_give_the_same_result_with_and_without() -> None:
    days = weekdays(520)
    rise = [100 * 1.0008 ** i for i in range(len(days))]
    p = portfolio([{"name": "us", "weight": 0.6, "members": ["A", "B"]},
                   {"name": "bonds", "weight": 0.4, "members": ["C", "D"]}],
                  monthly_contribution="500", spread_bps="2", rebalance={"rule": "threshold", "threshold": "0.02"})
    out = backtest(p, history(days, A=rise, B=rise, C=[50 * 1.0001 ** i for i in range(len(days))],
                              D=[50.0] * len(days)))
    assert out["pairs"] == []
    assert all(y["harvested_short"] == 0 and y["pairs"] == 0 for y in out["years"])
    assert out["final_value"]["with_harvesting"] == out["final_value"]["without_harvesting"]
    for values in out["after_tax_value"].values():
        assert values["with_harvesting"] == values["without_harvesting"]
    assert out["tax_alpha_annual"] == 0.0
    s = out["series"]
    assert s["with_harvesting"] == s["without_harvesting"]


def test_contributions_buy_the_next_member_while_the_primary_is_restricted() -> None:
    days = weekdays(19, start=weekdays(1)[0].replace(day=22))  # Mon 2024-01-22 to Thu 2024-02-15
    path = [100.0, 99.0, 98.0, 97.0, 96.0, 95.0] + [95.0] * 13  # harvested on 2024-01-29
    p = portfolio(monthly_contribution="1000", harvest=harvest_settings(swap_back=False))
    out = backtest(p, history(days, A=path, B=path))
    assert [(p["date"], p["sell"], p["buy"]) for p in out["pairs"]] == [("2024-01-29", "A", "B")]
    # The contribution of 2024-02-01 goes to B: A may not be bought until 2024-02-29.
    held = out["holdings"]["with_harvesting"]
    assert set(held) == {"B"} and round(held["B"], 4) == round(100 + 1000 / 95, 4)
    assert set(out["holdings"]["without_harvesting"]) == {"A"}
    assert out["total"]["wash_sales_created"] == 0


def test_weekly_frequency_harvests_only_on_the_first_trading_day_of_a_week() -> None:
    days = weekdays(41)
    path = fall_and_recover()
    out = backtest(portfolio(harvest=harvest_settings(swap_back=False)), history(days, A=path, B=path),
                   frequency="weekly")
    # Monday 2024-01-15 is both the first 5 % loss and a week's first day; with a fall starting a day later
    # the weekly run waits for the next Monday.
    assert [p["date"] for p in out["pairs"]] == ["2024-01-15"]
    late = [100.0, 100.0] + fall_and_recover()[1:40]
    out = backtest(portfolio(harvest=harvest_settings(swap_back=False)), history(days, A=late, B=late),
                   frequency="weekly")
    assert [p["date"] for p in out["pairs"]] == ["2024-01-22"]
    daily = backtest(portfolio(harvest=harvest_settings(swap_back=False)), history(days, A=late, B=late))
    assert [p["date"] for p in daily["pairs"]] == ["2024-01-16"]


def test_no_wash_sales_with_contributions_rebalancing_taxes_and_identical_funds() -> None:
    """Volatile random walks, monthly contributions, threshold rebalancing, taxes paid from the portfolio,
    and funds identical to each other (A ~ A2, C ~ C2): the harvesting portfolio must create no wash sale."""
    rng = random.Random(7)
    days = weekdays(800)

    def walk(start: float, vol: float) -> list[float]:
        out, x = [], start
        for _ in days:
            x *= 1 + rng.gauss(0.0002, vol)
            out.append(round(x, 4))
        return out

    base = walk(100, 0.02)
    other = walk(40, 0.02)
    series = {"A": base, "A2": [x * 1.001 for x in base], "B": walk(80, 0.02), "C": other,
              "C2": [x * 0.999 for x in other], "D": walk(60, 0.025)}
    p = portfolio([{"name": "one", "weight": 0.5, "members": ["A", "B"]},
                   {"name": "two", "weight": 0.5, "members": ["C", "D"]}],
                  identical=[{"symbols": ["A", "A2"]}, {"symbols": ["C", "C2"]}], monthly_contribution="700",
                  spread_bps="3", rebalance={"rule": "threshold", "threshold": "0.03"},
                  harvest=harvest_settings(swap_back_max_gain_usd="50"))
    out = backtest(p, history(days, **series))
    assert out["total"]["pairs"] > 5 and out["total"]["swap_backs"] > 0
    assert [y["wash_sales_created"] for y in out["years"]] == [0] * len(out["years"])


def test_a_harvest_across_a_large_one_day_move_is_flagged() -> None:
    days = weekdays(12)
    split = [100.0, 100.0, 100.0, 45.0] + [45.0] * 8  # an unadjusted 2-for-1 split, say, on 2024-01-11
    out = backtest(portfolio(harvest=harvest_settings(swap_back=False)),
                   history(days, A=split, B=[100.0] * 12))
    assert [(p["date"], p["sell"]) for p in out["pairs"]] == [("2024-01-11", "A")]
    assert out["large_move_harvests"] == [{"date": "2024-01-11", "symbol": "A", "loss": 5500.0,
                                           "move_date": "2024-01-11", "move": -0.55}]
    assert out["years"][0]["large_move_harvests"] == 1
