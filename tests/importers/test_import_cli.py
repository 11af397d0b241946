"""`tlh import` end to end: CSV, Alpaca activities and IBKR Flex reports into one household's store;
idempotent re-imports; a bad file imports nothing and says file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

CONFIG = """\
database_url = "sqlite:///{db}"
substitutes = ""

[[accounts]]
id = "taxable"
household = "smith"
broker = "alpaca"

[[accounts]]
id = "ira"
type = "traditional_ira"
household = "smith"
broker = "ibkr"
broker_account = "U7654321"

[[accounts]]
id = "ib-taxable"
household = "smith"
broker = "ibkr"
broker_account = "U1234567"
"""

TRADES_CSV = """\
date,account,symbol,side,quantity,price,fees
2023-06-01,taxable,VTI,buy,12,210.40,0
2023-06-01,ira,BND,buy,40,72.10,0
2023-09-15,taxable,SCHD,buy,30,73.25,1.00
2023-11-20,ira,BND,reinvest,0.4127,70.02,0
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tlh.toml"
    path.write_text(CONFIG.format(db=tmp_path / "tlh.db"))
    return path


def tlh(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *[str(a) for a in args]])
    return result.exit_code, result.output


def lots_json(config: Path) -> list[dict[str, object]]:
    code, out = tlh(config, "lots", "--format", "json")
    assert code == 0, out
    return json.loads(out)


def test_csv_then_alpaca_then_reimport(tmp_path: Path, config: Path) -> None:
    csv_file = tmp_path / "trades.csv"
    csv_file.write_text(TRADES_CSV)
    code, out = tlh(config, "import", csv_file)
    assert code == 0, out
    assert f"{csv_file}: 4 trade(s) added, 0 already present" in out

    activities = FIXTURES / "alpaca_fill_activities.json"
    code, out = tlh(config, "import", activities, "--account", "taxable")
    assert code == 0, out
    assert "9 trade(s) added, 0 already present" in out

    lots = lots_json(config)
    by_account: dict[str, dict[str, float]] = {}
    for lot in lots:
        held = by_account.setdefault(str(lot["account"]), {})
        held[str(lot["symbol"])] = held.get(str(lot["symbol"]), 0) + float(str(lot["quantity"]))
    # VTI: 12 (CSV) + 20 + 0.5234 + 5 bought, 10 sold; VXUS: 30 + 20 bought, 25 sold; BND bought and sold.
    assert by_account["taxable"] == pytest.approx({"VTI": 27.5234, "VXUS": 25, "SCHD": 30})
    assert by_account["ira"] == pytest.approx({"BND": 40.4127})
    alpaca_lots = [lot for lot in lots if str(lot["lot_id"]).startswith("alpaca-")]
    assert {lot["purchased"] for lot in alpaca_lots} >= {"2024-01-09", "2024-01-16"}
    # Each partial fill of the VXUS order is its own lot.
    assert sum(1 for lot in alpaca_lots if lot["symbol"] == "VXUS") == 2

    for args in ([csv_file], [activities, "--account", "taxable"]):
        code, out = tlh(config, "import", *args)
        assert code == 0, out
        assert ": 0 trade(s) added" in out
    assert lots_json(config) == lots


def test_ibkr_report_maps_account_codes(config: Path) -> None:
    code, out = tlh(config, "import", FIXTURES / "ibkr_flex_trades.xml")
    assert code == 0, out
    assert "6 trade(s) added" in out
    lots = lots_json(config)
    assert {(lot["account"], lot["symbol"]) for lot in lots} == {
        ("ib-taxable", "VTI"), ("ib-taxable", "SCHB"), ("ib-taxable", "BRK.B"), ("ira", "ITOT")}
    code, out = tlh(config, "import", FIXTURES / "ibkr_flex_trades.xml")
    assert code == 0 and "0 trade(s) added, 6 already present" in out


def test_format_option_overrides_the_extension(tmp_path: Path, config: Path) -> None:
    saved = tmp_path / "fills.txt"
    shutil.copy(FIXTURES / "alpaca_fill_activities.json", saved)
    code, out = tlh(config, "import", saved, "--account", "taxable")
    assert code != 0 and "cannot tell the format" in out
    code, out = tlh(config, "import", saved, "--format", "alpaca", "--account", "taxable")
    assert code == 0 and "9 trade(s) added" in out, out


def test_alpaca_needs_a_known_account(config: Path) -> None:
    activities = FIXTURES / "alpaca_fill_activities.json"
    code, out = tlh(config, "import", activities)
    assert code != 0 and "--account is required" in out
    code, out = tlh(config, "import", activities, "--account", "nope")
    assert code != 0 and "unknown account 'nope'" in out
    code, out = tlh(config, "import", FIXTURES / "ibkr_flex_trades.xml", "--account", "ira")
    assert code != 0 and "--account applies to Alpaca activities only" in out
    assert lots_json(config) == []


@pytest.mark.parametrize(
    ("line4", "message"),
    [
        ("2024-02-01,taxable,VTI,sell,500,230.00", "500"),  # more than held: refused by the ledger
        ("2024-02-01,joint,VTI,buy,5,230.00", "unknown account 'joint'"),  # refused by the importer
    ],
)
def test_bad_csv_row_imports_nothing(tmp_path: Path, config: Path, line4: str, message: str) -> None:
    good = tmp_path / "good.csv"
    good.write_text(TRADES_CSV)
    assert tlh(config, "import", good)[0] == 0
    assert tlh(config, "import", FIXTURES / "alpaca_fill_activities.json", "--account", "taxable")[0] == 0
    before = lots_json(config)

    bad = tmp_path / "bad.csv"
    bad.write_text("date,account,symbol,side,quantity,price\n"
                   "2024-01-25,taxable,VTI,buy,3,231.10\n"
                   "2024-01-26,ira,BND,buy,2,72.50\n"
                   f"{line4}\n"
                   "2024-02-02,taxable,SCHD,sell,5,75.00\n")
    code, out = tlh(config, "import", bad)
    assert code != 0
    assert f"{bad}:4:" in out and message in out and "nothing was imported" in out
    assert lots_json(config) == before
