"""`tlh donate` and `tlh location` through the real `tlh` app on a SQLite store seeded with `tlh import`.

The household (prices as of 2024-05-29): a taxable account with VTI bought long-term at 100 (value 250:
$0.40 of basis per dollar) and at 200 ($0.80), VTI bought short-term at 60 ($0.24, the largest gain per
dollar), ITOT long-term at 50 ($0.45) that a swap back to VTI sells today, and a REIT fund (VNQ); a
traditional IRA holding the total-market fund VTI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app

PRICES = """date,symbol,close
2024-05-28,VTI,248
2024-05-28,ITOT,109
2024-05-28,VNQ,84
2024-05-29,VTI,250
2024-05-29,ITOT,110
2024-05-29,VNQ,85
"""
TRADES = """date,account,symbol,side,quantity,price,fees,lot_id
2022-01-03,tax,VTI,buy,20,100,,vti-low
2023-01-03,tax,VTI,buy,10,200,,vti-mid
2024-03-01,tax,VTI,buy,10,60,,vti-short
2022-06-01,tax,ITOT,buy,10,50,,itot-old
2023-02-01,tax,VNQ,buy,100,80,,vnq
2023-02-01,ira,VTI,buy,40,200,,vti-ira
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
type = "traditional_ira"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "ITOT"]
[[asset_classes]]
name = "us_reits"
members = ["VNQ", "SCHH"]
[tax]
long_term_rate = 0.15
niit_rate = 0.038
state_rate = 0.05
[harvest]
circuit_breaker = false
swap_back = true
swap_back_max_gain_usd = 1000
[brokers.paper]
prices = "prices.csv"
"""


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    (tmp_path / "prices.csv").write_text(PRICES)
    (tmp_path / "trades.csv").write_text(TRADES)
    path = tmp_path / "tlh.toml"
    path.write_text(CONFIG)
    tlh(path, "import", str(tmp_path / "trades.csv"))
    return path


def test_donate_gives_long_term_lowest_basis_first_never_short_term_nor_planned(cfg: Path) -> None:
    d = json.loads(tlh(cfg, "donate", "6000", "--format", "json"))
    # all 20 low-basis VTI ($5,000), then 4 of the $200 VTI for the last $1,000. Not the short-term VTI (the
    # largest gain per dollar) and not ITOT ($0.45 of basis per dollar): today's swap back sells it.
    assert [(x["lot_id"], x["quantity"]) for x in d["lots"]] == [("vti-low", "20"), ("vti-mid", "4")]
    assert [(x["value"], x["cost_basis"], x["gain"]) for x in d["lots"]] == [
        ("5000.00", "2000.00", "3000.00"), ("1000.00", "800.00", "200.00")]
    assert d["deduction"] == "6000.00"
    assert Decimal(d["tax_avoided"]) == Decimal(3200) * (Decimal("0.15") + Decimal("0.038") + Decimal("0.05"))
    assert {"lots", "deduction", "tax_avoided"} <= set(d)
    assert set(d["lots"][0]) >= {"account", "lot_id", "symbol", "quantity", "value", "cost_basis", "gain"}
    notes = " ".join(d["notes"])
    assert "1 short-term lot(s)" in notes and "open harvest plan sells them" in notes and "30 % of AGI" in notes
    plan = json.loads(tlh(cfg, "harvest", "--dry-run", "--format", "json"))
    assert [(p["kind"], p["lots"]) for p in plan["pairs"]] == [("swap_back", ["itot-old"])]


def test_donate_honours_the_amount_within_one_share(cfg: Path) -> None:
    for amount in ("1", "249.99", "5100", "7499", "9000"):
        d = json.loads(tlh(cfg, "donate", amount, "--format", "json"))
        total = Decimal(d["deduction"])
        assert total <= Decimal(amount) and Decimal(amount) - total < 250 or total == 7500 + 8500
    everything = json.loads(tlh(cfg, "donate", "$1,000,000", "--format", "json"))
    assert {x["lot_id"] for x in everything["lots"]} == {"vti-low", "vti-mid", "vnq"}
    assert "short of $1,000,000.00" in " ".join(everything["notes"])


def test_donate_options_and_errors(cfg: Path) -> None:
    earlier = json.loads(tlh(cfg, "donate", "1000", "--as-of", "2024-05-28", "--account", "tax",
                             "--household", "h", "--format", "json"))
    assert earlier["as_of"] == "2024-05-28" and earlier["lots"][0]["value"] == "992.00"  # 4 x 248
    assert "ira is a traditional_ira account" in tlh(cfg, "donate", "100", "--account", "ira", code=2)
    assert "unknown household 'x'" in tlh(cfg, "donate", "100", "--household", "x", code=2)
    assert "a positive number of USD" in tlh(cfg, "donate", "ten", code=2)
    assert "a positive number of USD" in tlh(cfg, "donate", "0", code=2)
    assert "--as-of: not a YYYY-MM-DD date" in tlh(cfg, "donate", "5", "--as-of", "today", code=2)


def test_donate_table(cfg: Path) -> None:
    out = " ".join(tlh(cfg, "donate", "6000").split())  # prose wraps at the terminal's width
    assert "Lots to give for $6,000.00 (h, prices as of 2024-05-29)" in out
    assert "vti-low" in out and "$5,000.00" in out and "Total" in out
    assert "Deduction (fair market value): $6,000.00" in out
    assert "Capital-gains tax avoided: $761.60 (gain $3,200.00 x 23.8 %: long-term 15 % + NIIT 3.8 % + state 5 %)" \
        in out
    assert "note: appreciated long-term shares" in out


def test_agi_limit_from_the_configuration(cfg: Path) -> None:
    cfg.write_text(cfg.read_text() + "[giving]\nagi_usd = 10000\n")
    d = json.loads(tlh(cfg, "donate", "6000", "--format", "json"))
    assert any("$3,000.00 deductible this year, $3,000.00 carried forward" in n for n in d["notes"])


def test_location_hints_a_reit_in_taxable_and_stocks_in_the_ira(cfg: Path) -> None:
    d = json.loads(tlh(cfg, "location", "--format", "json"))
    hints = {(h["account"], h["symbol"]): h for h in d["hints"]}
    assert set(hints) == {("tax", "VNQ"), ("ira", "VTI")}
    reit = hints[("tax", "VNQ")]
    assert set(reit) >= {"household", "account", "symbol", "asset_class", "suggestion", "estimated_annual_savings"}
    assert (reit["household"], reit["asset_class"]) == ("h", "us_reits")
    assert Decimal(reit["estimated_annual_savings"]) > 0
    assert reit["estimated_annual_savings"] == hints[("ira", "VTI")]["estimated_annual_savings"] \
        == d["estimated_annual_savings"]
    # the IRA's $10,000 of VTI takes all $8,500 of VNQ: each account keeps its value
    assert "sell $8,500.00 of VNQ here and buy VTI; in ira sell $8,500.00 of VTI and buy VNQ" in reit["suggestion"]
    assert json.loads(tlh(cfg, "location", "--household", "h", "--format", "json")) == d
    out = tlh(cfg, "location")
    assert "Asset location (prices as of 2024-05-29)" in out and "us_reits" in out
    assert "Estimated yearly saving of the swaps: $" in out


def test_location_with_the_table_turned_off(cfg: Path) -> None:
    cfg.write_text(cfg.read_text() + '[location]\ntable = ""\n')
    d = json.loads(tlh(cfg, "location", "--format", "json"))
    assert d["hints"] == [] and any("location table is empty" in n for n in d["notes"])


def _tlh_script() -> str:
    found = shutil.which("tlh", path=str(Path(sys.executable).parent))
    assert found, "the tlh console script is installed next to the interpreter"
    return found


@pytest.mark.parametrize("columns", [100, 200])
def test_in_a_terminal(cfg: Path, columns: int) -> None:
    """The installed `tlh` script in a real pseudo-terminal (script(1)) of 100 and 200 columns."""
    if shutil.which("script") is None:
        pytest.skip("script(1) is not installed")
    command = (f"stty cols {columns} rows 50; {_tlh_script()} --config {cfg} donate 6000; "
               f"{_tlh_script()} --config {cfg} location")
    result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.replace("\r", "")
    artifacts = Path(os.environ.get("TLH_TEST_OUTPUT", cfg.parent))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / f"giving-{columns}.txt").write_text(out)
    for text in ("Lots to give for $6,000.00", "vti-low", "$5,000.00", "Deduction (fair market value): $6,000.00",
                 "Asset location", "VNQ", "us_reits", "Estimated yearly saving of the swaps"):
        assert text in out
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert max(len(line.rstrip()) for line in plain.splitlines()) <= columns  # tables and prose fit the terminal


def test_report_shows_the_lots_to_give_first_and_the_location_hints(cfg: Path) -> None:
    d = json.loads(tlh(cfg, "report", "--year", "2024", "--format", "json"))
    (giving,) = d["giving"]
    assert giving["household"] == "h" and giving["as_of"] == "2024-05-29"
    assert [x["lot_id"] for x in giving["lots"]] == ["vti-low", "vti-mid", "vnq"]  # not short-term, not ITOT
    assert (giving["deduction"], giving["gain"]) == ("16000.00", "4000.00")
    assert [(h["account"], h["symbol"]) for h in d["location"]["hints"]] == [("ira", "VTI"), ("tax", "VNQ")]
    assert Decimal(d["location"]["estimated_annual_savings"]) > 0
    cfg.write_text(cfg.read_text() + "[giving]\nreport_lots = 1\n")
    assert [x["lot_id"] for x in json.loads(tlh(cfg, "report", "--format", "json"))["giving"][0]["lots"]] == [
        "vti-low"]
    out = tlh(cfg, "report", "--year", "2024")
    assert "Lots to give first (h, prices as of 2024-05-29" in out and "vti-low" in out
    assert "Asset location (estimated yearly saving of the swaps: $" in out


def test_html_report_sections(cfg: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    tlh(cfg, "report", "--year", "2024", "--format", "html", "--output", str(page))
    text = page.read_text()
    assert 'id="giving"' in text and 'id="location"' in text
    giving = text[text.index('id="giving"'):text.index('id="location"')]
    assert "vti-low" in giving and "$5,000.00" in giving and "vti-short" not in giving
    location = text[text.index('id="location"'):text.index('id="notes"')]
    assert "us_reits" in location and "The swaps would save about $" in location
    chromium = shutil.which("chromium")
    if chromium is None:
        return
    shot = Path(os.environ.get("TLH_TEST_OUTPUT", tmp_path)) / "report-giving-location.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.stat().st_size > 10_000, result.stderr


def test_donate_says_when_a_loss_sale_blocks_buying_back(cfg: Path, tmp_path: Path) -> None:
    (tmp_path / "loss.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                       "2024-04-01,tax,VTI,buy,5,300,,vti-high\n"
                                       "2024-05-15,tax,VTI,sell,5,240,,vti-high\n")
    tlh(cfg, "import", str(tmp_path / "loss.csv"))
    until = json.loads(tlh(cfg, "restrictions", "--as-of", "2024-05-29", "--format", "json"))[0]["until"]
    d = json.loads(tlh(cfg, "donate", "6000", "--format", "json"))
    assert any("wash-sale window" in n and f"VTI from {until}" in n for n in d["notes"])


def test_record_books_the_gift_as_transfers_out(cfg: Path) -> None:
    before = {row["lot_id"]: row for row in json.loads(tlh(cfg, "lots", "--format", "json"))}
    d = json.loads(tlh(cfg, "donate", "6000", "--record", "--format", "json"))
    assert [(x["lot_id"], x["quantity"]) for x in d["lots"]] == [("vti-low", "20"), ("vti-mid", "4")]
    assert len(d["recorded"]) == 2 and all(t.startswith("gift-") for t in d["recorded"])
    after = {row["lot_id"]: row for row in json.loads(tlh(cfg, "lots", "--format", "json"))}
    assert "vti-low" in before and "vti-low" not in after  # all 20 shares given
    assert Decimal(after["vti-mid"]["quantity"]) == 6 and Decimal(after["vti-mid"]["cost_basis"]) == 1200
    assert after["vnq"] == before["vnq"] and after["vti-ira"] == before["vti-ira"]
    # a gift is no sale: nothing realized
    assert json.loads(tlh(cfg, "gains", "--format", "json")) == []
    # the next-best lots now: the rest of vti-mid, then VNQ
    again = json.loads(tlh(cfg, "donate", "2000", "--format", "json"))
    assert [x["lot_id"] for x in again["lots"]] == ["vti-mid", "vnq"]
    # a second --record the same day is refused and books nothing
    assert "already recorded (2 transfer(s) out" in tlh(cfg, "donate", "2000", "--record", code=2)
    assert {row["lot_id"] for row in json.loads(tlh(cfg, "lots", "--format", "json"))} == set(after)


def test_record_table_and_nothing_to_give(cfg: Path) -> None:
    out = " ".join(tlh(cfg, "donate", "1000", "--record", "--as-of", "2024-05-28").split())
    assert "recorded: 1 transfer(s) out of the ledger on 2024-05-28" in out
    assert "no lot to give: nothing was recorded" in tlh(cfg, "donate", "1", "--record", "--as-of", "2024-05-29",
                                                        code=2)
