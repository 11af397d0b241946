"""When the daemon works, from the exchange calendar: each session gets a sync `sync_minutes_after_open` after
the open and a harvest `minutes_before_close` before the close, in the configured time zone; holidays have no
session and early closes (13:00) move the harvest with them. `daemon.service.scheduler` fires these runs;
`tlh status` and the dashboard show the next ones.

The sessions come from `daemon.market_calendar.window_sessions` (exchange_calendars' answer, kept in a cache
file), so computing the next runs does not load pandas once the window's file exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from daemon import market_calendar

if TYPE_CHECKING:
    from daemon.config.models import ScheduleConfig

HARVEST, SYNC = "harvest", "sync"
GRACE = timedelta(minutes=5)  # a run this late still fires (misfire grace time)
LOOKBACK_SESSIONS = 5  # at start-up, missed harvests are looked for this many sessions back, no further
_CHUNK = timedelta(days=14)


class Run(NamedTuple):
    kind: str  # "harvest" | "sync"
    at: datetime  # in the configured time zone (the exchange's)
    day: date | None = None  # the session's own date, from the calendar

    @property
    def session(self) -> date:
        # The calendar's date, not the fire time's: a time zone far from the exchange's can change the day.
        return self.day if self.day is not None else self.at.date()

    def describe(self) -> str:
        """`harvest for 2026-11-25 at 15:45 ET`."""
        zone = "ET" if getattr(self.at.tzinfo, "key", "") == "America/New_York" else self.at.tzname()
        return f"{self.kind} for {self.session} at {self.at:%H:%M} {zone}"


def check_calendar(schedule: ScheduleConfig) -> list[tuple[str, str]]:
    """Configuration problems of `[schedule]`, as (key, message), for the start-up validation."""
    import exchange_calendars as xcals  # config checks only: the fire times come from market_calendar

    problems: list[tuple[str, str]] = []
    if schedule.calendar not in xcals.get_calendar_names():
        problems.append(("schedule.calendar", f"unknown exchange calendar (e.g. XNYS), got {schedule.calendar!r}"))
    try:
        ZoneInfo(schedule.timezone)
    except (KeyError, ValueError):
        problems.append(("schedule.timezone", f"unknown time zone (e.g. America/New_York), got {schedule.timezone!r}"))
    if schedule.heartbeat_seconds >= schedule.lease_seconds:
        problems.append(("schedule.heartbeat_seconds", f"must be less than schedule.lease_seconds "
                         f"({schedule.lease_seconds}) or the lease expires between heartbeats, "
                         f"got {schedule.heartbeat_seconds}"))
    return problems


def _session_runs(start: date, end: date, schedule: ScheduleConfig) -> list[Run]:
    # A window of years around the start's: the same sessions whenever they are asked for (the library's
    # default window moves with today's date), read from market_calendar's cache after the first time.
    tz = ZoneInfo(schedule.timezone)
    runs = []
    for s in market_calendar.window_sessions(start.year - 1, start.year + 1, schedule.calendar):
        if not start <= s.day <= end:
            continue
        opens, closes = s.open.astimezone(tz), s.close.astimezone(tz)
        runs.append(Run(SYNC, opens + timedelta(minutes=schedule.sync_minutes_after_open), s.day))
        runs.append(Run(HARVEST, closes - timedelta(minutes=schedule.minutes_before_close), s.day))
    # Same instant: the sync first, so the harvest plans on fresh fills.
    return sorted(runs, key=lambda r: (r.at, r.kind != SYNC))


def upcoming(after: datetime, schedule: ScheduleConfig) -> Iterator[Run]:
    """Every run strictly after `after`, in time order, as far as the calendar goes (about a year ahead)."""
    day = after.astimezone(ZoneInfo(schedule.timezone)).date() - timedelta(days=1)
    empty = 0
    while empty < 4:  # eight empty weeks: past the calendar's end
        runs = [r for r in _session_runs(day, day + _CHUNK - timedelta(days=1), schedule) if r.at > after]
        empty = 0 if runs else empty + 1
        yield from runs
        day += _CHUNK


def next_runs(after: datetime, schedule: ScheduleConfig, n: int) -> list[tuple[str, datetime]]:
    """The next `n` fire times after `after`: [("sync", 2026-11-25 10:00-05:00), ("harvest", ...), ...]."""
    out: list[tuple[str, datetime]] = []
    for run in upcoming(after, schedule):
        if len(out) >= n:
            break
        out.append((run.kind, run.at))
    return out


def next_of_each(after: datetime, schedule: ScheduleConfig) -> dict[str, datetime]:
    """The next harvest and the next sync after `after` (what the daemon logs as next_harvest/next_sync)."""
    found: dict[str, datetime] = {}
    for run in upcoming(after, schedule):
        found.setdefault(run.kind, run.at)
        if len(found) == 2:
            break
    return found


def grace(run: Run, schedule: ScheduleConfig) -> timedelta:
    """How late `run` may still fire: `GRACE`, and for a harvest never past half its time to the close."""
    if run.kind == HARVEST:
        return min(GRACE, timedelta(minutes=schedule.minutes_before_close) / 2)
    return GRACE


def missed_harvests(last_harvested: date | None, now: datetime, schedule: ScheduleConfig) -> list[Run]:
    """Harvests that should have fired after the session `last_harvested` and more than `GRACE` before `now`
    (the loop itself still fires one within its grace). Nothing when nothing was ever harvested: a new
    installation missed nothing. Only the last `LOOKBACK_SESSIONS` sessions are considered."""
    if last_harvested is None:
        return []
    cutoff = now - GRACE
    start = max(datetime.combine(last_harvested + timedelta(days=1), datetime.min.time(), ZoneInfo(schedule.timezone)),
                now - timedelta(days=LOOKBACK_SESSIONS * 2 + 10))
    due = []
    for run in upcoming(start - timedelta(microseconds=1), schedule):
        if run.at > cutoff:
            break
        if run.kind == HARVEST and run.session > last_harvested:
            due.append(run)
    return due[-LOOKBACK_SESSIONS:]
