"""`tlh backtest --windows 10y --step 1y`: every window, the distribution across start dates (JSON contract),
--rates / --losses / --frequency from the command line, the table."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.backtest import BacktestError
from daemon.backtest.windows import add, distribution, parse_span, starts
from daemon.cli.main import app
from tests.backtest.helpers import weekdays


def test_spans_and_window_starts() -> None:
    assert parse_span("10y", "--windows") == (10, 0) and parse_span("6m", "--step") == (0, 6)
    with pytest.raises(BacktestError, match="--windows: a length like 10y"):
        parse_span("ten", "--windows")
    assert add(date(2020, 1, 31), (0, 1)) == date(2020, 2, 29)
    spans = starts(date(2000, 1, 3), date(2026, 8, 3), (10, 0), (1, 0))
    assert spans[0] == (date(2000, 1, 3), date(2010, 1, 2)) and spans[-1] == (date(2016, 1, 3), date(2026, 1, 2))
    assert len(spans) == 17


def test_distribution() -> None:
    d = distribution([0.01, -0.02, 0.03, 0.005, None])
    assert d == {"count": 4, "median": 0.0075, "q1": -0.00125, "q3": 0.015, "min": -0.02, "max": 0.03,
                 "positive": 3}
    assert distribution([])["median"] is None


def _files(tmp_path: Path) -> tuple[Path, Path]:
    days = weekdays(330, start=date(2020, 1, 6))
    prices = tmp_path / "close.csv"
    rows = []
    for i, d in enumerate(days):
        a = 100 * (1 + 0.15 * math.sin(i / 9))
        b = 100 * (1 + 0.15 * math.sin(i / 9 + 0.2))
        rows.append(f"{d},{a:.4f},{b:.4f}\n")
    prices.write_text("date,A,B\n" + "".join(rows))
    portfolio = tmp_path / "p.toml"
    portfolio.write_text('name = "ab"\ninitial_deposit = 10000\nspread_bps = 0\nsubstitutes = false\n'
                         '[taxes]\nshort_term_rate = 0.37\nlong_term_rate = 0.20\n'
                         '[harvest]\ncircuit_breaker = false\nmin_loss_usd = 1\nmin_net_benefit_usd = 0\n'
                         'swap_back = true\nswap_back_max_gain_usd = 100000\nmax_turnover_pct = 1\n'
                         '[[sleeves]]\nname = "fund"\nweight = 1\nmembers = ["A", "B"]\n')
    return prices, portfolio


def test_windows_json_contract_and_overrides(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    args = ["backtest", str(portfolio), "--prices", str(prices), "--windows", "6m", "--step", "2m",
            "--format", "json", "--rates", "35/15", "--losses", "limited", "--frequency", "weekly"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    windows = data["windows"]
    assert [w["start"] for w in windows] == ["2020-01-06", "2020-03-06", "2020-05-06", "2020-07-06",
                                             "2020-09-07"]
    for w in windows:
        assert set(w) >= {"start", "end", "tax_alpha", "tax_effect", "before_tax_difference"}
        assert set(w["tax_alpha"]) == {"held", "liquidated", "st_at_lt"}
    assert windows[0]["end"] == "2020-07-03"  # the last trading day before 2020-07-06
    s = data["summary"]
    assert set(s) == {"tax_alpha", "tax_effect", "before_tax_difference"}
    assert s["tax_effect"]["count"] == 5
    assert s["tax_alpha"]["liquidated"]["median"] == pytest.approx(
        sorted(w["tax_alpha"]["liquidated"] for w in windows)[2], abs=1e-6)
    assert data["assumptions"]["short_term_rate"] == 0.35 and data["assumptions"]["long_term_rate"] == 0.15
    assert data["assumptions"]["losses"] == "limited" and data["frequency"] == "weekly"
    # The same window run alone gives the same tax alpha.
    single = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--start", "2020-03-06",
                                      "--end", "2020-09-05", "--format", "json", "--rates", "35/15",
                                      "--losses", "limited", "--frequency", "weekly"])
    one = json.loads(single.stdout)
    assert one["tax_alpha_annual_by_assumption"]["held"] == windows[1]["tax_alpha"]["held"]
    assert "harvested_losses" in one["total"] and "swap_back_realized_gains" in one["total"]


def test_windows_table_and_errors(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    base = ["backtest", str(portfolio), "--prices", str(prices)]
    table = CliRunner().invoke(app, [*base, "--windows", "6m", "--step", "3m"])
    assert table.exit_code == 0, table.output
    assert "Across 4 windows" in table.output and "tax effect" in table.output
    too_long = CliRunner().invoke(app, [*base, "--windows", "10y"])
    assert too_long.exit_code != 0 and "no window of 10y" in too_long.output
    bad = CliRunner().invoke(app, [*base, "--rates", "35"])
    assert bad.exit_code != 0 and "--rates" in bad.output


def test_placebo_from_the_command_line(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    base = ["backtest", str(portfolio), "--prices", str(prices), "--format", "json", "--placebo"]
    one = CliRunner().invoke(app, base)
    assert one.exit_code == 0, one.output
    data = json.loads(one.stdout)
    fake = data["placebo"]
    assert fake["swaps"] > 0
    assert fake["before_tax_difference_beyond_placebo"] == pytest.approx(
        data["pre_tax_difference_annual"] - fake["before_tax_difference"], abs=2e-6)
    many = CliRunner().invoke(app, [*base, "--windows", "6m", "--step", "3m"])
    assert many.exit_code == 0, many.output
    windows = json.loads(many.stdout)
    assert {"placebo_before_tax_difference", "before_tax_difference_beyond_placebo"} <= set(windows["summary"])
    assert all("placebo_before_tax_difference" in w for w in windows["windows"])
    page = tmp_path / "windows.html"
    html = CliRunner().invoke(app, [*base[:-3], "--windows", "6m", "--step", "3m", "--format", "html",
                                    "--output", str(page)])
    assert html.exit_code == 0, html.output
    text = page.read_text()
    assert text.count("<rect") > 3 * 4 and "Across 4 windows" in text and "<svg" in text
