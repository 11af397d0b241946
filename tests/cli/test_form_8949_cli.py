"""`tlh gains --format 8949`: Form 8949 as a preparer files it against each broker's 1099-B (reported basis in
(e), codes B/W in (f), (g) to our figures), covered per lot, boxes C/F without a 1099-B, box totals equal to
the sum of the printed rows; CSV and printable HTML; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app

CONFIG = """
database_url = "{db}"
substitutes = ""
[[identical]]
symbols = ["VOO", "IVV"]
[[asset_classes]]
name = "large"
members = ["VOO", "VV"]
[[accounts]]
id = "tax"
household = "h"
[[accounts]]
id = "spouse"
household = "h"
owner = "bob"
[[accounts]]
id = "old"
household = "h"
[[accounts]]
id = "nob"
household = "h"
basis_reported = "none"
"""
TRADES = """date,account,symbol,side,quantity,price,fees
2023-01-03,tax,VOO,buy,100,400,
2023-03-01,tax,VOO,sell,100,380,
2023-03-10,spouse,IVV,buy,100,385,
2023-06-01,spouse,IVV,sell,100,390,
2010-05-03,old,XYZ,buy,10,50,
2015-05-01,old,XYZ,buy,10,60,
2023-07-03,old,XYZ,sell,20,70,
2023-02-01,nob,ABC,buy,3,33.333,
2023-04-03,nob,ABC,sell,1,30.111,0.35
2023-04-04,nob,ABC,sell,1,30.117,0.35
2023-04-05,nob,ABC,sell,1,30.113,0.35
"""


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.output


def _setup(tmp_path: Path, db: str) -> Path:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db))
    (tmp_path / "t.csv").write_text(TRADES)
    tlh(cfg, "import", str(tmp_path / "t.csv"))
    return cfg


def _form(cfg: Path, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(tlh(cfg, "gains", "--format", "8949", "--year", "2023", *args))))


def _line(form: list[dict[str, str]], description: str) -> dict[str, str]:
    (found,) = [x for x in form if x["(a) description"] == description]
    return found


def test_form_8949_against_the_1099b(tmp_path: Path, db_url: str) -> None:
    cfg = _setup(tmp_path, db_url)
    form = _form(cfg)
    # The spouse's IVV is the replacement of the VOO loss: its broker reports the unadjusted 38,500 and a gain
    # of 500; we carry the 2,000 disallowed loss: column (g) -2,000 with code B, (h) our loss of 1,500.
    ivv = _line(form, "100 sh. IVV")
    assert (ivv["box"], ivv["(e) cost basis"], ivv["(f) code"], ivv["(g) adjustment"], ivv["(h) gain or loss"]) == (
        "A", "38500.00", "B", "-2000.00", "-1500.00")
    assert (ivv["our basis"], ivv["1099-B basis"], ivv["(b) date acquired"]) == ("40500.00", "38500.00", "2023-01-12")
    # The VOO loss, washed by the spouse's purchase (another account: the 1099-B shows no wash): code W.
    voo = _line(form, "100 sh. VOO")
    assert (voo["box"], voo["(e) cost basis"], voo["(f) code"], voo["(g) adjustment"], voo["(h) gain or loss"]) == (
        "A", "40000.00", "W", "2000.00", "0.00")
    # Covered per lot: the 2010 shares are not covered (box E), the 2015 shares are (box D), one account.
    (old,) = [x for x in form if x["box"] == "E" and x["(a) description"] == "10 sh. XYZ"]
    (new,) = [x for x in form if x["box"] == "D" and x["(a) description"] == "10 sh. XYZ"]
    assert (old["covered"], old["(b) date acquired"], new["covered"]) == ("no", "2010-05-03", "yes")
    # No 1099-B: box C, our basis, nothing reported.
    nob = [x for x in form if x["box"] == "C" and not x["(a) description"].startswith("Totals")]
    assert len(nob) == 3 and all(x["1099-B basis"] == "" and x["(f) code"] == "" for x in nob)
    # Every box's totals are the sums of its printed rows, to the cent; every row ties out.
    boxes = {x["box"] for x in form}
    assert boxes == {"A", "C", "D", "E"}
    for b in boxes:
        rows = [x for x in form if x["box"] == b and not x["(a) description"].startswith("Totals")]
        (total,) = [x for x in form if x["box"] == b and x["(a) description"].startswith("Totals")]
        for col in ("(d) proceeds", "(e) cost basis", "(g) adjustment", "(h) gain or loss"):
            assert sum((Decimal(x[col] or 0) for x in rows), Decimal(0)) == Decimal(total[col]), (b, col)
        for x in rows:
            assert Decimal(x["(h) gain or loss"]) == (Decimal(x["(d) proceeds"]) - Decimal(x["(e) cost basis"])
                                                       + Decimal(x["(g) adjustment"] or 0))
    # Schedule D (gains --summary) is the sum of the form's rows.
    (summary,) = json.loads(tlh(cfg, "gains", "--summary", "--year", "2023", "--format", "json"))
    totals = {x["box"]: Decimal(x["(h) gain or loss"]) for x in form if x["(a) description"].startswith("Totals")}
    assert Decimal(summary["short_term_net"]) == totals["A"] + totals["C"]
    assert Decimal(summary["long_term_net"]) == totals["D"] + totals["E"]


def test_taxpayer_selects_a_return_or_an_owner(tmp_path: Path, db_url: str) -> None:
    cfg = _setup(tmp_path, db_url)
    bob = _form(cfg, "--taxpayer", "bob")
    assert {x["account"] for x in bob if x["account"]} == {"spouse"}
    assert {x["account"] for x in _form(cfg, "--taxpayer", "h") if x["account"]} == {"tax", "spouse", "old", "nob"}
    assert "unknown taxpayer 'ann'; returns and owners: bob, h" in tlh(
        cfg, "gains", "--format", "8949", "--taxpayer", "ann", code=2)


def test_printable_html_mirrors_the_form(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, f"sqlite:///{tmp_path / 'tlh.db'}")
    out = tmp_path / "out" / "f8949.html"
    tlh(cfg, "gains", "--format", "8949-html", "--year", "2023", "--output", str(out))
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<title>Form 8949 2023</title>" in html
    assert "(e) Cost or other basis" in html and "(g) Amount of adjustment" in html
    assert 'id="box-A"' in html and 'id="box-C"' in html and "2 Totals (box A)" in html
    assert "<td>100 sh. IVV</td><td>01/12/2023</td><td>06/01/2023</td>" in html
    assert '<td class="n">38,500.00</td><td>B</td><td class="n">(2,000.00)</td><td class="n">(1,500.00)</td>' in html
