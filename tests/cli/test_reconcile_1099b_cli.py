"""`tlh reconcile-1099b FILE --account ID`: the 1099-B against the ledger, each difference with its reason
(explained by a cross-account wash, or not); bad rows are errors with line numbers; the shipped sample runs
against the demo household; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.importers.form_1099b import Form1099BError, parse
from tests.cli.test_form_8949_cli import _setup

ROOT = Path(__file__).resolve().parents[2]


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.output


def _reconcile(cfg: Path, tmp_path: Path, account: str, text: str) -> list[dict[str, object]]:
    path = tmp_path / f"1099b-{account}.csv"
    path.write_text(text)
    return json.loads(tlh(cfg, "reconcile-1099b", str(path), "--account", account, "--format", "json"))


HEADER = "symbol,quantity,date_acquired,date_sold,proceeds,cost_basis,wash_sale,term\n"


def test_differences_and_their_reasons(tmp_path: Path, db_url: str) -> None:
    cfg = _setup(tmp_path, db_url)
    # The spouse's broker: the IVV replacement at its unadjusted basis, a 500 gain.
    (basis,) = _reconcile(cfg, tmp_path, "spouse", HEADER + "IVV,100,03/10/2023,06/01/2023,39000,38500,0,S\n")
    assert (basis["line"], basis["field"], basis["broker"], basis["ledger"], basis["explained"]) == (
        2, "basis", "38500.00", "40500.00", True)
    assert "$2,000.00 disallowed on the VOO loss sold 2023-03-01 in tax" in str(basis["reason"])
    # The taxable account's broker reports no wash sale on the VOO loss: the spouse's IVV washed it.
    (wash,) = _reconcile(cfg, tmp_path, "tax", HEADER + "VOO,100,2023-01-03,2023-03-01,38000,40000,,short\n")
    assert (wash["field"], wash["broker"], wash["ledger"], wash["explained"]) == ("wash_sale", "0.00", "2000.00",
                                                                                  True)
    assert "washed by IVV bought 2023-03-10 in spouse" in str(wash["reason"])
    # What the ledger cannot explain: other proceeds, a sale it does not have, a sale the 1099-B lacks.
    found = _reconcile(cfg, tmp_path, "old", HEADER + "XYZ,10,2010-05-03,2023-07-03,690,500,,long\n"
                                                      "QQQ,1,2023-01-03,2023-07-05,100,90,,short\n")
    assert [(d["line"], d["field"], d["explained"]) for d in found] == [
        (None, "sale", False), (2, "proceeds", False), (3, "sale", False)]
    assert found[0]["reason"] == "a ledger sale the 1099-B does not show"  # the 2015 lot's 10 shares
    assert "unexplained" in str(found[1]["reason"])
    # A 1099-B that agrees (a cent of rounding is not a difference).
    assert _reconcile(cfg, tmp_path, "old", HEADER + "XYZ,10,2010-05-03,2023-07-03,700,500.01,,long\n"
                                                     "XYZ,10,2015-05-01,2023-07-03,700,600,0,long\n") == []


def test_bad_rows_are_errors_with_line_numbers(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, f"sqlite:///{tmp_path / 'tlh.db'}")
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "VOO,100,2023-01-03,2023-03-01,38000,40000,,short\nVOO,-1,,2023-03-01,1,1,,\n")
    out = tlh(cfg, "reconcile-1099b", str(path), "--account", "tax", code=2)
    assert f"{path}: line 3: quantity: must be a positive number, got '-1'; nothing was compared" in out
    assert "ira" not in out
    assert "is a 401k account" not in tlh(cfg, "reconcile-1099b", str(path), "--account", "tax", code=2)


@pytest.mark.parametrize(("text", "message"), [
    ("", "x.csv: line 1: empty file"),
    ("symbol,quantity,date_sold\n", "x.csv: line 1: missing column(s) proceeds"),
    (HEADER + "VOO,1,2023-01-03,2023-31-01,1,1,,\n", "x.csv: line 2: not a date (YYYY-MM-DD or MM/DD/YYYY)"),
    (HEADER + "VOO,1,,2023-03-01,abc,1,,\n", "x.csv: line 2: proceeds: not a number: 'abc'"),
    (HEADER + "VOO,1,,2023-03-01,1,1,,medium\n", "x.csv: line 2: term: short or long, got 'medium'"),
    (HEADER + "\nVOO,1,,2023-03-01,1,1,-5,\n", "x.csv: line 3: wash_sale: must not be negative"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(Form1099BError) as err:
        parse(text, "x.csv")
    assert message in str(err.value)


def test_the_shipped_sample_runs_on_the_demo_household(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config" / "demo", tmp_path / "demo")
    cfg = tmp_path / "demo.toml"
    cfg.write_text((ROOT / "config" / "demo.toml").read_text().replace("sqlite:///../var/demo.db",
                                                                       "sqlite:///demo.db"))
    tlh(cfg, "import", str(tmp_path / "demo" / "trades.csv"))
    (d,) = json.loads(tlh(cfg, "reconcile-1099b", str(ROOT / "config" / "1099b-sample.csv"),
                          "--account", "demo-taxable", "--format", "json"))
    assert (d["symbol"], d["field"], d["broker"], d["ledger"], d["explained"]) == (
        "VOO", "wash_sale", "0.00", "676.51", True)
    assert "washed by IVV bought 2022-05-20 in demo-ira (permanently" in d["reason"]
    assert "is a traditional_ira account: it has no 1099-B" in tlh(
        cfg, "reconcile-1099b", str(ROOT / "config" / "1099b-sample.csv"), "--account", "demo-ira", code=2)
