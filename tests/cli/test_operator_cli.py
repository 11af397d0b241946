"""What an operator sees: one "today" across commands, a reason for an empty plan, a cut-short sale explained,
CSV for the listings, money and quantities as people write them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli import dates
from daemon.cli.main import app
from daemon.cli.render import money, price, quantity, text_of
from daemon.config import load_settings
from daemon.prices import parse
from tests.cli.household import write_household


def tlh(cfg: Path, *args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args], env={"COLUMNS": "200", **(env or {})})
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def test_today_is_the_exchange_date_or_the_price_files_last_day_if_earlier(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    settings = load_settings(cfg)
    late_evening = datetime(2024, 5, 30, 3, 30, tzinfo=UTC)  # still the 29th in New York
    assert dates.exchange_today(settings, late_evening) == date(2024, 5, 29)
    book = parse("date,symbol,close\n2024-05-28,VTI,1\n")
    assert dates.today(settings, book, late_evening) == date(2024, 5, 28)  # the file ends before today
    assert dates.today(settings, book, datetime(2024, 5, 1, 15, tzinfo=UTC)) == date(2024, 5, 1)


def test_restrictions_and_report_look_from_the_day_the_harvest_planned(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
    plan = json.loads(tlh(cfg, "harvest", "--format", "json"))
    assert plan["as_of"] == "2024-05-29" and [p["sell_symbol"] for p in plan["pairs"]] == ["VTI"]
    # Right after the harvest, without --as-of, the do-not-buy list has what it sold.
    rows = json.loads(tlh(cfg, "restrictions", "--format", "json"))
    assert {(r["symbol"], r["until"]) for r in rows} >= {("VTI", "2024-06-29")}
    report = json.loads(tlh(cfg, "report", "--format", "json"))
    assert report["year"] == 2024 and report["as_of"] == "2024-05-29"
    assert {r["symbol"] for h in report["households"] for r in h["restrictions"]} >= {"VTI"}
    # TLH_AS_OF moves every command at once.
    later = json.loads(tlh(cfg, "restrictions", "--format", "json", env={"TLH_AS_OF": "2024-07-01"}))
    assert later == []


def test_an_empty_plan_says_why(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    # Planned long after the price file ends: the prices are too old.
    out = tlh(cfg, "harvest", "--dry-run", "--as-of", "2024-07-01")
    assert "no pairs; the latest prices are from 2024-05-29, 33 days before 2024-07-01" in out
    assert "--as-of 2024-05-29" in out
    # No price file at all for the symbols held.
    (tmp_path / "prices.csv").write_text("date,symbol,close\n2024-05-29,XYZ,1\n")
    plan = json.loads(tlh(cfg, "harvest", "--dry-run", "--format", "json"))
    assert plan["pairs"] == [] and plan["note"].startswith("no price on or before 2024-05-29 for any symbol held")
    # No positions: an empty household.
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "prices.csv").write_text((tmp_path / "prices.csv").read_text())
    (empty / "tlh.toml").write_text(cfg.read_text())
    plan = json.loads(tlh(empty / "tlh.toml", "harvest", "--dry-run", "--format", "json"))
    assert plan["note"].startswith("no open position in a taxable account")


def test_a_cut_short_sale_is_explained_in_the_table_and_the_csv(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    # Value: 40 VTI x 230 + 500 cash = 9,700; a 50 % cap leaves $4,850 of sales: 21.086956 of 40 shares.
    cfg.write_text(cfg.read_text().replace("max_turnover_pct = 1", "max_turnover_pct = 0.5"))
    out = tlh(cfg, "harvest", "--dry-run")
    assert "Skipped or cut short, and why" in out and "turnover_cap (partial, p1)" in out
    assert "21.087 " in out  # the pair's quantity, to four decimals
    rows = list(csv.DictReader(io.StringIO(tlh(cfg, "harvest", "--dry-run", "--format", "csv"))))
    (pair,) = [r for r in rows if r["record"] == "pair"]
    assert (pair["symbol"], pair["sell_quantity"], pair["reason"]) == ("VTI", "21.086956", "turnover_cap")
    assert "$4,850.00 of turnover left" in pair["detail"]


def test_listings_have_csv(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    tlh(cfg, "harvest", "--dry-run")
    lots = list(csv.DictReader(io.StringIO(tlh(cfg, "lots", "--format", "csv"))))
    assert {r["lot_id"]: (r["quantity"], r["cost_basis"]) for r in lots} == {
        "vti-1": ("40", "10000.00"), "schb-ira": ("10", "540.00")}
    runs = list(csv.DictReader(io.StringIO(tlh(cfg, "runs", "--format", "csv"))))
    assert [(r["mode"], r["pairs"]) for r in runs] == [("dry-run", "1")]
    alerts = list(csv.DictReader(io.StringIO(tlh(cfg, "alerts", "--format", "csv"))))
    assert "dry_run_plan" in {r["kind"] for r in alerts}
    assert next(csv.reader(io.StringIO(tlh(cfg, "orders", "--format", "csv"))))[:3] == ["run_id", "pair_id", "leg"]
    restrictions = list(csv.DictReader(io.StringIO(tlh(cfg, "restrictions", "--format", "csv"))))
    assert [r["symbol"] for r in restrictions] == ["ITOT"]


def test_values_as_people_write_them() -> None:
    assert money("1240.874") == "$1,240.87" and money("-1014.765") == "-$1,014.76"
    assert price("182.368") == "$182.3680" and price("270") == "$270.00"
    assert quantity("18.518518519") == "18.5185" and quantity("200.000000") == "200"
    assert quantity("1250.5") == "1,250.5" and quantity("0.00001") == "0.00001"
    assert text_of(["VXUS-2021-08-02", "VXUS-2022-03-01"]) == "VXUS-2021-08-02, VXUS-2022-03-01"
    assert text_of({"status": "filled", "filled_quantity": "40"}) == "status: filled, filled_quantity: 40"


def test_the_report_ties_out_to_the_gains_table_cent_for_cent(tmp_path: Path) -> None:
    # Two sales at $1.005 a share: each row prints proceeds $1.00 (half to even) and a gain of -$1.00; the
    # unrounded total would be -$2.01, one cent off the table's -$2.00.
    cfg = write_household(tmp_path)
    (tmp_path / "more.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                       "2024-02-01,tax,XYZ,buy,2,2,,xyz-1\n"
                                       "2024-03-01,tax,XYZ,sell,1,1.005,,xyz-1\n"
                                       "2024-03-04,tax,XYZ,sell,1,1.005,,xyz-1\n")
    tlh(cfg, "import", str(tmp_path / "more.csv"))
    rows = [r for r in json.loads(tlh(cfg, "gains", "--year", "2024", "--format", "json")) if r["symbol"] == "XYZ"]
    assert [r["gain"] for r in rows] == ["-1.00", "-1.00"]
    table_total = sum(Decimal(r["gain"]) for r in json.loads(tlh(cfg, "gains", "--year", "2024", "--format", "json")))
    (household,) = json.loads(tlh(cfg, "report", "--year", "2024", "--format", "json"))["households"]
    assert Decimal(household["realized_short"]) + Decimal(household["realized_long"]) == table_total == Decimal(
        "-502.00")


def test_commands_that_do_not_list_refuse_csv_and_the_others_print_it(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    assert "the settings are not a listing" in tlh(cfg, "config", "check", "--format", "csv", code=2)
    assert "sync reports, it does not list" in tlh(cfg, "sync", "--format", "csv", code=2)
    assert "status is not a listing" in tlh(cfg, "status", "--format", "csv", code=2)
    hints = list(csv.DictReader(io.StringIO(tlh(cfg, "location", "--format", "csv"))))
    assert all(h["household"] == "h" for h in hints)
