"""When the daemon works: fire times from the exchange calendar, and APScheduler firing them.

Each session gets a sync `sync_minutes_after_open` after the open and a harvest `minutes_before_close` before
the close, in the exchange's time zone; holidays have no session and early closes (13:00) move the harvest
with them. A run is fired late only within a grace period; beyond it, it is reported as missed and never
replayed into a later session (a harvest on a stale day's plan would trade on the wrong prices).

The runs are fired by APScheduler 3: a `BackgroundScheduler` with a single worker thread (jobs never
overlap) holding one `DateTrigger` job at a time, the next run, which a listener on executed/failed/missed
jobs adds as the previous one ends (date-based fire times from the calendar: no cron rule that ignores
holidays). Jobs are `coalesce`d, `max_instances=1`, with `grace(run)` as misfire grace time; a missed run is
reported, never run late.

Real time: APScheduler reads the wall clock (`datetime.now` in its main loop and executor), while the
daemon's clock is injected. Each run is therefore scheduled at `clock.to_real(run.at)`: the same instant on
the system clock, `real_start + (at - start) / speed` on the accelerated clock of `--clock-start`/
`--clock-speed`, "now" for a fake clock's future instants (it jumps when waited on). APScheduler counts its
grace in whole real seconds, too coarse for an accelerated clock, so a started job first waits on the
injected clock until `run.at` (never firing early) and measures its lateness there: beyond the grace it does
not fire and is reported missed, like an APScheduler misfire. Jobs see the injected clock's time; a run's
trading day is its session.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from daemon.config.models import ScheduleConfig
from daemon.service.clock import Clock
from daemon.service.timetable import (  # noqa: F401 - the scheduler's calendar side, imported from here too
    GRACE,
    HARVEST,
    LOOKBACK_SESSIONS,
    SYNC,
    Run,
    check_calendar,
    grace,
    missed_harvests,
    next_of_each,
    next_runs,
    upcoming,
)

log = structlog.get_logger(__name__)
# What APScheduler's executor would log (job missed, job raised) reaches `_Loop.on_event` as an event and is
# logged there, in the daemon's format; its plain-text copies would only break up the JSON lines.
logging.getLogger("apscheduler.executors").addHandler(logging.NullHandler())
logging.getLogger("apscheduler.executors").propagate = False

POLL = 0.25  # real seconds: how often the waiting thread looks for a failed job (a stop wakes it at once)
# Real seconds: APScheduler's timer is monotonic and stands still while the machine sleeps; waking it this
# often makes it re-read the wall clock, so a run due during a suspend is found (and missed) soon after.
NAP = 30.0
FIRED, LATE, STOPPED = "fired", "late", "stopped"  # what a job did


def run_schedule(clock: Clock, schedule: ScheduleConfig, stop: threading.Event, fire: Callable[[Run], None],
                 missed: Callable[[Run], None]) -> None:
    """Fire each run at its time on `clock` until `stop` is set, then return once the running job finished. A
    run found later than its grace (the machine slept, a previous job overran) goes to `missed` instead. Runs
    already due within their grace when the loop starts fire at once. Exceptions from `fire` propagate: the
    caller decides what is fatal."""
    _Loop(clock, schedule, stop, fire, missed).run()


class _Loop:
    """A `BackgroundScheduler` holding one `DateTrigger` job: the next run, added when the last one ended."""

    def __init__(self, clock: Clock, schedule: ScheduleConfig, stop: threading.Event, fire: Callable[[Run], None],
                 missed: Callable[[Run], None]):
        self.clock, self.schedule, self.stop, self.fire, self.missed = clock, schedule, stop, fire, missed
        self.pending: dict[str, Run] = {}
        self.failure: BaseException | None = None
        # Adding a job and shutting down exclude each other: `shutdown` holds APScheduler's job store lock
        # while it waits for the running job, whose listener would add the next job under that same lock.
        self.lock = threading.Lock()
        self.closing = False
        self.aps = BackgroundScheduler(executors={"default": ThreadPoolExecutor(max_workers=1)},
                                       job_defaults={"coalesce": True, "max_instances": 1}, timezone=UTC)
        self.aps.add_listener(self.on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def run(self) -> None:
        cursor = self.clock.now() - GRACE
        _log_next(cursor, self.schedule)
        if self.stop.is_set():
            return
        self.aps.start()
        try:
            with self.lock:
                self.add(cursor)
            polls = 0
            while self.failure is None and not self.stop.wait(POLL):
                polls += 1
                if polls % round(NAP / POLL) == 0:
                    self.aps.wakeup()
        finally:
            with self.lock:
                self.closing = True
            self.aps.shutdown(wait=True)  # once the running job, if any, has finished
        if self.failure is not None:
            raise self.failure

    def add(self, after: datetime) -> None:
        """Schedule the first run after `after` at its real time (with `lock` held)."""
        if self.closing:
            return
        run = next(upcoming(after, self.schedule), None)
        if run is None:
            log.error("schedule.calendar_exhausted", calendar=self.schedule.calendar, after=after.isoformat())
            return
        at = self.clock.to_real(run.at)
        allowed = grace(run, self.schedule)
        # In real seconds, whole ones (APScheduler's unit), never shorter than on the clock; the job measures
        # its lateness on the clock itself (`job`), which is finer on an accelerated clock.
        real = max(allowed, self.clock.to_real(run.at + allowed) - at)
        job_id = f"{run.kind}@{run.at.isoformat()}"
        self.pending[job_id] = run
        self.aps.add_job(self.job, DateTrigger(run_date=at, timezone=UTC), args=(run,), id=job_id,
                         name=run.describe(), misfire_grace_time=max(1, math.ceil(real.total_seconds())))

    def job(self, run: Run) -> str:
        """Runs on the scheduler's single worker: reach `run.at` on the clock (a real timer may be a moment
        early on a scaled clock; a fake clock jumps there), then fire, unless shutting down or too late."""
        while (left := (run.at - self.clock.now()).total_seconds()) > 0:
            if self.clock.wait(left, self.stop):
                return STOPPED
        if self.stop.is_set():
            return STOPPED
        late = self.clock.now() - run.at
        if late > grace(run, self.schedule):
            return LATE
        log.info("schedule.fire", kind=run.kind, session=str(run.session), at=run.at.isoformat(),
                 late_seconds=round(late.total_seconds(), 1))
        self.fire(run)
        return FIRED

    def on_event(self, event: JobExecutionEvent) -> None:
        """Executed, failed or missed (by APScheduler's misfire check, or late on the clock): report a miss,
        then schedule the run after this one. A missed run is never replayed."""
        run = self.pending.pop(event.job_id, None)
        if run is None:
            return
        try:
            if event.code == EVENT_JOB_ERROR:
                self.failure = event.exception  # handed to the waiting thread, which stops and raises it
                return
            outcome = LATE if event.code == EVENT_JOB_MISSED else event.retval
            if outcome == STOPPED:
                return
            if outcome == LATE:
                log.warning("schedule.missed", kind=run.kind, session=str(run.session), at=run.at.isoformat(),
                            late_seconds=round((self.clock.now() - run.at).total_seconds()))
                self.missed(run)
            with self.lock:
                self.add(run.at)
            _log_next(max(run.at, self.clock.now() - GRACE), self.schedule)
        except Exception as exc:  # APScheduler would only log it, and no next run would be scheduled
            self.failure = exc


def _log_next(after: datetime, schedule: ScheduleConfig) -> None:
    nxt = next_of_each(after, schedule)
    log.info("schedule.next", next_harvest=nxt[HARVEST].isoformat() if HARVEST in nxt else None,
             next_sync=nxt[SYNC].isoformat() if SYNC in nxt else None, timezone=schedule.timezone)
