"""The exchange calendar (exchange_calendars, XNYS by default): sessions, opens and closes, early closes and
holidays included. Times are timezone-aware; trade dates are the exchange's local dates.

exchange_calendars (and pandas under it: half a second and 50 MB) is imported by the first function that
needs a session, not by `trade_date`, which every fill and trade goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import exchange_calendars as xcals
    import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class Session:
    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        return self.close.astimezone(NEW_YORK).hour < 16


@lru_cache(maxsize=4)
def calendar(name: str = "XNYS") -> xcals.ExchangeCalendar:
    import exchange_calendars as xcals

    return xcals.get_calendar(name)


def _session(cal: xcals.ExchangeCalendar, label: pd.Timestamp) -> Session:
    return Session(day=label.date(), open=cal.session_open(label).to_pydatetime(),
                   close=cal.session_close(label).to_pydatetime())


def sessions(start: date, end: date, name: str = "XNYS") -> list[Session]:
    cal = calendar(name)
    lo, hi = max(start, cal.first_session.date()), min(end, cal.last_session.date())
    if lo > hi:
        return []
    return [_session(cal, label) for label in cal.sessions_in_range(lo.isoformat(), hi.isoformat())]


def is_session(day: date, name: str = "XNYS") -> bool:
    return bool(calendar(name).is_session(day.isoformat()))


def trade_date(moment: datetime, tz: ZoneInfo = NEW_YORK) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return moment.astimezone(tz).date()


def exchange_time(moment: datetime, tz: ZoneInfo = NEW_YORK) -> time:
    """The time of day on the exchange's clock (the ledger orders a day's events by it)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return moment.astimezone(tz).time()


def next_session(after: datetime, name: str = "XNYS") -> Session | None:
    """The first session whose close is after `after`."""
    day = trade_date(after)
    for s in sessions(day, day + timedelta(days=14), name):
        if s.close > after:
            return s
    return None
