"""When the daemon works: fire times from the exchange calendar, and the loop that waits for them.

Each session gets a sync `sync_minutes_after_open` after the open and a harvest `minutes_before_close` before
the close, in the exchange's time zone; holidays have no session and early closes (13:00) move the harvest
with them. A run is fired late only within a grace period; beyond it, it is reported as missed and never
replayed into a later session (a harvest on a stale day's plan would trade on the wrong prices).

Why not APScheduler's scheduler: APScheduler 3 reads the wall clock itself (`datetime.now` in its main
loop), so an injected clock could not drive it and the tests could not assert fire times by running the real
loop. The same semantics are kept explicit here: date-based fire times from the calendar (no cron rule that
ignores holidays), `GRACE` as the misfire grace time, no catch-up of missed runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import structlog

from daemon.config.models import ScheduleConfig
from daemon.service.clock import Clock

log = structlog.get_logger(__name__)

HARVEST, SYNC = "harvest", "sync"
GRACE = timedelta(minutes=5)  # a run this late still fires (misfire grace time)
NAP = 30.0  # longest single sleep, in clock seconds: the loop re-reads the clock (suspend, DST) this often
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


@lru_cache(maxsize=4)
def _calendar(name: str, year: int) -> xcals.ExchangeCalendar:
    # An explicit window around the year asked about: the library's default window moves with today's date,
    # which would make a fixed date's schedule (and the tests) depend on when they run.
    return xcals.get_calendar(name, start=f"{year - 1}-01-01", end=f"{year + 1}-12-31")


def check_calendar(schedule: ScheduleConfig) -> list[tuple[str, str]]:
    """Configuration problems of `[schedule]`, as (key, message), for the start-up validation."""
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
    cal = _calendar(schedule.calendar, start.year)
    lo, hi = max(start, cal.first_session.date()), min(end, cal.last_session.date())
    if lo > hi:
        return []
    tz = ZoneInfo(schedule.timezone)
    runs = []
    for label in cal.sessions_in_range(lo.isoformat(), hi.isoformat()):
        opens = cal.session_open(label).to_pydatetime().astimezone(tz)
        closes = cal.session_close(label).to_pydatetime().astimezone(tz)
        day = label.date()
        runs.append(Run(SYNC, opens + timedelta(minutes=schedule.sync_minutes_after_open), day))
        runs.append(Run(HARVEST, closes - timedelta(minutes=schedule.minutes_before_close), day))
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


def run_schedule(clock: Clock, schedule: ScheduleConfig, stop: threading.Event, fire: Callable[[Run], None],
                 missed: Callable[[Run], None]) -> None:
    """Wait for each run on `clock` and fire it, until `stop` is set. A run found later than its grace (the
    machine slept, a previous job overran) goes to `missed` instead. Runs already due within their grace when
    the loop starts fire at once. Exceptions from `fire` propagate: the caller decides what is fatal."""
    cursor = clock.now() - GRACE
    _log_next(cursor, schedule)
    while not stop.is_set():
        run = next(upcoming(cursor, schedule), None)
        if run is None:
            log.error("schedule.calendar_exhausted", calendar=schedule.calendar, after=cursor.isoformat())
            stop.wait()
            return
        while (left := (run.at - clock.now()).total_seconds()) > 0:
            if clock.wait(min(left, NAP), stop):
                return
        late = clock.now() - run.at
        if late > grace(run, schedule):
            log.warning("schedule.missed", kind=run.kind, session=str(run.session), at=run.at.isoformat(),
                        late_seconds=round(late.total_seconds()))
            missed(run)
        else:
            log.info("schedule.fire", kind=run.kind, session=str(run.session), at=run.at.isoformat(),
                     late_seconds=round(late.total_seconds(), 1))
            fire(run)
        cursor = run.at
        _log_next(max(cursor, clock.now() - GRACE), schedule)


def _log_next(after: datetime, schedule: ScheduleConfig) -> None:
    nxt = next_of_each(after, schedule)
    log.info("schedule.next", next_harvest=nxt[HARVEST].isoformat() if HARVEST in nxt else None,
             next_sync=nxt[SYNC].isoformat() if SYNC in nxt else None, timezone=schedule.timezone)
