"""`tlh harvest --dry-run` on a book of ETFs with `[accounts.targets]`: the cash goes to the most underweight
asset class, into its first member that a purchase would not wash."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app

CONFIG = """
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
lot_method = "specific"
[accounts.targets]
stocks = 0.6
bonds = 0.4
[[asset_classes]]
name = "stocks"
members = ["VTI", "ITOT"]
[[asset_classes]]
name = "bonds"
members = ["BND", "AGG"]
[harvest]
circuit_breaker = false
cash_max_pct = 0.01
[brokers.paper]
prices = "prices.csv"
starting_cash = 5000
"""


def _prices(bnd_end: float) -> str:
    lines = ["date,symbol,close"]
    day, n = date(2024, 3, 1), 0
    while n < 30:
        if day.weekday() < 5:
            bnd = bnd_end if n == 29 else 80.0
            for symbol, close in (("VTI", 200.0), ("ITOT", 100.0), ("BND", bnd), ("AGG", 90.0)):
                lines.append(f"{day},{symbol},{close:.4f}")
            n += 1
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"


def _plan(tmp_path: Path, bnd_end: float) -> dict:  # type: ignore[type-arg]
    (tmp_path / "prices.csv").write_text(_prices(bnd_end))
    # $12,000 of VTI and $2,000 of BND: bonds are short of their 40 %.
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                         "2024-03-01,tax,VTI,buy,60,200,,v1\n"
                                         "2024-03-01,tax,BND,buy,25,80,,b1\n")
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG)
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(cfg), "import", str(tmp_path / "trades.csv")]).exit_code == 0
    result = runner.invoke(app, ["--config", str(cfg), "harvest", "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    table = runner.invoke(app, ["--config", str(cfg), "harvest", "--dry-run"])
    assert table.exit_code == 0 and "New money" in table.output, table.output
    return json.loads(result.stdout)


def test_new_money_goes_to_the_underweight_class(tmp_path: Path) -> None:
    plan = _plan(tmp_path, 80.0)
    assert plan["pairs"] == []
    (buy,) = plan["purchases"]
    # Account $19,000: bonds are $2,000 held against 40 %, $7,600; all the cash goes there.
    assert (buy["account"], buy["symbol"]) == ("tax", "BND")
    assert float(buy["notional"]) == 5000 and "bonds" in buy["detail"]


def test_after_a_harvest_the_new_money_buys_the_next_member(tmp_path: Path) -> None:
    # BND is down 10 % today: harvested into AGG, and the bonds' new money buys AGG too, never BND.
    plan = _plan(tmp_path, 72.0)
    (pair,) = plan["pairs"]
    assert (pair["sell_symbol"], pair["buy_symbol"]) == ("BND", "AGG")
    assert [b["symbol"] for b in plan["purchases"]] == ["AGG"]
