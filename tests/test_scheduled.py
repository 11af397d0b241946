"""Scheduled purchases from the configuration: recurring purchases on the exchange calendar, dividend
reinvestment from the dividend dates file (errors with line numbers), and `tlh restrictions` naming the
purchases to pause (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.config.models import Settings
from daemon.scheduled import DividendFileError, parse_dividends, reinvestments, upcoming

SETTINGS = Settings.model_validate({"accounts": [
    {"id": "tax", "household": "h", "drip": True},
    {"id": "k401", "household": "h", "type": "401k",
     "recurring": [{"symbol": "ivv", "amount": 500, "day_of_month": 25},
                   {"symbol": "VXUS", "quantity": "1.5", "day_of_month": 31}]},
], "harvest": {"dividend_dates": "unused.csv"}})


def test_recurring_purchases_on_the_nyse_calendar() -> None:
    got = upcoming(SETTINGS.model_copy(update={"harvest": SETTINGS.harvest.model_copy(
        update={"dividend_dates": None})}), {}, date(2026, 12, 1), date(2027, 1, 31))
    assert [(p.account, p.symbol, p.day, p.what) for p in got] == [
        ("k401", "IVV", date(2026, 12, 28), "$500.00"),   # Christmas Friday, then the weekend
        ("k401", "VXUS", date(2026, 12, 31), "1.5 sh"),
        ("k401", "IVV", date(2027, 1, 25), "$500.00"),
    ]


def test_dividend_reinvestment_of_held_symbols_only() -> None:
    dividends = parse_dividends("symbol,ex_date,pay_date\nVOO,2026-12-22,2026-12-29\nVTI,2026-12-22,\n"
                                "SCHB,2026-12-10,2026-12-15\n")
    got = reinvestments(SETTINGS.accounts, {"tax": {"VOO", "VTI"}, "k401": {"SCHB"}}, dividends,
                        date(2026, 12, 1), date(2026, 12, 31))
    assert [(p.account, p.symbol, p.day, p.ex_date) for p in got] == [
        ("tax", "VOO", date(2026, 12, 29), date(2026, 12, 22)),
        ("tax", "VTI", date(2026, 12, 22), date(2026, 12, 22)),  # no pay date: the ex-dividend date
    ]  # k401 does not reinvest (drip is off)


@pytest.mark.parametrize(("text", "message"), [
    ("symbol,pay_date\nVOO,2026-01-01\n", "d.csv: line 1: missing column(s) ex_date"),
    ("symbol,ex_date\nVOO,2026-01-01\nVTI,2026-13-01\n", "d.csv: line 3: not a YYYY-MM-DD date"),
    ("symbol,ex_date,pay_date\nVOO,2026-01-05,2026-01-01\n", "d.csv: line 2: pay_date 2026-01-01 is before"),
    ("symbol,ex_date\n,2026-01-01\n", "d.csv: line 2: symbol is empty"),
])
def test_bad_dividend_rows_name_the_line(text: str, message: str) -> None:
    with pytest.raises(DividendFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_dividends(text, "d.csv")


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.output


CONFIG = """
database_url = "{db}"
substitutes = ""
[[identical]]
symbols = ["VOO", "IVV"]
[harvest]
dividend_dates = "dividends.csv"
[[accounts]]
id = "tax"
household = "h"
[[accounts]]
id = "k401"
household = "h"
type = "401k"
drip = true
[[accounts.recurring]]
symbol = "IVV"
amount = 500
day_of_month = 8
"""


def test_restrictions_name_the_purchases_to_pause(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url))
    (tmp_path / "dividends.csv").write_text("symbol,ex_date,pay_date\nVOO,2024-06-20,2024-06-25\n")
    (tmp_path / "t.csv").write_text("date,account,symbol,side,quantity,price\n2024-01-02,tax,VOO,buy,10,480\n"
                                    "2024-01-02,k401,VOO,buy,10,480\n2024-06-03,tax,VOO,sell,10,440\n")
    tlh(cfg, "import", str(tmp_path / "t.csv"))
    ivv, voo = json.loads(tlh(cfg, "restrictions", "--as-of", "2024-06-04", "--format", "json"))
    assert (ivv["symbol"], voo["symbol"], voo["until"]) == ("IVV", "VOO", "2024-07-04")
    assert ivv["pause"] == "k401's recurring purchase of IVV on 2024-06-10 ($500.00)"
    assert voo["pause"] == "k401's dividend reinvestment of VOO on 2024-06-25 (ex-dividend 2024-06-20)"
    (tmp_path / "dividends.csv").write_text("symbol,ex_date\nVOO,June 20\n")
    assert "dividends.csv: line 2: not a YYYY-MM-DD date" in tlh(cfg, "restrictions", "--as-of", "2024-06-04",
                                                                 code=2)


def test_recurring_purchase_config_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db="sqlite:///x.db").replace('dividend_dates = "dividends.csv"', "")
                   .replace("amount = 500", "amount = 500\nquantity = 2"))
    out = tlh(cfg, "config", "check", code=2)
    assert "accounts[1].recurring[0]: give either amount (USD) or quantity (shares)" in out
