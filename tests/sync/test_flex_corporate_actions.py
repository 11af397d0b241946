"""Issue 10 through an IBKR Flex report with Trades, Corporate Actions and Transfers sections: a 4:1 split
(FS), a symbol change (IC), a stock-for-stock merger (TC) and an ACATS transfer in with its basis are booked
by `tlh import`; `tlh sync` against the fake TWS (real ib_async) agrees; a sale of the post-split shares
shows the 1099-B's basis and date. A spin-off (SO, no basis allocation in the report) is quarantined."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.importers import ibkr_flex
from daemon.importers.csv_trades import TradeImportError
from tests.fakes.tws_server import FakeTws

CODE = "U5550001"


def row(tag: str, **attrs: str) -> str:
    return f"<{tag} " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + " />"


def trade(n: int, day: str, symbol: str, side: str, qty: str, price: str) -> str:
    return row("Trade", accountId=CODE, currency="USD", assetCategory="STK", symbol=symbol, tradeID=str(n),
               tradeDate=day, dateTime=f"{day};100000", quantity=qty, tradePrice=price, ibCommission="0",
               buySell=side, ibExecID=f"exec.{n}", levelOfDetail="EXECUTION")


def action(n: int, day: str, kind: str, symbol: str, qty: str, description: str, proceeds: str = "0",
           action_id: str | None = None) -> str:
    return row("CorporateAction", accountId=CODE, currency="USD", assetCategory="STK", symbol=symbol,
               reportDate=day, dateTime=f"{day};202500", quantity=qty, proceeds=proceeds, type=kind,
               actionDescription=description, transactionID=f"ca.{n}", actionID=action_id or f"act.{n}",
               levelOfDetail="DETAIL")


TRADES = [trade(1, "20220103", "AAPL", "BUY", "100", "180"), trade(2, "20220104", "FNDA", "BUY", "50", "30"),
          trade(3, "20220105", "OLDCO", "BUY", "30", "40")]
ACTIONS = [
    action(10, "20240610", "FS", "AAPL", "300", "AAPL(US0378331005) SPLIT 4 FOR 1 (AAPL, APPLE INC)"),
    action(11, "20240612", "IC", "FNDA", "-50", "FNDA(US1) CUSIP/ISIN CHANGE TO (US2) (FNDB)", action_id="a.ic"),
    action(12, "20240612", "IC", "FNDB", "50", "FNDA(US1) CUSIP/ISIN CHANGE TO (US2) (FNDB)", action_id="a.ic"),
    action(13, "20240614", "TC", "OLDCO", "-30", "OLDCO(US3) MERGED(Acquisition) WITH US4 1 FOR 2 (NEWCO)",
           action_id="a.tc"),
    action(14, "20240614", "TC", "NEWCO", "15", "OLDCO(US3) MERGED(Acquisition) WITH US4 1 FOR 2 (NEWCO)",
           action_id="a.tc"),
]
TRANSFERS = [row("Transfer", accountId=CODE, currency="USD", assetCategory="STK", symbol="VTI", date="20240301",
                 type="ACATS", direction="IN", quantity="20", costBasis="4000", holdingPeriodDateTime="20190415",
                 transactionID="tr.1")]
SALE = [trade(4, "20241104", "AAPL", "SELL", "-400", "40")]


def report(*sections: tuple[str, list[str]]) -> str:
    body = "".join(f"<{name}>\n" + "\n".join(rows) + f"\n</{name}>\n" for name, rows in sections)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<FlexQueryResponse queryName="q" type="AF">\n'
            f'<FlexStatements count="1">\n<FlexStatement accountId="{CODE}" fromDate="20220101" '
            f'toDate="20241231">\n{body}</FlexStatement>\n</FlexStatements>\n</FlexQueryResponse>\n')


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws() as tws:
        for symbol, price in {"AAPL": "40", "FNDB": "30", "NEWCO": "80", "VTI": "250"}.items():
            tws.set_price(symbol, price)
        yield tws


def invoke(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == code, result.output
    return result.output


def config(tmp_path: Path, db_url: str, port: int) -> Path:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(f"""
mode = "paper"
database_url = "{db_url}"
substitutes = ""
[[accounts]]
id = "ib"
household = "h"
broker = "ibkr"
broker_account = "{CODE}"
[brokers.ibkr]
port = {port}
timeout_seconds = 5
""")
    return cfg


def test_flex_corporate_actions_and_transfers_then_sync_and_gains(tmp_path: Path, tws: FakeTws, db_url: str,
                                                                   engine: Any) -> None:
    tws.add_account(CODE, 1000, {"AAPL": (400, 45), "FNDB": (50, 30), "NEWCO": (15, 80), "VTI": (20, 200)})
    cfg = config(tmp_path, db_url, tws.port)
    flex = tmp_path / "flex.xml"
    flex.write_text(report(("Trades", TRADES), ("CorporateActions", ACTIONS), ("Transfers", TRANSFERS)))
    out = invoke(cfg, "import", str(flex))
    assert "7 trade(s) added" in out, out
    lots = {(r["symbol"], Decimal(str(r["quantity"])), Decimal(str(r["cost_basis"])), r["acquired"])
            for r in json.loads(invoke(cfg, "lots", "--format", "json"))}
    assert lots == {("AAPL", 400, 18000, "2022-01-03"), ("FNDB", 50, 1500, "2022-01-04"),
                    ("NEWCO", 15, 1200, "2022-01-05"), ("VTI", 20, 4000, "2019-04-15")}
    assert "ib: 0 new fill(s), in sync" in invoke(cfg, "sync")
    assert "0 trade(s) added, 7 already present" in invoke(cfg, "import", str(flex))  # idempotent

    # The post-split shares sold: 400 acquired 2022-01-03, cost $18,000, proceeds $16,000, long-term.
    flex.write_text(report(("Trades", SALE)))
    invoke(cfg, "import", str(flex))
    (sale,) = json.loads(invoke(cfg, "gains", "--format", "json"))
    assert (sale["symbol"], Decimal(str(sale["quantity"])), sale["acquired"], sale["sold"], sale["term"]) == (
        "AAPL", 400, "2022-01-03", "2024-11-04", "long")
    assert (Decimal(str(sale["proceeds"])), Decimal(str(sale["cost_basis"])), Decimal(str(sale["gain"]))) == (
        Decimal(16000), Decimal(18000), Decimal(-2000))


def test_a_spin_off_is_quarantined_and_the_rest_imported(tmp_path: Path, tws: FakeTws, db_url: str,
                                                         engine: Any) -> None:
    tws.add_account(CODE, 1000, {"AAPL": (100, 180), "SPUN": (20, 10)})
    cfg = config(tmp_path, db_url, tws.port)
    flex = tmp_path / "flex.xml"
    spin = action(20, "20240701", "SO", "SPUN", "20", "AAPL(US0378331005) SPINOFF 1 FOR 5 (SPUN, SPUN CO)")
    flex.write_text(report(("Trades", TRADES[:1]), ("CorporateActions", [spin])))
    with pytest.raises(TradeImportError, match="Form 8937"):
        ibkr_flex.read(flex, {CODE: "ib"})
    out = invoke(cfg, "import", str(flex), code=1)
    assert "1 trade(s) added" in out and "QUARANTINED #1" in out and "Form 8937" in out, out
    out = invoke(cfg, "sync", code=1)
    assert "1 item(s) quarantined" in out and "SPUN: ledger 0 broker 20" in out, out
    actions = tmp_path / "actions.csv"
    actions.write_text("date,symbol,action,ratio,new_symbol,cash_per_share,basis_fraction,account\n"
                       "2024-07-01,AAPL,spinoff,0.2,SPUN,,0.1,ib\n")
    invoke(cfg, "import", str(actions), "--format", "actions")
    invoke(cfg, "quarantine", "resolve", "1", "--note", "spin-off booked from actions.csv (Form 8937: 10 %)")
    assert "ib: 0 new fill(s), in sync" in invoke(cfg, "sync")
