"""One small household for the CLI tests: a taxable account and a Roth IRA, a price file whose last day has
VTI 8 % below its basis, an ITOT loss 19 days before, and a Roth SCHB purchase 9 days before."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app

PRICES = """date,symbol,close
2024-05-28,VTI,250
2024-05-28,ITOT,110
2024-05-28,SCHB,55
2024-05-29,VTI,230
2024-05-29,ITOT,101
2024-05-29,SCHB,50.6
"""
TRADES = """date,account,symbol,side,quantity,price,fees,lot_id
2024-01-02,tax,VTI,buy,40,250,,vti-1
2024-01-02,tax,ITOT,buy,50,110,,itot-1
2024-05-10,tax,ITOT,sell,50,100,,itot-1
2024-05-20,ira,SCHB,buy,10,54,,schb-ira
"""
CONFIG = """
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
[[accounts]]
id = "ira"
household = "h"
type = "roth_ira"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "ITOT", "SCHB"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[brokers.paper]
prices = "prices.csv"
starting_cash = 500
[alerts]
jsonl_path = "alerts.jsonl"
"""


def write_household(tmp_path: Path) -> Path:
    """Write the price file, trades and configuration into `tmp_path`, import the trades; the config path."""
    (tmp_path / "prices.csv").write_text(PRICES)
    (tmp_path / "trades.csv").write_text(TRADES)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG)
    result = CliRunner().invoke(app, ["--config", str(cfg), "import", str(tmp_path / "trades.csv")])
    assert result.exit_code == 0, result.output
    return cfg
