"""`tlh runs`, `tlh alerts` and `tlh report` on a household seeded through the CLI: a CSV import, a dry run,
then a paper harvest on the built-in paper broker (VTI down 8 %: sell 40 VTI, buy SCHB)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.config import load_settings
from daemon.report import build_report
from daemon.store.db import make_engine
from tests.cli.household import write_household


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.stdout


def seeded(tmp_path: Path, *, paper: bool = True, cfg: Path | None = None) -> Path:
    cfg = cfg or write_household(tmp_path)
    tlh(cfg, "harvest", "--dry-run")
    if paper:
        cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
        tlh(cfg, "harvest")
    return cfg


def test_runs_lists_both_runs_newest_first(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    runs = json.loads(tlh(cfg, "runs", "--format", "json"))
    assert [(r["mode"], r["status"], r["as_of"], r["pairs"], r["estimated_loss"]) for r in runs] == [
        ("paper", "executed", "2024-05-29", 1, "800.00"), ("dry-run", "dry-run", "2024-05-29", 1, "800.00")]
    assert all(r["id"].startswith("r20240529-") and r["finished_at"] for r in runs)
    assert "Harvest runs" in tlh(cfg, "runs")
    assert len(json.loads(tlh(cfg, "runs", "--limit", "1", "--format", "json"))) == 1


def test_alerts_since_and_deliver(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('jsonl_path = "alerts.jsonl"', ""))  # no channel while harvesting
    cfg = seeded(tmp_path, cfg=cfg)
    alerts = json.loads(tlh(cfg, "alerts", "--format", "json"))
    kinds = {a["kind"] for a in alerts}
    assert {"dry_run_plan", "orders_filled"} <= kinds
    assert not any(a["delivered"] for a in alerts)
    assert json.loads(tlh(cfg, "alerts", "--since", "2999-01-01", "--format", "json")) == []
    assert len(json.loads(tlh(cfg, "alerts", "--since", "2000-01-01", "--format", "json"))) == len(alerts)
    tlh(cfg, "alerts", "--since", "yesterday", code=2)
    out = tlh(cfg, "alerts", "--deliver")
    assert "no alert channel is configured" in out and f"{len(alerts)} alert(s) stay undelivered" in out
    cfg.write_text(cfg.read_text().replace("[alerts]\n", '[alerts]\njsonl_path = "alerts.jsonl"\n'))
    out = tlh(cfg, "alerts", "--deliver")
    assert f"delivery: {len(alerts)} of {len(alerts)} pending alert(s) delivered" in out
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == sorted(a["id"] for a in alerts)
    again = json.loads(tlh(cfg, "alerts", "--deliver", "--format", "json"))  # the summary goes to stderr
    assert all(a["delivered"] and a["delivered_to"] == ["jsonl"] for a in again)
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == len(lines)


def test_a_harvest_delivers_the_alerts_it_raises(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)  # the household's configuration has a JSON-lines channel
    alerts = json.loads(tlh(cfg, "alerts", "--format", "json"))
    assert {"dry_run_plan", "orders_filled"} <= {a["kind"] for a in alerts}
    assert all(a["delivered"] for a in alerts)
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == sorted(a["id"] for a in alerts)


def test_report_counts_the_daemons_harvest(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    report = json.loads(tlh(cfg, "report", "--year", "2024", "--format", "json"))
    assert report["year"] == 2024 and report["rates"] == {"short_term": "0.408", "long_term": "0.238"}
    (household,) = report["households"]
    tax = next(a for a in report["accounts"] if a["account"] == "tax")
    # 40 VTI sold at 230 less a 1 bp half-spread (229.977) against a 10,000 basis: a short-term loss of
    # 800.92, worth 800.92 x (0.37 + 0.038) at the margin. The ITOT loss of 05-10 was the user's own sale.
    assert (tax["harvested_short"], tax["harvested_long"], tax["tax_saved"]) == ("800.92", "0.00", "326.78")
    assert tax["harvest_sales"] == 1
    assert (tax["realized_short"], household["realized_short"]) == ("-1300.92", "-1300.92")
    assert household["harvested"] == "800.92" and household["ordinary_income_offset"] == "1300.92"
    assert (household["carryforward_short"], household["carryforward_long"]) == ("0.00", "0.00")
    # cash from the paper broker: 500 + 9,199.08 of proceeds - the SCHB buy, valued at the last closes
    assert Decimal(tax["cash"]) < Decimal(500) and tax["cash_pct"] is not None
    assert [(p["date"], p["harvested_loss"], p["tax_saved"]) for p in report["timeline"]] == [
        ("2024-05-29", "800.92", "326.78")]
    assert report == json.loads(tlh(cfg, "report", "--format", "json"))  # default year: TLH_AS_OF's (conftest)
    assert "Households 2024" in tlh(cfg, "report", "--year", "2024")


def test_a_dry_run_harvests_nothing(tmp_path: Path) -> None:
    cfg = seeded(tmp_path, paper=False)
    report = json.loads(tlh(cfg, "report", "--year", "2024", "--format", "json"))
    assert report["households"][0]["harvested"] == "0.00" and report["timeline"] == []
    assert report["households"][0]["realized_short"] == "-500.00"  # the user's own ITOT sale


def test_a_later_wash_sale_shows_as_disallowed(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    (tmp_path / "roth.csv").write_text("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                       "2024-06-05,ira,VTI,buy,40,231,,vti-ira\n")
    tlh(cfg, "import", str(tmp_path / "roth.csv"))
    report = json.loads(tlh(cfg, "report", "--year", "2024", "--format", "json"))
    tax = next(a for a in report["accounts"] if a["account"] == "tax")
    # the Roth bought back all 40 VTI within 30 days: the whole harvested loss is lost for good
    assert (tax["harvested"], tax["tax_saved"], tax["disallowed_permanent"]) == ("0.00", "0.00", "800.92")


def test_restrictions_are_the_open_windows_on_the_day(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    settings = load_settings(cfg)
    engine = make_engine(settings.database_url)
    try:
        report = build_report(engine, settings, 2024, date(2024, 6, 1))
    finally:
        engine.dispose()
    (household,) = report.households
    assert {(r["symbol"], r["until"]) for r in household.restrictions} == {
        ("VTI", date(2024, 6, 29)), ("ITOT", date(2024, 6, 10))}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_report_is_one_self_contained_page(tmp_path: Path) -> None:
    cfg = seeded(tmp_path)
    out = tmp_path / "site" / "report.html"
    tlh(cfg, "report", "--year", "2024", "--format", "html", "--output", str(out))
    text = out.read_text()
    page = _Page()
    page.feed(text)
    tags = [t for t, _ in page.tags]
    assert text.startswith("<!DOCTYPE html>") and "<title>Tax-loss harvesting report 2024</title>" in text
    assert tags.count("svg") == 1 and tags.count("path") == 2 and tags.count("circle") == 2  # two series, one day
    assert {"style", "table"} <= set(tags)
    assert not {"script", "link", "img", "iframe"} & set(tags)  # nothing fetched at view time
    urls = [v for _, attrs in page.tags for k, v in attrs.items() if k in ("src", "href") and v]
    assert urls == []
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert {"totals", "chart", "households", "accounts", "restrictions", "notes"} <= ids
    assert "$800.92" in text and "$326.78" in text
    tlh(cfg, "report", "--format", "table", "--output", str(out), code=2)
