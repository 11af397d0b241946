"""The live daemon's trailing returns for a direct index end on the month's first trading day, as the
backtest's do: without it the live cycle ranked stand-ins on a window the backtest never saw, and chose
other replacements than the backtest on most days of a month (found by tests/soak/test_live_vs_backtest)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from daemon import direct_index
from daemon.config import load_settings
from daemon.market_calendar import sessions
from daemon.prices import parse

DAYS = [s.day for s in sessions(date(2024, 1, 2), date(2024, 3, 28))]


def _settings(tmp_path: Path) -> object:
    (tmp_path / "index.csv").write_text("symbol,weight,sector,sub_industry\nAAA,,Energy,Oil\nBBB,,Energy,Oil\n")
    (tmp_path / "tlh.toml").write_text("""
substitutes = ""
[[accounts]]
id = "di"
household = "h"
lot_method = "specific"
[accounts.direct_index]
constituents = "index.csv"
correlation_days = 20
""")
    return load_settings(tmp_path / "tlh.toml")


def _prices(jump_after: date) -> object:
    rows = ["date,symbol,close"]
    for n, d in enumerate(DAYS):
        rows += [f"{d},AAA,{100 + (n % 3)}", f"{d},BBB,{50 + (n % 5) + (25 if d > jump_after else 0)}"]
    return parse("\n".join(rows) + "\n")


def test_the_window_ends_on_the_months_first_trading_day(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert direct_index.window_end(date(2024, 3, 15)) == date(2024, 3, 1)
    assert direct_index.window_end(date(2024, 3, 1)) == date(2024, 3, 1)
    assert direct_index.window_end(date(2024, 2, 2)) == date(2024, 2, 1)
    # BBB jumps on 2024-03-05: a plan on 03-15 ranks on the same returns as one on 03-01, which never saw it.
    prices = _prices(date(2024, 3, 4))
    specs = direct_index.inputs(settings)
    mid = direct_index.returns(settings, prices, specs, date(2024, 3, 15), set())
    first = direct_index.returns(settings, prices, specs, date(2024, 3, 1), set())
    assert mid is not None and first is not None
    assert mid.symbols == first.symbols == ("AAA", "BBB")
    assert (mid.matrix == first.matrix).all()
    assert abs(mid.matrix[:, 1]).max() < 0.2  # the 50 % jump is not in the window
    late = direct_index.returns(settings, prices, specs, date(2024, 3, 28), set())
    assert late is not None and (late.matrix == first.matrix).all()


def test_prices_that_begin_mid_month_end_the_window_on_the_day_until_they_cover_a_months_start(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    specs = direct_index.inputs(settings)
    rows = ["date,symbol,close"] + [f"{d},{s},{100 + n}" for n, d in enumerate(DAYS) if d >= date(2024, 3, 11)
                                    for s in ("AAA", "BBB")]
    prices = parse("\n".join(rows) + "\n")
    found = direct_index.returns(settings, prices, specs, date(2024, 3, 15), set())
    assert found is not None and found.days == 4  # 03-11 .. 03-15: five closes
    # No close of any stock at all: no returns (the engine ranks without them), not a crash.
    assert direct_index.returns(settings, parse("date,symbol,close\n2024-03-15,XYZ,1\n"), specs,
                                date(2024, 3, 15), set()) is None


def test_the_window_holds_correlation_days_returns_across_a_year_of_holidays(tmp_path: Path) -> None:
    """252 returns need 253 sessions, more than 366 calendar days in a year with ten closures (2007 had the
    national day of mourning on 01-02): the window used to hold 250, two fewer than the backtest's."""
    settings = _settings(tmp_path)
    text = (tmp_path / "tlh.toml").read_text().replace("correlation_days = 20", "correlation_days = 252")
    (tmp_path / "tlh.toml").write_text(text)
    settings = load_settings(tmp_path / "tlh.toml")
    days = [s.day for s in sessions(date(2006, 10, 2), date(2007, 12, 31))]
    rows = ["date,symbol,close"] + [f"{d},{s},{100 + n % 7}" for n, d in enumerate(days) for s in ("AAA", "BBB")]
    found = direct_index.returns(settings, parse("\n".join(rows) + "\n"), direct_index.inputs(settings),
                                 date(2007, 12, 31), set())
    assert found is not None and found.days == 252
    # The last return is the window's end, the month's first session (2007-12-03 over 11-30).
    assert found.matrix[-1, 0] == (100 + days.index(date(2007, 12, 3)) % 7) / (100 + days.index(
        date(2007, 11, 30)) % 7) - 1
