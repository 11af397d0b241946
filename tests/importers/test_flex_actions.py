"""IBKR Flex Corporate Actions and Transfers -> ledger events, table-driven; what cannot be mapped is handed
back with its line and why (for the quarantine), never dropped."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from daemon.bookkeeping import ImportedAction
from daemon.importers import ibkr_flex
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger.actions import ActionKind
from daemon.ledger.types import Side
from tests.sync.test_flex_corporate_actions import CODE, action, report, row


def _read(tmp_path: Path, *sections: tuple[str, list[str]]) -> ibkr_flex.ImportReport:
    path = tmp_path / "flex.xml"
    path.write_text(report(*sections))
    return ibkr_flex.read_report(path, {CODE: "ib"})


@pytest.mark.parametrize(("rows", "kind", "fields"), [
    ([action(1, "20240610", "FS", "AAPL", "300", "AAPL(US1) SPLIT 4 FOR 1 (AAPL, APPLE INC)")],
     ActionKind.SPLIT, {"symbol": "AAPL", "ratio": Decimal(4)}),
    ([action(1, "20240610", "RS", "XYZ", "-90", "XYZ(US1) SPLIT 1 FOR 10 (XYZ, XYZ CORP)")],
     ActionKind.SPLIT, {"symbol": "XYZ", "ratio": Decimal("0.1")}),
    ([action(1, "20240610", "FS", "ABC", "-100", "no ratio here", action_id="x"),
      action(2, "20240610", "FS", "ABC", "150", "no ratio here", action_id="x")],
     ActionKind.SPLIT, {"symbol": "ABC", "ratio": Decimal("1.5")}),
    ([action(1, "20240614", "TC", "TGT", "-20", "TGT(US1) TENDERED TO US2 (TGT)", proceeds="1100")],
     ActionKind.CASH_MERGER, {"symbol": "TGT", "cash_per_share": Decimal(55)}),
    ([action(1, "20240614", "TC", "OLD", "-30", "OLD MERGED", proceeds="60", action_id="m"),
      action(2, "20240614", "TC", "NEW", "15", "OLD MERGED", action_id="m")],
     ActionKind.STOCK_MERGER, {"symbol": "OLD", "new_symbol": "NEW", "ratio": Decimal("0.5"),
                               "cash_per_share": Decimal(2)}),
    ([action(1, "20240612", "IC", "FB", "-10", "FB CHANGE", action_id="c"),
      action(2, "20240612", "IC", "META", "10", "FB CHANGE", action_id="c")],
     ActionKind.SYMBOL_CHANGE, {"symbol": "FB", "new_symbol": "META"}),
])
def test_corporate_actions(tmp_path: Path, rows: list[str], kind: ActionKind, fields: dict[str, object]) -> None:
    got = _read(tmp_path, ("CorporateActions", rows))
    assert not got.unmapped
    (item,) = got.imported
    assert isinstance(item, ImportedAction) and item.action.kind is kind and item.action.account == "ib"
    for name, value in fields.items():
        assert getattr(item.action, name) == value, name
    assert item.source == "ibkr" and item.action.action_id == f"ibkr-{item.external_id}"


@pytest.mark.parametrize(("rows", "why"), [
    ([action(1, "20240701", "SO", "SPUN", "20", "AAPL(US1) SPINOFF 1 FOR 5 (SPUN)")], "Form 8937"),
    ([action(1, "20240701", "DW", "ABC", "5", "ABC DIVIDEND RIGHTS")], "type DW is not one the importer maps"),
    ([action(1, "20240701", "TC", "OLD", "-30", "OLD MERGED")], "nothing in and no proceeds"),
    ([action(1, "20240701", "FS", "ABC", "50", "no ratio")], "ratio is not in the description"),
])
def test_unmapped_corporate_actions_come_back_with_their_line(tmp_path: Path, rows: list[str], why: str) -> None:
    got = _read(tmp_path, ("Trades", []), ("CorporateActions", rows))
    assert not got.imported
    ((line, activity),) = got.unmapped
    text = (tmp_path / "flex.xml").read_text().splitlines()
    assert why in (activity.problem or "") and text[line - 1].startswith("<CorporateAction ")
    with pytest.raises(TradeImportError, match=why):
        ibkr_flex.read(tmp_path / "flex.xml", {CODE: "ib"})


def test_transfers(tmp_path: Path) -> None:
    base = {"accountId": CODE, "currency": "USD", "assetCategory": "STK", "date": "20240301", "type": "ACATS"}
    rows = [row("Transfer", **base, symbol="VTI", direction="IN", quantity="20", costBasis="4000",
                holdingPeriodDateTime="20190415;000000", transactionID="t1"),
            row("Transfer", **base, symbol="BND", direction="OUT", quantity="-5", transactionID="t2"),
            row("Transfer", **base, symbol="SCHB", direction="IN", quantity="7", transactionID="t3")]
    got = _read(tmp_path, ("Transfers", rows))
    trades = [i.trade for i in got.imported if isinstance(i, ImportedTrade)]
    assert [(t.side, t.symbol, t.quantity, t.basis, str(t.acquired)) for t in trades] == [
        (Side.TRANSFER_IN, "VTI", 20, 4000, "2019-04-15"), (Side.TRANSFER_OUT, "BND", 5, None, "None")]
    ((_, unmapped),) = got.unmapped
    assert unmapped.symbol == "SCHB" and "without a cost basis" in (unmapped.problem or "")


def test_an_unknown_account_code_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "flex.xml"
    path.write_text(report(("CorporateActions", [action(1, "20240610", "FS", "AAPL", "300", "SPLIT 4 FOR 1")
                                                 .replace(CODE, "U0000000")])))
    with pytest.raises(TradeImportError, match="U0000000") as info:
        ibkr_flex.read_report(path, {CODE: "ib"})
    assert path.read_text().splitlines()[info.value.line - 1].startswith("<CorporateAction ")
