"""The shell side of direct indexing: each `[accounts.direct_index]` as the engine's `DirectIndexInput`
(its constituents file read), and the trailing daily returns of the stocks involved from the price source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from daemon.config.constituents import load_constituents
from daemon.config.models import Settings
from daemon.engine.tracking import trailing_returns
from daemon.engine.types import DirectIndexInput, TrailingReturns
from daemon.market_calendar import sessions
from daemon.prices import PriceBook


def inputs(settings: Settings) -> tuple[DirectIndexInput, ...]:
    out = []
    for account in settings.accounts:
        di = account.direct_index
        if di is not None:
            out.append(DirectIndexInput(account.id, load_constituents(Path(di.constituents)), tuple(di.exclude),
                                        di.tracking_error_budget, di.realized_gain_budget_usd))
    return tuple(out)


def symbols(specs: Sequence[DirectIndexInput]) -> set[str]:
    return {c.symbol for spec in specs for c in spec.constituents}


def window_end(as_of: date, calendar: str = "XNYS") -> date:
    """The month's first trading day (`as_of` itself when none precedes it): the stand-ins' ranking and the
    tracking-error estimate change once a month, as in the backtest (daemon.backtest.direct.Feed), so that
    a backtest's day plans what the daemon plans that day; a year of returns moves little in a month."""
    first = sessions(as_of.replace(day=1), as_of, calendar)
    return first[0].day if first else as_of


def correlation_days(settings: Settings) -> int:
    """The longest `correlation_days` of the configured direct indexes (0: none)."""
    return max((a.direct_index.correlation_days for a in settings.accounts if a.direct_index is not None),
               default=0)


def window_start(settings: Settings, as_of: date) -> date:
    """The first day whose close the trailing returns of `as_of` may need: `correlation_days` sessions before
    `window_end`, as calendar days with room to spare (a year of 252 returns needs 253 sessions, more than 366
    days when the exchange closed ten weekdays; trailing_returns keeps only the last days + 1 closes). Prices
    read from a broker must start here too, or a plan late in a month ranks on a shorter window."""
    end = window_end(as_of, settings.schedule.calendar)
    return end - timedelta(days=correlation_days(settings) * 3 // 2 + 14)


def returns(settings: Settings, prices: PriceBook, specs: Sequence[DirectIndexInput], as_of: date,
            held: set[str]) -> TrailingReturns | None:
    """Trailing daily returns of the constituents and the symbols held, over the longest `correlation_days`,
    ending on the first trading day of `as_of`'s month (`window_end`); None without any close."""
    if not specs:
        return None
    days = correlation_days(settings)
    end = window_end(as_of, settings.schedule.calendar)
    start = window_start(settings, as_of)
    closes = {s: c for s in sorted(symbols(specs) | held) if (c := prices.closes(s, start, as_of))}
    if any(day == end for series in closes.values() for day, _ in series):
        closes = {s: c for s, series in closes.items() if (c := [x for x in series if x[0] <= end])}
    # else the prices begin after the month's first trading day: the window ends on as_of until they cover it
    return trailing_returns(closes, days) if closes else None
