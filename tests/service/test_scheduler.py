"""Fire times from the exchange calendar, the APScheduler loop on a fake and a scaled clock, missed harvests.

The week of 2026-11-23 has both special cases: Thanksgiving (Thursday 11-26) has no session, and the day
after closes at 13:00, so its harvest fires at 12:45 with the default 15 minutes before the close.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from daemon.config.models import ScheduleConfig
from daemon.service import lease
from daemon.service.clock import Clock, FakeClock, ScaledClock, SystemClock
from daemon.service.daemon import Service
from daemon.service.scheduler import (
    GRACE,
    Run,
    check_calendar,
    grace,
    missed_harvests,
    next_of_each,
    next_runs,
    run_schedule,
    upcoming,
)
from daemon.store.db import make_engine, transaction
from daemon.store.models import Alert, HarvestRun
from tests.service.helpers import household

NY = ZoneInfo("America/New_York")
DEFAULT = ScheduleConfig()


def ny(day: int, hour: int, minute: int = 0, month: int = 11, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=NY)


THANKSGIVING_WEEK = [
    ("sync", ny(23, 10)), ("harvest", ny(23, 15, 45)),
    ("sync", ny(24, 10)), ("harvest", ny(24, 15, 45)),
    ("sync", ny(25, 10)), ("harvest", ny(25, 15, 45)),
    # 11-26 Thanksgiving: closed
    ("sync", ny(27, 10)), ("harvest", ny(27, 12, 45)),  # early close 13:00
    ("sync", ny(30, 10)), ("harvest", ny(30, 15, 45)),
]


def test_next_runs_over_a_week_with_a_holiday_and_an_early_close() -> None:
    runs = next_runs(ny(22, 12), DEFAULT, 10)  # from Sunday noon
    assert runs == THANKSGIVING_WEEK
    assert all(at.utcoffset() == timedelta(hours=-5) for _, at in runs)  # in the exchange's time zone


def test_next_runs_is_strictly_after() -> None:
    assert next_runs(ny(25, 15, 45), DEFAULT, 2) == [("sync", ny(27, 10)), ("harvest", ny(27, 12, 45))]
    assert next_runs(ny(25, 15, 44, ), DEFAULT, 1) == [("harvest", ny(25, 15, 45))]


def test_offsets_come_from_the_configuration() -> None:
    schedule = ScheduleConfig(minutes_before_close=30, sync_minutes_after_open=0)
    assert next_runs(ny(26, 0), schedule, 2) == [("sync", ny(27, 9, 30)), ("harvest", ny(27, 12, 30))]


def test_fire_times_follow_daylight_saving_time() -> None:
    # DST ends on Sunday 2026-11-01: 15:45 local is 19:45 UTC on Friday and 20:45 UTC on Monday.
    runs = next_runs(datetime(2026, 10, 30, 12, tzinfo=NY), DEFAULT, 3)
    assert runs == [("harvest", datetime(2026, 10, 30, 15, 45, tzinfo=NY)), ("sync", ny(2, 10)),
                    ("harvest", ny(2, 15, 45))]
    assert runs[0][1].utcoffset() == timedelta(hours=-4) and runs[2][1].utcoffset() == timedelta(hours=-5)


def test_the_session_is_the_calendars_day_in_any_time_zone() -> None:
    tokyo = ScheduleConfig(timezone="Asia/Tokyo")
    run = next(upcoming(ny(25, 15), tokyo))
    assert run.at == ny(25, 15, 45) and run.at.isoformat() == "2026-11-26T05:45:00+09:00"
    assert run.session == date(2026, 11, 25)


def test_next_of_each_is_what_the_daemon_logs() -> None:
    assert next_of_each(ny(25, 15, 44), DEFAULT) == {"harvest": ny(25, 15, 45), "sync": ny(27, 10)}
    assert next_of_each(ny(25, 15, 44), DEFAULT)["harvest"].isoformat() == "2026-11-25T15:45:00-05:00"


def test_describe_names_the_session_in_eastern_time() -> None:
    assert Run("harvest", ny(25, 15, 45)).describe() == "harvest for 2026-11-25 at 15:45 ET"


def test_grace_never_reaches_the_close() -> None:
    assert grace(Run("harvest", ny(25, 15, 45)), DEFAULT) == GRACE
    assert grace(Run("harvest", ny(25, 15, 59)), ScheduleConfig(minutes_before_close=1)) == timedelta(seconds=30)


def test_schedule_problems_are_reported_with_their_keys() -> None:
    assert check_calendar(DEFAULT) == []
    # The configuration itself refuses the time zone and the heartbeat (issue 12); built unchecked here, the
    # start-up check still names each key.
    problems = dict(check_calendar(ScheduleConfig.model_construct(calendar="NOPE", timezone="Mars/Olympus",
                                                                  heartbeat_seconds=60, lease_seconds=60)))
    assert set(problems) == {"schedule.calendar", "schedule.timezone", "schedule.heartbeat_seconds"}
    assert "got 'NOPE'" in problems["schedule.calendar"]


# --- the clocks in real time -------------------------------------------------------------------------------

def test_to_real_maps_each_clock_onto_the_wall_clock() -> None:
    assert SystemClock().to_real(ny(25, 15, 45)) == ny(25, 15, 45)
    scaled = ScaledClock(ny(25, 15, 44, second=30), speed=10)  # the subprocess test's clock
    assert scaled.to_real(ny(25, 15, 45)) == scaled.real_start + timedelta(seconds=3)
    assert scaled.to_real(ny(25, 15, 44)) == scaled.real_start - timedelta(seconds=3)
    assert abs(scaled.to_real(scaled.now()) - datetime.now(UTC)) < timedelta(seconds=0.5)
    fake = FakeClock(ny(25, 15, 48))  # a past instant that long ago; a future one as soon as it is waited for
    before = datetime.now(UTC)
    assert before - timedelta(minutes=3) <= fake.to_real(ny(25, 15, 45)) <= datetime.now(UTC) - timedelta(minutes=3)
    assert before <= fake.to_real(ny(27, 12, 45)) <= datetime.now(UTC)


# --- the APScheduler loop, on a fake clock: a simulated week in milliseconds, exact fire times -------------

def _drive(clock: Clock, fires: int, on_fire: dict[datetime, timedelta] | None = None,
           schedule: ScheduleConfig = DEFAULT, stop_on_miss: bool = False
           ) -> tuple[list[tuple[str, datetime]], list[tuple[str, datetime]]]:
    """Run the loop until `fires` runs fired; each fire records the clock's reading when it was called."""
    stop = threading.Event()
    fired: list[tuple[str, datetime]] = []
    missed: list[tuple[str, datetime]] = []

    def fire(run: Run) -> None:
        fired.append((run.kind, clock.now()))
        clock.sleep((on_fire or {}).get(run.at, timedelta(0)).total_seconds())  # a job that takes this long
        if len(fired) == fires:
            stop.set()

    def miss(run: Run) -> None:
        missed.append((run.kind, run.at))
        if stop_on_miss:
            stop.set()

    run_schedule(clock, schedule, stop, fire, miss)
    return fired, missed


def test_simulated_week_fires_at_the_exact_times() -> None:
    fired, missed = _drive(FakeClock(ny(22, 12)), fires=10)
    assert fired == THANKSGIVING_WEEK
    assert missed == []


def test_a_run_later_than_its_grace_is_reported_not_replayed() -> None:
    # The 10:00 sync on 11-25 "takes" six hours (or the machine slept): the 15:45 harvest is 30 minutes late
    # when the loop gets to it, so it is reported as missed; the next session's runs fire on time.
    fired, missed = _drive(FakeClock(ny(25, 9)), fires=3, on_fire={ny(25, 10): timedelta(hours=6, minutes=15)})
    assert fired == [("sync", ny(25, 10)), ("sync", ny(27, 10)), ("harvest", ny(27, 12, 45))]
    assert missed == [("harvest", ny(25, 15, 45))]


def test_a_run_due_within_its_grace_at_start_up_fires_at_once() -> None:
    fired, missed = _drive(FakeClock(ny(25, 15, 48)), fires=1)
    assert fired == [("harvest", ny(25, 15, 48))] and missed == []


def test_stop_ends_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    clock = FakeClock(ny(25, 9))
    run_schedule(clock, DEFAULT, stop, lambda run: pytest.fail("fired"), lambda run: pytest.fail("missed"))
    assert clock.now() == ny(25, 9)


def test_stop_waits_for_the_running_job_and_fires_nothing_after_it() -> None:
    stop = threading.Event()
    done: list[datetime] = []
    clock = FakeClock(ny(25, 15, 44))

    def fire(run: Run) -> None:
        stop.set()  # SIGTERM during the harvest
        time.sleep(0.3)
        done.append(run.at)

    run_schedule(clock, DEFAULT, stop, fire, lambda run: pytest.fail("missed"))
    assert done == [ny(25, 15, 45)]  # finished before run_schedule returned; the next sync never fired


def test_a_failing_job_ends_the_loop_with_its_exception() -> None:
    class Boom(Exception):
        pass

    def fire(run: Run) -> None:
        raise Boom(run.describe())

    with pytest.raises(Boom, match="harvest for 2026-11-25 at 15:45 ET"):
        run_schedule(FakeClock(ny(25, 15, 44)), DEFAULT, threading.Event(), fire, lambda run: pytest.fail("missed"))


# --- the APScheduler loop, on real time ---------------------------------------------------------------------

def test_on_a_scaled_clock_the_run_fires_at_its_real_time() -> None:
    clock = ScaledClock(ny(25, 15, 44, second=55), speed=50)  # the 15:45 harvest is 0.1 s of real time away
    started = time.monotonic()
    fired, missed = _drive(clock, fires=1)
    assert [kind for kind, _ in fired] == ["harvest"] and missed == []
    assert ny(25, 15, 45) <= fired[0][1] < ny(25, 15, 45) + GRACE  # never early, on the clock
    assert time.monotonic() - started >= 0.09


def test_on_a_scaled_clock_a_run_later_than_its_grace_on_the_clock_is_missed() -> None:
    # Sync 11:50, harvest 12:00 (240 minutes before the close). At 1000x, the sync "takes" 16 minutes (0.96 s):
    # the harvest is 6 minutes late on the clock though APScheduler's grace, in whole real seconds, is not up.
    schedule = ScheduleConfig(sync_minutes_after_open=140, minutes_before_close=240)
    clock = ScaledClock(ny(25, 11, 49, second=59), speed=1000)
    fired, missed = _drive(clock, fires=99, on_fire={ny(25, 11, 50): timedelta(minutes=16)}, schedule=schedule,
                           stop_on_miss=True)
    assert [kind for kind, _ in fired] == ["sync"] and ny(25, 11, 50) <= fired[0][1] < ny(25, 11, 55)
    assert missed == [("harvest", ny(25, 12))]


def test_stop_ends_an_idle_wait_on_the_system_clock_promptly() -> None:
    stop = threading.Event()
    loop = threading.Thread(target=run_schedule, args=(SystemClock(), DEFAULT, stop, lambda run: None,
                                                       lambda run: None))
    loop.start()
    time.sleep(0.3)
    stopping = time.monotonic()
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive() and time.monotonic() - stopping < 2  # it checks every 0.25 s


# --- missed harvests at start-up ---------------------------------------------------------------------------

@pytest.mark.parametrize("last, now, expected", [
    (None, ny(27, 11), []),  # never harvested: a new installation missed nothing
    (date(2026, 11, 24), ny(27, 11), [ny(25, 15, 45)]),  # down from 11-25 morning to 11-27 11:00
    (date(2026, 11, 24), ny(25, 15, 48), []),  # within the grace: the loop still fires it
    (date(2026, 11, 24), ny(25, 15, 51), [ny(25, 15, 45)]),
    (date(2026, 11, 25), ny(30, 9), [ny(27, 12, 45)]),  # the early close's harvest
    (date(2026, 10, 1), ny(30, 9), [ny(20, 15, 45), ny(23, 15, 45), ny(24, 15, 45), ny(25, 15, 45),
                                    ny(27, 12, 45)]),  # only the last five sessions
])
def test_missed_harvests(last: date | None, now: datetime, expected: list[datetime]) -> None:
    assert [r.at for r in missed_harvests(last, now, DEFAULT)] == expected
    assert all(r.kind == "harvest" for r in missed_harvests(last, now, DEFAULT))


def _run(engine: object, day: date, mode: str = "paper") -> HarvestRun:
    stamp = datetime(2026, 11, 24, 21, tzinfo=NY)
    return HarvestRun(id=f"r-{day}-{mode}", household_id=None, as_of=day, mode=mode, status="executed",
                      started_at=stamp, finished_at=stamp, plan={"pairs": []})


def _earlier_daemon(db_url: str) -> None:
    """A daemon held the lease on this database before (and stopped)."""
    engine = make_engine(db_url)
    try:
        assert lease.acquire(engine, "earlier:1:abc", ny(24, 9), timedelta(seconds=60))
        assert lease.release(engine, "earlier:1:abc", ny(24, 22))
    finally:
        engine.dispose()


def test_the_first_start_of_a_daemon_missed_nothing(tmp_path: Path, db_url: str) -> None:
    # The demo: harvests run by hand (a dry run on an old day), then the first `tlh run`.
    settings, _, _ = household(tmp_path, db_url)
    settings = settings.model_copy(update={"mode": "dry-run"})
    service = Service(settings, FakeClock(ny(27, 11)), threading.Event())
    try:
        with transaction(service.engine) as session:
            session.add(_run(service.engine, date(2026, 11, 20), mode="dry-run"))
        assert service.report_missed() == []
        with transaction(service.engine) as session:
            assert session.scalars(sa.select(Alert).where(Alert.kind == "missed_harvest")).all() == []
    finally:
        service.engine.dispose()
    _earlier_daemon(db_url)  # once a daemon has run, the sessions after the last harvest were missed
    service = Service(settings, FakeClock(ny(27, 11)), threading.Event())
    try:
        assert [r.session for r in service.report_missed()] == [date(2026, 11, d) for d in (23, 24, 25)]
    finally:
        service.engine.dispose()


def test_start_up_reports_each_missed_harvest_once(tmp_path: Path, db_url: str) -> None:
    settings, _, _ = household(tmp_path, db_url)
    _earlier_daemon(db_url)
    service = Service(settings, FakeClock(ny(27, 11)), threading.Event())
    try:
        with transaction(service.engine) as session:
            session.add(_run(service.engine, date(2026, 11, 24)))
            session.add(_run(service.engine, date(2026, 11, 25), mode="dry-run"))  # another mode: not a harvest
        assert [r.describe() for r in service.report_missed()] == ["harvest for 2026-11-25 at 15:45 ET"]
        assert service.report_missed() == []  # a restart does not report it again
        with transaction(service.engine) as session:
            alerts = session.scalars(sa.select(Alert).where(Alert.kind == "missed_harvest")).all()
        assert len(alerts) == 1 and alerts[0].message.startswith("missed harvest for 2026-11-25 at 15:45 ET: ")
        assert alerts[0].severity == "warning" and alerts[0].data["session"] == "2026-11-25"
        assert alerts[0].data["scheduled_at"] == "2026-11-25T15:45:00-05:00"
    finally:
        service.engine.dispose()


def test_a_session_already_harvested_is_not_harvested_again(tmp_path: Path, db_url: str) -> None:
    # A standby taking over (or a restart) within the grace after the leader harvested must not trade twice.
    settings, _, _ = household(tmp_path, db_url)
    service = Service(settings, FakeClock(ny(25, 15, 46)), threading.Event())
    try:
        with transaction(service.engine) as session:
            session.add(_run(service.engine, date(2026, 11, 25)))
        service.fire(Run("harvest", ny(25, 15, 45)))
        with transaction(service.engine) as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(HarvestRun)) == 1
    finally:
        service.engine.dispose()
