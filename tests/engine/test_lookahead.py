"""Look-ahead: scheduled purchases (a 401(k)'s monthly contribution, dividend reinvestment) that would wash
a loss sold today; the monthly schedule's trading-day rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.engine import SkipReason
from daemon.engine.lookahead import recurring_dates
from daemon.engine.types import ScheduledPurchase
from tests.engine.helpers import AS_OF, account, harvest, ledger, make_input, plan, quotes, skip_of, t

PRICES = quotes(VOO=450, IVV=450, VV=200, VTI=270, SCHX=50)


def _contribution(days_ahead: int, symbol: str = "IVV") -> ScheduledPurchase:
    return ScheduledPurchase("h", "k401", symbol, AS_OF + timedelta(days=days_ahead), "recurring", "$500")


def _run(*scheduled: ScheduledPurchase, **config: object):  # type: ignore[no-untyped-def]
    state = ledger(t(200, "tax", "buy", 100, "VOO", 480))
    inp = make_input(state, PRICES, accounts=[account("tax")], config=harvest(**config))
    return plan(replace(inp, scheduled=scheduled))


def test_a_401k_contribution_five_days_ahead_skips_the_harvest() -> None:
    p = _run(_contribution(5))
    assert p.pairs == ()
    skip = skip_of(p, "tax", "VOO")
    assert skip.reason is SkipReason.SCHEDULED_PURCHASE
    assert f"k401's recurring purchase of IVV on {AS_OF + timedelta(days=5)} ($500) would wash the loss" in skip.detail


@pytest.mark.parametrize(("days", "symbol", "planned"), [
    (0, "IVV", False),    # today, after the sale: washes
    (30, "IVV", False),   # day +30 is in the window
    (31, "IVV", True),    # day +31 is out
    (5, "VTI", True),     # not identical to VOO
    (-1, "IVV", True),    # yesterday's contribution is the ledger's business (look-back), not a schedule
])
def test_the_window_is_the_sale_day_to_30_days_after(days: int, symbol: str, planned: bool) -> None:
    assert bool(_run(_contribution(days, symbol)).pairs) is planned


def test_warn_plans_the_pair_and_names_the_purchase_to_pause() -> None:
    p = _run(_contribution(5), scheduled_purchases="warn")
    (pair,) = p.pairs
    (alert,) = [a for a in p.alerts if a.kind == "scheduled_purchase"]
    until = AS_OF + timedelta(days=31)
    assert alert.severity.value == "warning" and alert.data["until"] == until.isoformat()
    assert "pause k401's recurring purchase of IVV" in alert.message and f"before {until}" in alert.message


def test_another_household_s_schedule_does_not_count() -> None:
    assert _run(replace(_contribution(5), household="g")).pairs


def test_dividend_reinvestment_of_the_shares_sold_does_not_happen_when_all_are_sold_before_ex_date() -> None:
    drip = ScheduledPurchase("h", "tax", "VOO", AS_OF + timedelta(days=10), "drip", "dividend reinvestment",
                             ex_date=AS_OF + timedelta(days=3))
    assert _run(drip).pairs  # every VOO share is sold before the ex-dividend date: no reinvestment
    already_ex = replace(drip, ex_date=AS_OF - timedelta(days=2))  # entitled already: the reinvestment comes
    assert skip_of(_run(already_ex), "tax", "VOO").reason is SkipReason.SCHEDULED_PURCHASE
    elsewhere = replace(drip, account="spouse", symbol="IVV")
    assert skip_of(_run(elsewhere), "tax", "VOO").reason is SkipReason.SCHEDULED_PURCHASE


HOLIDAYS = {date(2026, 12, 25), date(2027, 1, 1)}


def _open(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


@pytest.mark.parametrize(("day_of_month", "start", "end", "expected"), [
    (15, date(2026, 11, 20), date(2026, 12, 20), [date(2026, 12, 15)]),
    (25, date(2026, 12, 1), date(2027, 1, 31), [date(2026, 12, 28), date(2027, 1, 25)]),  # Christmas: Monday
    # Jan 31 and Feb 28, 2027 are Sundays: Monday Feb 1 and Monday Mar 1
    (31, date(2027, 2, 1), date(2027, 3, 1), [date(2027, 2, 1), date(2027, 3, 1)]),
    (1, date(2027, 1, 1), date(2027, 1, 10), [date(2027, 1, 4)]),   # New Year's Day (Fri) -> Monday
    (30, date(2026, 12, 1), date(2026, 12, 31), [date(2026, 12, 30)]),
    # a purchase due on Nov 29 (a Sunday) is made on Monday Nov 30: inside a window starting Nov 30
    (29, date(2026, 11, 30), date(2026, 12, 10), [date(2026, 11, 30)]),
])
def test_recurring_dates_move_to_the_next_trading_day(day_of_month: int, start: date, end: date,
                                                     expected: list[date]) -> None:
    assert recurring_dates(day_of_month, start, end, _open) == expected


def test_the_replacement_is_not_a_fund_the_household_buys_every_month() -> None:
    """An IRA buying VV, VOO's first stand-in, every month: VV bought as the replacement could never be
    harvested in its turn (each of its losses would be washed by those purchases), so the next member, SCHX,
    is bought instead (the soak found a book of ETFs stuck in such a stand-in through 2008)."""
    (pair,) = _run(_contribution(12, "VV")).pairs
    assert (pair.sell_symbol, pair.buy_symbol) == ("VOO", "SCHX")
    # Without a price for SCHX (or IWB), VV is still better than no harvest.
    state = ledger(t(200, "tax", "buy", 100, "VOO", 480))
    inp = make_input(state, quotes(VOO=450, IVV=450, VV=200, VTI=270), accounts=[account("tax")])
    (pair,) = plan(replace(inp, scheduled=(_contribution(12, "VV"),))).pairs
    assert pair.buy_symbol == "VV"
    assert _run().pairs[0].buy_symbol == "VV"  # the configured order when nothing is scheduled


def test_idle_cash_is_not_reinvested_in_a_fund_the_household_buys_every_month() -> None:
    """A pair meant to buy IVV after selling VOO, and its buy never filled: today IVV cannot be bought (sold
    at a loss in the household 10 days ago, so the purchase would wash it), and the next member of VOO's class,
    VV, is what the IRA buys every month. The cash goes to SCHX, the member after it, as a harvest's
    replacement would; with nothing scheduled, VV."""
    from daemon.engine.types import Uninvested

    state = ledger(t(200, "tax", "buy", 100, "VOO", 480), t(100, "tax", "buy", 10, "IVV", 500),
                   t(10, "tax", "sell", 10, "IVV", 450))
    idle = Uninvested("h", "tax", "VOO", "IVV", Decimal("2000"), AS_OF - timedelta(days=3), "tlh-r0-p1-buy")
    inp = replace(make_input(state, PRICES, accounts=[account("tax", cash=Decimal("2000"))],
                             config=harvest(min_loss_usd=Decimal("1000000"))), uninvested=(idle,))
    (reinvested,) = plan(replace(inp, scheduled=(_contribution(12, "VV"),))).reinvestments
    assert reinvested.symbol == "SCHX"
    (reinvested,) = plan(inp).reinvestments
    assert reinvested.symbol == "VV"
