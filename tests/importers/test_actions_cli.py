"""`tlh import FILE --format actions` (the corporate-actions CSV) and the trade CSV's `time` and transfer
columns, end to end through the CLI on a real SQLite store."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.importers.test_import_cli import config, lots_json, tlh  # noqa: F401  (the fixture)

TRADES = """\
date,account,symbol,side,quantity,price,fees,lot_id
2022-03-01,taxable,NVDA,buy,100,400,0,n1
2022-03-01,taxable,FB,buy,10,300,0,f1
2023-01-05,taxable,ATVI,buy,20,80,0,a1
"""

ACTIONS = """\
date,symbol,action,ratio,new_symbol,cash_per_share,basis_fraction,account
2024-06-10,NVDA,split,4,,,,
2022-06-09,FB,symbol_change,,META,,,taxable
2023-10-13,ATVI,stock_merger,0.5,MSFT,,,
"""


def gains_json(cfg: Path) -> list[dict[str, str]]:
    code, out = tlh(cfg, "gains", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    return data if isinstance(data, list) else data["rows"]


def test_actions_csv_books_split_symbol_change_and_merger_then_sales_use_post_action_lots(
        tmp_path: Path, config: Path) -> None:  # noqa: F811
    trades = tmp_path / "trades.csv"
    trades.write_text(TRADES)
    actions = tmp_path / "actions.csv"
    actions.write_text(ACTIONS)
    assert tlh(config, "import", trades)[0] == 0
    code, out = tlh(config, "import", actions, "--format", "actions")
    assert code == 0, out
    assert "3 corporate action(s) added" in out
    lots = {lot["lot_id"]: lot for lot in lots_json(config)}
    assert (lots["n1"]["symbol"], lots["n1"]["quantity"]) == ("NVDA", "400")
    assert lots["f1"]["symbol"] == "META"
    assert (lots["a1"]["symbol"], lots["a1"]["quantity"]) == ("MSFT", "10")
    # A later sale of 300 post-split shares: basis $30,000, acquired 2022-03-01, long-term.
    sale = tmp_path / "sale.csv"
    sale.write_text("date,account,symbol,side,quantity,price\n2024-07-01,taxable,NVDA,sell,300,120\n")
    assert tlh(config, "import", sale)[0] == 0
    (row,) = gains_json(config)
    assert row["acquired"] == "2022-03-01"
    assert (Decimal(row["cost_basis"]), Decimal(row["proceeds"]), row["term"]) == (30000, 36000, "long")
    # Importing the same actions again adds nothing.
    code, out = tlh(config, "import", actions, "--format", "actions")
    assert code == 0 and "0 corporate action(s) added, 3 already present" in out


@pytest.mark.parametrize(("row", "message"), [
    ("2024-06-10,NVDA,split,,,,,", "split: ratio is required"),
    ("2024-06-10,NVDA,explode,2,,,,", "action: must be one of"),
    ("2024-06-10,NVDA,split,1,5,,,,", "more fields than the header"),
    ("2024-06-10,NVDA,split,\"1,5\",,,,", "ambiguous number"),
    ("2024-06-10,NVDA,split,2,,,,nobody", "unknown account 'nobody'"),
    ("2024-06-10,ZZZ,split,2,,,,taxable", "holds no ZZZ"),
])
def test_a_bad_actions_row_imports_nothing_and_names_its_line(tmp_path: Path, config: Path, row: str,  # noqa: F811
                                                             message: str) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text(TRADES)
    assert tlh(config, "import", trades)[0] == 0
    before = lots_json(config)
    actions = tmp_path / "actions.csv"
    actions.write_text(ACTIONS.splitlines()[0] + "\n2022-06-09,FB,symbol_change,,META,,,\n" + row + "\n")
    code, out = tlh(config, "import", actions, "--format", "actions")
    assert code != 0
    assert f"{actions}:3" in out and message in out and "nothing was imported" in out
    assert lots_json(config) == before


def test_time_column_orders_a_days_trades_whatever_the_row_order(tmp_path: Path, config: Path) -> None:  # noqa: F811
    # Rows out of order in the file; the times say the sale came first, so it relieves the 2020 lot.
    trades = tmp_path / "trades.csv"
    trades.write_text("date,account,symbol,side,quantity,price,lot_id,time\n"
                      "2020-01-02,taxable,X,buy,10,100,old,\n"
                      "2024-06-03,taxable,X,buy,10,250,new,11:00\n"
                      "2024-06-03,taxable,X,sell,10,200,,10:00\n")
    assert tlh(config, "import", trades)[0] == 0
    (row,) = gains_json(config)
    assert (row["acquired"], row["term"], Decimal(row["proceeds"]), Decimal(row["cost_basis"])) == (
        "2020-01-02", "long", 2000, 1000)


def test_transfer_in_carries_basis_and_date(tmp_path: Path, config: Path) -> None:  # noqa: F811
    trades = tmp_path / "trades.csv"
    trades.write_text("date,account,symbol,side,quantity,price,acquired,basis\n"
                      "2024-06-03,taxable,X,transfer_in,10,0,2019-05-01,1234.50\n")
    assert tlh(config, "import", trades)[0] == 0
    (lot,) = lots_json(config)
    assert (lot["acquired"], Decimal(lot["cost_basis"])) == ("2019-05-01", Decimal("1234.5"))
