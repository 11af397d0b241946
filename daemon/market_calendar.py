"""The exchange calendar (exchange_calendars, XNYS by default): sessions, opens and closes, early closes and
holidays included. Times are timezone-aware; trade dates are the exchange's local dates.

exchange_calendars (and pandas under it: half a second and 50 MB) is imported by the first function that
needs a session, not by `trade_date`, which every fill and trade goes through.

`window_sessions` (the scheduler's fire times, `tlh status`'s next sync and harvest) keeps what
exchange_calendars answered for a window of years in a small file of the user's cache folder
(`$XDG_CACHE_HOME/tlh-daemon/calendars`), named after the calendar, the library's version and the years: a
later process reads the sessions there instead of loading pandas. The calendar stays exchange_calendars' own:
the file holds its answer for exactly that window and version (a new version, or another window, asks it
again), and a file that cannot be read or does not match is ignored and rewritten."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
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


CACHE_FORMAT = 1  # bump when the file's layout changes: older files are ignored


def _library_version() -> str:
    from importlib.metadata import version

    return version("exchange_calendars")


def _cache_file(name: str, first_year: int, last_year: int, library: str) -> Path:
    from daemon.files import cache_folder

    return cache_folder("calendars") / f"{name}-{library}-{first_year}-{last_year}.json"


def _from_library(name: str, first_year: int, last_year: int) -> tuple[Session, ...]:
    import exchange_calendars as xcals

    # An explicit window: the library's default one moves with today's date, which would make a fixed date's
    # sessions depend on when they are asked for.
    cal = xcals.get_calendar(name, start=f"{first_year}-01-01", end=f"{last_year}-12-31")
    schedule = cal.schedule
    return tuple(Session(day=label.date(), open=o.to_pydatetime(), close=c.to_pydatetime())
                 for label, o, c in zip(schedule.index, schedule["open"], schedule["close"], strict=True))


def _read_cache(path: Path, key: dict[str, object]) -> tuple[Session, ...] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or {k: data.get(k) for k in key} != key:
            return None
        return tuple(Session(day=date.fromordinal(day), open=datetime.fromtimestamp(o, UTC),
                             close=datetime.fromtimestamp(c, UTC)) for day, o, c in data["sessions"])
    except (OSError, ValueError, TypeError, KeyError, OverflowError):
        return None  # missing, partial or foreign: ask the library


def _write_cache(path: Path, key: dict[str, object], found: tuple[Session, ...]) -> None:
    data = {**key, "sessions": [[s.day.toordinal(), int(s.open.timestamp()), int(s.close.timestamp())]
                                for s in found]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)  # readers see the whole file or none
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()  # a read-only cache folder: the sessions are asked for again next time


@lru_cache(maxsize=8)
def window_sessions(first_year: int, last_year: int, name: str = "XNYS") -> tuple[Session, ...]:
    """Every session of calendar `name` from `first_year`-01-01 to `last_year`-12-31, exactly as
    exchange_calendars gives them for that window (opens and closes in UTC, early closes included); from the
    cache file when one was written for this window and library version (see the module doc)."""
    library = _library_version()
    key: dict[str, object] = {"format": CACHE_FORMAT, "calendar": name, "exchange_calendars": library,
                              "first_year": first_year, "last_year": last_year}
    path = _cache_file(name, first_year, last_year, library)
    found = _read_cache(path, key)
    if found is None:
        found = _from_library(name, first_year, last_year)
        _write_cache(path, key, found)
    return found


@lru_cache(maxsize=8)
def _session_days(first_year: int, last_year: int, name: str) -> frozenset[date]:
    return frozenset(s.day for s in window_sessions(first_year, last_year, name))


def is_session_day(day: date, name: str = "XNYS") -> bool:
    """Whether the exchange trades on `day`: exchange_calendars' answer for the years around it, from the
    cache file of `window_sessions` after the first time."""
    return day in _session_days(day.year - 1, day.year + 1, name)


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
