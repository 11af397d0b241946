"""`tlh gains --summary`: one row per return and year, the carry-forward chained over the years, separate
returns standing alone, households never netted together; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app

ACCOUNTS = """
[[accounts]]
id = "tax"
household = "h"
[[accounts]]
id = "spouse"
household = "h"
owner = "bob"
[[accounts]]
id = "other"
household = "g"
"""


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.output


def setup(tmp_path: Path, db_url: str, trades: str, extra: str = "") -> Path:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(f'database_url = "{db_url}"\nsubstitutes = ""\n{extra}\n{ACCOUNTS}')
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price\n" + trades)
    tlh(cfg, "import", str(tmp_path / "trades.csv"))
    return cfg


def summary(cfg: Path, *args: str) -> list[dict[str, str]]:
    return json.loads(tlh(cfg, "gains", "--summary", "--format", "json", *args))


CHAIN = """2022-01-03,tax,AAA,buy,100,100
2022-06-01,tax,AAA,sell,100,0.01
2021-01-04,tax,BBB,buy,10,100
2023-03-01,tax,BBB,sell,10,300
"""  # 2022: a short-term loss of 9,999; 2023: a long-term gain of 2,000


def test_carry_forward_chains_into_the_next_year(tmp_path: Path, db_url: str) -> None:
    cfg = setup(tmp_path, db_url, CHAIN)
    (y22,) = summary(cfg, "--year", "2022")
    assert (y22["taxpayer"], y22["net"], y22["ordinary_income_offset"], y22["carryforward_short"]) == (
        "h", "-9999.00", "3000.00", "6999.00")
    (y23,) = summary(cfg, "--year", "2023")
    assert {k: y23[k] for k in ("year", "short_term_net", "long_term_net", "net", "ordinary_income_offset",
                                "carryforward_short", "carryforward_long", "carryforward_in_short",
                                "carryforward_in_long", "disallowed", "permanently_disallowed")} == {
        "year": 2023, "short_term_net": "-6999.00", "long_term_net": "2000.00", "net": "-4999.00",
        "ordinary_income_offset": "3000.00", "carryforward_short": "1999.00", "carryforward_long": "0.00",
        "carryforward_in_short": "6999.00", "carryforward_in_long": "0.00", "disallowed": "0.00",
        "permanently_disallowed": "0.00"}
    # without --year: every year of every return, each with its own offset
    assert [(r["taxpayer"], r["year"], r["ordinary_income_offset"]) for r in summary(cfg)] == [
        ("h", 2022, "3000.00"), ("h", 2023, "3000.00")]
    # a later year with no sales still uses up the carry-forward
    (y24,) = summary(cfg, "--year", "2024")
    assert (y24["ordinary_income_offset"], y24["carryforward_short"]) == ("1999.00", "0.00")
    table = tlh(cfg, "gains", "--summary", "--year", "2023")
    assert "Schedule D by return 2023" in table and "-$4,999.00" in table


def test_prior_carry_forward_goes_into_its_named_year_only(tmp_path: Path, db_url: str) -> None:
    extra = "[tax]\nprior_carryforward_long = 1000\nprior_carryforward_year = 2023\nprior_carryforward_taxpayer = \"h\""
    cfg = setup(tmp_path, db_url, CHAIN, extra)
    y22, y23 = summary(cfg)
    assert y22["carryforward_in_long"] == "0.00" and y22["net"] == "-9999.00"
    assert (y23["carryforward_in_short"], y23["carryforward_in_long"], y23["net"]) == (
        "6999.00", "1000.00", "-5999.00")


SPOUSES = """2024-01-02,tax,AAA,buy,100,100
2024-03-01,tax,AAA,sell,100,50
2024-01-02,spouse,BBB,buy,100,100
2024-03-01,spouse,BBB,sell,100,150
2024-01-02,other,CCC,buy,10,100
2024-03-01,other,CCC,sell,10,50
"""  # tax (owner h): -5,000; spouse (owner bob): +5,000; household g: -500


def test_separate_returns_stand_alone(tmp_path: Path, db_url: str) -> None:
    extra = "[tax]\nordinary_income_offset = 1500\n[[households]]\nid = \"h\"\nfiling = \"separate\""
    cfg = setup(tmp_path, db_url, SPOUSES, extra)
    rows = {r["taxpayer"]: r for r in summary(cfg, "--year", "2024")}
    assert set(rows) == {"g", "h", "bob"}
    assert (rows["h"]["net"], rows["h"]["ordinary_income_offset"], rows["h"]["carryforward_short"]) == (
        "-5000.00", "1500.00", "3500.00")
    assert (rows["bob"]["net"], rows["bob"]["ordinary_income_offset"]) == ("5000.00", "0.00")
    assert (rows["g"]["net"], rows["g"]["ordinary_income_offset"]) == ("-500.00", "500.00")


def test_joint_return_combines_its_owners(tmp_path: Path, db_url: str) -> None:
    cfg = setup(tmp_path, db_url, SPOUSES)
    rows = {r["taxpayer"]: r for r in summary(cfg, "--year", "2024")}
    assert set(rows) == {"g", "h"}  # two households: never netted together
    assert (rows["h"]["net"], rows["h"]["ordinary_income_offset"]) == ("0.00", "0.00")
    assert rows["g"]["net"] == "-500.00"


@pytest.mark.parametrize(("extra", "message"), [
    ("[[households]]\nid = \"nope\"", "households[0].id: no account has household = 'nope'"),
    ("[[households]]\nid = \"g\"\nfiling = \"single\"\n[tax]\nprior_carryforward_short = 5",
     "tax.prior_carryforward_taxpayer: required with several returns"),
])
def test_household_config_errors_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(f'substitutes = ""\n{extra}\n{ACCOUNTS}')
    assert message in tlh(cfg, "config", "check", code=2)


def test_a_year_is_provisional_until_30_days_after_its_last_trading_day(tmp_path: Path) -> None:
    # The price file is the market: "today" is its last day. 2022's last session is Dec 30.
    extra = '[brokers.paper]\nprices = "prices.csv"'
    cfg = setup(tmp_path, f"sqlite:///{tmp_path / 'tlh.db'}", CHAIN, extra)
    for today, provisional in (("2023-01-27", True), ("2023-01-30", False)):
        (tmp_path / "prices.csv").write_text(f"date,symbol,close\n{today},AAA,1\n")
        (y22,) = summary(cfg, "--year", "2022")
        assert y22["provisional"] is provisional, today


def test_db_upgrade_recomputes_a_ledger_stored_under_an_earlier_edition_of_the_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.store import ledger_repo

    trades = "2024-01-02,tax,VOO,buy,10,400\n2024-03-01,tax,VOO,sell,10,350\n2024-03-05,spouse,VOO,buy,2,351\n"
    with monkeypatch.context() as m:
        m.setattr(ledger_repo, "RULES", 1)  # as an earlier edition stored it
        cfg = setup(tmp_path, f"sqlite:///{tmp_path / 'tlh.db'}", trades)
    before = tlh(cfg, "gains", "--format", "json")
    out = tlh(cfg, "db", "upgrade")
    assert "ledger recomputed for h: computed under an earlier edition of the rules" in out
    assert "recomputed" not in tlh(cfg, "db", "upgrade")  # once
    assert tlh(cfg, "gains", "--format", "json") == before  # the same rules for these trades: the same figures
