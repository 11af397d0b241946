"""`[accounts.direct_index]`: the contract's keys, the shipped constituents file, errors naming file, key and
line."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_settings
from daemon.config.constituents import load_constituents

BASE = """
[[accounts]]
id = "di"
household = "h"
lot_method = "specific"
[accounts.direct_index]
"""
PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "tlh.toml"
    p.write_text(BASE + body)
    return p


def test_the_contract_and_the_shipped_constituents(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, 'constituents = "sp500.csv"\nexclude = ["xom", "sector:Energy"]\n'
                                       'tracking_error_budget = 0.02\nrealized_gain_budget_usd = 1500\n'))
    di = s.accounts[0].direct_index
    assert di is not None
    assert di.exclude == ["XOM", "sector:Energy"]
    assert (di.tracking_error_budget, di.realized_gain_budget_usd) == (Decimal("0.02"), Decimal(1500))
    members = load_constituents(Path(di.constituents))
    assert len(members) == 498 and sum(c.weight for c in members) == pytest.approx(Decimal(1))
    assert {c.sector for c in members} >= {"Energy", "Financials", "Information Technology"}
    assert all(c.sub_industry for c in members)


@pytest.mark.skipif(not (PRICES / "securities.csv").exists(), reason="shared price data not present")
def test_shipped_constituents_are_the_price_datas_stocks() -> None:
    with (PRICES / "securities.csv").open() as fh:
        stocks = {r["symbol"]: (r["sector"], r["sub_industry"]) for r in csv.DictReader(fh) if r["kind"] == "stock"}
    shipped = load_constituents(Path(__file__).resolve().parents[2] / "config" / "sp500.csv")
    assert {c.symbol: (c.sector, c.sub_industry) for c in shipped} == stocks


def test_own_file_with_weights_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "mine.csv").write_text("symbol,weight,sector,sub_industry\naaa,3,Tech,Chips\nBBB,1,Tech,\n")
    s = load_settings(_write(tmp_path, 'constituents = "mine.csv"\n'))
    di = s.accounts[0].direct_index
    assert di is not None and Path(di.constituents) == (tmp_path / "mine.csv").resolve()
    members = load_constituents(Path(di.constituents))
    assert [(c.symbol, c.weight) for c in members] == [("AAA", Decimal("0.75")), ("BBB", Decimal("0.25"))]


@pytest.mark.parametrize(("csv_text", "message"), [
    ("sym,weight\nA,1\n", "line 1: the header must be symbol,weight,sector,sub_industry"),
    ("symbol,weight,sector,sub_industry\nA,1,X,Y\nB,x,X,Y\n", "line 3: weight 'x' is not a number"),
    ("symbol,weight,sector,sub_industry\nA,1,X,Y\nA,1,X,Y\n", "line 3: A is listed twice (line 2)"),
    ("symbol,weight,sector,sub_industry\nA,1,X,Y\nB,,X,Y\n", "line 3: weight is empty while other lines"),
    ("symbol,weight,sector,sub_industry\nA,-1,X,Y\n", "line 2: weight must be zero or positive"),
    ("symbol,weight,sector,sub_industry\nA,1,X\n", "line 2: expected 4 fields, got 3"),
])
def test_bad_constituents_name_the_line(tmp_path: Path, csv_text: str, message: str) -> None:
    (tmp_path / "bad.csv").write_text(csv_text)
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, 'constituents = "bad.csv"\n'))
    assert "accounts[0].direct_index.constituents" in str(err.value) and message in str(err.value)
    assert "bad.csv" in str(err.value)


@pytest.mark.parametrize(("body", "message"), [
    ('constituents = "sp500.csv"\nexclude = ["NOPE", "sector:Mining"]\n',
     "accounts[0].direct_index.exclude: not in sp500.csv: NOPE, sector:Mining"),
    ('constituents = "sp500.csv"\ntracking_error_budget = 2\n', "accounts[0].direct_index.tracking_error_budget"),
    ('constituents = "sp500.csv"\nrealized_gain_budget_usd = -1\n',
     "accounts[0].direct_index.realized_gain_budget_usd"),
    ('constituents = "sp500.csv"\nbogus = 1\n', "accounts[0].direct_index.bogus: unknown key"),
    ('constituents = "missing.csv"\n', "file not found"),
    ('exclude = []\n', "accounts[0].direct_index.constituents: required key is missing"),
])
def test_bad_direct_index_config(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, body))
    assert message in str(err.value)


def test_only_a_taxable_account(tmp_path: Path) -> None:
    text = BASE.replace('lot_method = "specific"', 'type = "roth_ira"') + 'constituents = "sp500.csv"\n'
    (tmp_path / "tlh.toml").write_text(text)
    with pytest.raises(ConfigError, match="only a taxable account"):
        load_settings(tmp_path / "tlh.toml")
