"""Look ahead: purchases already scheduled in the household (recurring contributions, dividend reinvestment)
that would wash a loss sold today (shared/reference/wash-sales.md, "What the harvest engine must therefore
check", 2: nothing identical may be bought in any household account for 31 days after the sale).

The engine gets the purchases with their dates (the service computes them from the configuration, the
exchange calendar and the dividend dates): nothing here reads a calendar or a clock.
`recurring_dates` is the pure rule for "monthly on day D, the next trading day when D is closed".
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from daemon.engine.holdings import GroupIndex
from daemon.engine.types import ScheduledPurchase

WINDOW = timedelta(days=30)  # a purchase up to 30 days after the sale washes it


def recurring_dates(day_of_month: int, start: date, end: date, is_session: Callable[[date], bool]) -> list[date]:
    """The trading days a monthly purchase on `day_of_month` happens from `start` to `end` (both included).
    A day past the month's end is its last day; a closed day moves to the next trading day."""
    out: list[date] = []
    year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
    while True:
        nominal = date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
        if nominal > end:
            return out
        day = nominal
        for _ in range(15):  # no exchange is closed for two weeks in a row
            if is_session(day):
                break
            day += timedelta(days=1)
        if start <= day <= end and day not in out:
            out.append(day)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def conflicts(scheduled: Iterable[ScheduledPurchase], household: str, account: str, symbol: str,
              sells_all: bool, as_of: date, groups: GroupIndex) -> list[ScheduledPurchase]:
    """The scheduled purchases that would wash a loss on `symbol` sold in `account` on `as_of`: identical
    symbols bought anywhere in the household from `as_of` to 30 days after. A dividend reinvestment of the
    very shares sold does not happen when the sale sells them all before the ex-dividend date."""
    key = groups.key(symbol)
    out = []
    for p in scheduled:
        if p.household != household or groups.key(p.symbol) != key or not as_of <= p.day <= as_of + WINDOW:
            continue
        if (p.kind == "drip" and sells_all and p.account == account and p.symbol == symbol
                and p.ex_date is not None and p.ex_date > as_of):
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p.day, p.account, p.symbol))


def describe(purchases: Sequence[ScheduledPurchase]) -> str:
    shown = "; ".join(p.describe() for p in purchases[:3])
    return shown + (f"; and {len(purchases) - 3} more" if len(purchases) > 3 else "")
