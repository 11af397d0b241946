"""`tlh backtest`: the shipped portfolio files, the JSON contract, HTML, errors; real data when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.backtest import load_portfolio
from daemon.cli.backtest_cmd import DEFAULT_PRICES
from daemon.cli.main import app
from daemon.config import ConfigError
from tests.backtest.helpers import fall_and_recover, weekdays

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "config" / "backtests").glob("*.toml"))
real_data = pytest.mark.skipif(not DEFAULT_PRICES.exists(),
                               reason=f"shared price data not found at {DEFAULT_PRICES}")


def test_the_shipped_portfolios_load() -> None:
    names = {p.name for p in SHIPPED}
    assert {"three_fund.toml", "all_equity.toml", "direct_index_sp500.toml"} <= names
    for path in SHIPPED:
        load_portfolio(path)


def test_a_bad_portfolio_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\ninitial_deposit = 100\n[[sleeves]]\nname = "a"\nweight = 0.5\nmembers = ["A"]\n')
    with pytest.raises(ConfigError, match="weights must add up to 1"):
        load_portfolio(path)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    days = weekdays(41)
    path = fall_and_recover()
    prices = tmp_path / "close.csv"
    prices.write_text("date,A,B\n" + "".join(f"{d},{a},{a}\n" for d, a in zip(days, path, strict=True)))
    portfolio = tmp_path / "p.toml"
    portfolio.write_text('name = "ab"\ninitial_deposit = 10000\nspread_bps = 0\nsubstitutes = false\n'
                         '[harvest]\ncircuit_breaker = false\nmin_loss_usd = 1\nmin_net_benefit_usd = 0\n'
                         'swap_back = true\nswap_back_max_gain_usd = 100000\nmax_turnover_pct = 1\n'
                         '[[sleeves]]\nname = "fund"\nweight = 1\nmembers = ["A", "B"]\n')
    return prices, portfolio


def test_json_has_the_contract_keys(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    result = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    year = out["years"][0]
    assert {"year", "harvested_short", "harvested_long", "harvest_yield", "pairs", "wash_sales_created"} <= set(year)
    assert year["harvested_short"] == 500.0 and year["pairs"] == 1
    assert set(out["after_tax_value"]) == {"held", "liquidated", "liquidated_st_as_lt"}
    for v in out["after_tax_value"].values():
        assert set(v) == {"with_harvesting", "without_harvesting"}
    assert isinstance(out["tax_alpha_annual"], float)


def test_table_html_and_window_options(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    result = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices)])
    assert result.exit_code == 0, result.output
    assert "tax alpha a year" in result.stdout and "With vs without harvesting" in result.stdout
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--format", "html",
                                      "--output", str(page), "--start", "2024-01-10", "--end", "2024-02-01",
                                      "--frequency", "weekly"])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert html.count("<svg") == 2 and "Portfolio value" in html and "Cumulative harvested losses" in html
    assert "<script" not in html and "2024-01-10" in html


def test_errors_are_clear(tmp_path: Path) -> None:
    prices, portfolio = _files(tmp_path)
    missing = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "not found" in missing.output
    bad_day = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--start", "2024-13-01"])
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
    empty = CliRunner().invoke(app, ["backtest", str(portfolio), "--prices", str(prices), "--start", "2025-01-01"])
    assert empty.exit_code == 2 and "no trading day" in empty.output
    other = tmp_path / "other.toml"
    other.write_text(portfolio.read_text().replace('["A", "B"]', '["X"]'))
    unknown = CliRunner().invoke(app, ["backtest", str(other), "--prices", str(prices)])
    assert unknown.exit_code == 2 and "no prices for X" in unknown.output


@real_data
def test_three_fund_through_2008_on_real_prices() -> None:
    result = CliRunner().invoke(app, ["backtest", str(ROOT / "config/backtests/three_fund.toml"), "--start",
                                      "2008-01-01", "--end", "2009-06-30", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["total"]["pairs"] > 0 and out["years"][0]["harvested_short"] > 0
    assert out["total"]["wash_sales_created"] == 0


@real_data
def test_direct_index_flags_the_unadjusted_jci_split_of_2007() -> None:
    result = CliRunner().invoke(app, ["backtest", str(ROOT / "config/backtests/direct_index_sp500.toml"),
                                      "--start", "2007-06-01", "--end", "2007-08-31", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["universe_size"] > 400
    assert out["total"]["wash_sales_created"] == 0
    jci = [f for f in out["large_move_harvests"] if f["symbol"] == "JCI"]
    assert jci and jci[0]["move_date"] == "2007-07-02"
