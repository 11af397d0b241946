"""`tlh harvest --dry-run` on an account with `[accounts.direct_index]`: the engine's replacements come from
the sold stock's sub-industry, ranked by the trailing correlation in the price file; new money goes to
the index's underweights; every skip explained."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app

CONSTITUENTS = """symbol,weight,sector,sub_industry
AAA,,Information Technology,Semiconductors
BBB,,Information Technology,Semiconductors
CCC,,Information Technology,Semiconductors
DDD,,Financials,Diversified Banks
"""
CONFIG = """
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "di"
household = "h"
lot_method = "specific"
[accounts.direct_index]
constituents = "index.csv"
exclude = ["DDD"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[brokers.paper]
prices = "prices.csv"
starting_cash = 3000
"""


def _prices() -> str:
    """60 weekdays: CCC follows AAA's wiggle, BBB the opposite; AAA ends 20 % down."""
    lines = ["date,symbol,close"]
    day, n = date(2024, 3, 1), 0
    while n < 60:
        if day.weekday() < 5:
            wiggle = math.sin(n * 1.3) * 0.01
            aaa = 100 * (1 + wiggle) * (0.8 if n == 59 else 1)
            for symbol, close in (("AAA", aaa), ("BBB", 100 * (1 - wiggle)), ("CCC", 50 * (1 + wiggle)),
                                  ("DDD", 40.0)):
                lines.append(f"{day},{symbol},{close:.4f}")
            n += 1
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"


def test_dry_run_plans_the_direct_index(tmp_path: Path) -> None:
    (tmp_path / "index.csv").write_text(CONSTITUENTS)
    (tmp_path / "prices.csv").write_text(_prices())
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                         "2024-03-01,di,AAA,buy,30,100,,a1\n"
                                         "2024-03-01,di,BBB,buy,30,100,,b1\n")
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG)
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(cfg), "import", str(tmp_path / "trades.csv")]).exit_code == 0
    result = runner.invoke(app, ["--config", str(cfg), "harvest", "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    (pair,) = plan["pairs"]
    # AAA's loss: CCC (moves with it) is bought, not BBB (moves against it); DDD is excluded anyway.
    assert (pair["kind"], pair["sell_symbol"], pair["buy_symbol"]) == ("harvest", "AAA", "CCC")
    assert pair["lots"] == ["a1"]
    # The starting cash goes to the index's most underweight stock that may be bought: not DDD (excluded),
    # not AAA (sold at a loss today), not BBB (overweight).
    assert [p["symbol"] for p in plan["purchases"]] == ["CCC"]
    table = runner.invoke(app, ["--config", str(cfg), "harvest", "--dry-run"])
    assert table.exit_code == 0, table.output
    assert "New money" in table.output and "CCC" in table.output
