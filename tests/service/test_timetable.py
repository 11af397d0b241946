"""The exchange sessions behind the fire times (`market_calendar.window_sessions`): exchange_calendars' own
answer, kept in a cache file so that `tlh status` need not load pandas; never anything else than what the
library says for that window and version."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import market_calendar
from daemon.config.models import ScheduleConfig
from daemon.service.timetable import next_of_each

NY = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    market_calendar.window_sessions.cache_clear()
    yield tmp_path / "cache" / "tlh-daemon" / "calendars"
    market_calendar.window_sessions.cache_clear()


def library(first: int, last: int) -> list[tuple[date, datetime, datetime]]:
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XNYS", start=f"{first}-01-01", end=f"{last}-12-31")
    return [(label.date(), cal.session_open(label).to_pydatetime(), cal.session_close(label).to_pydatetime())
            for label in cal.sessions]


def test_the_cached_sessions_are_the_librarys_for_the_window(cache_home: Path) -> None:
    first = market_calendar.window_sessions(2025, 2027)
    (written,) = cache_home.iterdir()
    assert written.name == f"XNYS-{market_calendar._library_version()}-2025-2027.json"
    market_calendar.window_sessions.cache_clear()
    again = market_calendar.window_sessions(2025, 2027)  # from the file this time
    expected = library(2025, 2027)
    assert [(s.day, s.open, s.close) for s in first] == expected == [(s.day, s.open, s.close) for s in again]
    by_day = {s.day: s for s in again}
    # Thanksgiving closed, the day after an early close at 13:00 New York time, Christmas Eve too.
    assert date(2026, 11, 26) not in by_day and date(2026, 12, 25) not in by_day
    assert by_day[date(2026, 11, 27)].close.astimezone(NY).hour == 13 and by_day[date(2026, 11, 27)].early_close
    assert by_day[date(2026, 12, 24)].early_close and not by_day[date(2026, 12, 23)].early_close
    assert by_day[date(2026, 7, 6)].open.astimezone(NY).strftime("%H:%M") == "09:30"


def test_a_file_that_does_not_match_is_ignored_and_rewritten(cache_home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    market_calendar.window_sessions(2025, 2027)
    (path,) = cache_home.iterdir()
    data = json.loads(path.read_text())
    # A doctored file (a holiday made a session) under another version's key is not this version's truth.
    data["exchange_calendars"] = "0.0"
    data["sessions"].append([date(2026, 11, 26).toordinal(), 1, 2])
    path.write_text(json.dumps(data))
    market_calendar.window_sessions.cache_clear()
    assert date(2026, 11, 26) not in {s.day for s in market_calendar.window_sessions(2025, 2027)}
    assert json.loads(path.read_text())["exchange_calendars"] == market_calendar._library_version()
    path.write_text('{"truncated')
    market_calendar.window_sessions.cache_clear()
    assert len(market_calendar.window_sessions(2025, 2027)) == len(library(2025, 2027))
    # Another version of the library is another file: it is asked again.
    monkeypatch.setattr(market_calendar, "_library_version", lambda: "99.1")
    market_calendar.window_sessions.cache_clear()
    market_calendar.window_sessions(2025, 2027)
    assert sorted(p.name for p in cache_home.iterdir()) == [path.name, "XNYS-99.1-2025-2027.json"]


def test_a_cache_folder_that_cannot_be_written_only_costs_the_library_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "not-a-folder").write_text("")  # even root cannot make folders under a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    assert len(market_calendar.window_sessions(2025, 2027)) == len(library(2025, 2027))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_the_next_runs_are_the_same_from_the_file() -> None:
    after = datetime(2026, 11, 25, 16, 0, tzinfo=NY)  # Wednesday after the close, before Thanksgiving
    first = next_of_each(after, ScheduleConfig())
    market_calendar.window_sessions.cache_clear()
    assert next_of_each(after, ScheduleConfig()) == first == {
        "sync": datetime(2026, 11, 27, 10, 0, tzinfo=NY), "harvest": datetime(2026, 11, 27, 12, 45, tzinfo=NY)}


def test_is_session_day_is_the_librarys_answer_across_a_year_end() -> None:
    expected = {d for d, _, _ in library(2026, 2028)}
    days = [date(2026, 12, 20).fromordinal(date(2026, 12, 20).toordinal() + i) for i in range(20)]
    assert [market_calendar.is_session_day(d) for d in days] == [d in expected for d in days]
    assert not market_calendar.is_session_day(date(2026, 12, 25)) and not market_calendar.is_session_day(
        date(2027, 1, 1)) and market_calendar.is_session_day(date(2026, 12, 31))
