"""IBKR Flex "Trades" XML -> trades: STK executions only, exact decimals, commissions as fees, account codes
mapped to our accounts, errors naming the file and the <Trade> element's line."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemon.importers import ibkr_flex
from daemon.importers.csv_trades import TradeImportError
from daemon.ledger.types import Side

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ibkr_flex_trades.xml"
CODES = {"U1234567": "ib-taxable", "U7654321": "ira"}


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_fixture_stock_executions() -> None:
    imported = ibkr_flex.read(FIXTURE, CODES)
    got = [(i.trade.date, i.trade.account, i.trade.symbol, i.trade.side, i.trade.quantity, i.trade.price,
            i.trade.fees) for i in imported]
    assert got == [
        # two executions of one order: two trades (two lots)
        (date(2024, 3, 5), "ib-taxable", "VTI", Side.BUY, Decimal("40"), Decimal("248.12"), Decimal("1")),
        (date(2024, 3, 5), "ib-taxable", "VTI", Side.BUY, Decimal("10"), Decimal("248.13"), Decimal("0.35")),
        (date(2024, 3, 11), "ib-taxable", "SCHB", Side.BUY, Decimal("0.3712"), Decimal("58.7421"),
         Decimal("0.0109025")),
        (date(2024, 4, 2), "ib-taxable", "BRK.B", Side.BUY, Decimal("3"), Decimal("410.55"), Decimal("1")),
        # sells: IB's quantity -25 becomes 25; commission -1.02771 becomes fees 1.02771
        (date(2024, 4, 16), "ib-taxable", "VTI", Side.SELL, Decimal("25"), Decimal("239.5"),
         Decimal("1.02771")),
        (date(2024, 4, 16), "ira", "ITOT", Side.BUY, Decimal("52"), Decimal("114.86"), Decimal("1")),
    ]
    text = FIXTURE.read_text()
    for item in imported:
        assert item.source == "ibkr"
        assert item.trade.trade_id == f"ibkr-{item.external_id}"
        assert f'ibExecID="{item.external_id}"' in text.splitlines()[item.line - 1]
        assert item.trade.quantity > 0 and item.trade.fees >= 0
    # Skipped: the OPT and CASH executions, the <Order> (ORDER) and <Lot> (CLOSED_LOT) rows.
    assert {i.trade.symbol for i in imported} == {"VTI", "SCHB", "BRK.B", "ITOT"}


def _report(*trades: str, statement: str = "U1234567") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<FlexQueryResponse queryName="q" type="AF">\n'
            '<FlexStatements count="1">\n'
            f'<FlexStatement accountId="{statement}" fromDate="20240101" toDate="20241231">\n<Trades>\n'
            + "\n".join(trades) + "\n</Trades>\n</FlexStatement>\n</FlexStatements>\n</FlexQueryResponse>\n")


def _trade(**attrs: str) -> str:
    base = {"accountId": "U1234567", "currency": "USD", "assetCategory": "STK", "symbol": "VTI",
            "tradeID": "100", "tradeDate": "20240305", "quantity": "40", "tradePrice": "248.12",
            "ibCommission": "-1", "openCloseIndicator": "O", "buySell": "BUY", "ibExecID": "0000e0d5.1.01.01",
            "levelOfDetail": "EXECUTION"}
    base.update(attrs)
    return "<Trade " + " ".join(f'{k}="{v}"' for k, v in base.items() if v is not None) + " />"


def _read(tmp_path: Path, text: str, codes: dict[str, str] = CODES) -> list[ibkr_flex.ImportedTrade]:
    path = tmp_path / "flex.xml"
    path.write_text(text)
    return ibkr_flex.read(path, codes)


def _error(tmp_path: Path, text: str, needle: str, codes: dict[str, str] = CODES) -> TradeImportError:
    with pytest.raises(TradeImportError) as info:
        _read(tmp_path, text, codes)
    err = info.value
    assert err.path == str(tmp_path / "flex.xml")
    assert err.line == _line_of(text, needle)
    assert str(err).startswith(f"{tmp_path / 'flex.xml'}:{err.line}: Trade ")
    return err


def test_unknown_account_code_is_named(tmp_path: Path) -> None:
    text = _report(_trade(), _trade(accountId="U9999999", ibExecID="x.2"))
    err = _error(tmp_path, text, 'ibExecID="x.2"')
    assert "'U9999999'" in err.reason and "Trade 2" in err.reason
    assert "U1234567, U7654321" in err.reason


def test_missing_account_id_falls_back_to_the_statement(tmp_path: Path) -> None:
    (item,) = _read(tmp_path, _report(_trade(accountId=None), statement="U7654321"))
    assert item.trade.account == "ira"


def test_numbers_are_exact_and_symbols_stay_text(tmp_path: Path) -> None:
    # ib_async's default parseNumbers would make NAN a float nan and the prices floats.
    (item,) = _read(tmp_path, _report(_trade(symbol="NAN", tradePrice="14.0703", quantity="1234.5678",
                                             ibCommission="-6.172839")))
    trade = item.trade
    assert (trade.symbol, trade.price, trade.quantity, trade.fees) == (
        "NAN", Decimal("14.0703"), Decimal("1234.5678"), Decimal("6.172839"))


def test_zero_commission_and_trade_id_fallback(tmp_path: Path) -> None:
    (item,) = _read(tmp_path, _report(_trade(ibCommission="0", ibExecID=None, tradeID="6711263890")))
    assert item.external_id == "6711263890" and item.trade.trade_id == "ibkr-6711263890"
    assert str(item.trade.fees) == "0"
    (item,) = _read(tmp_path, _report(_trade(ibCommission=None, tradeDate="2024-03-05")))
    assert item.trade.fees == 0 and item.trade.date == date(2024, 3, 5)


def test_repeated_execution_counts_once(tmp_path: Path) -> None:
    assert len(_read(tmp_path, _report(_trade(), _trade()))) == 1
    err = _error(tmp_path, _report(_trade(), _trade(quantity="41", tradeID="7")), 'quantity="41"')
    assert "already appears on line" in err.reason


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"currency": "EUR"}, "EUR trades are not supported"),
        ({"buySell": "SELL (Ca.)", "quantity": "-40"}, "buySell: expected BUY or SELL"),
        ({"buySell": "SELL", "quantity": "-40", "openCloseIndicator": "O"}, "short sale"),
        ({"quantity": "0"}, "quantity: must not be zero"),
        ({"quantity": "many"}, "quantity: not a number"),
        ({"tradePrice": None}, "tradePrice: missing"),
        ({"tradeDate": "03/05/2024"}, "tradeDate: expected YYYYMMDD"),
        ({"ibCommission": "0.25"}, "commission credit"),
        ({"ibExecID": None, "tradeID": None}, "ibExecID and tradeID: both missing"),
        ({"symbol": ""}, "symbol: missing"),
    ],
)
def test_bad_trade_names_its_line(tmp_path: Path, attrs: dict[str, str | None], message: str) -> None:
    text = _report(_trade(ibExecID="ok.1"), _trade(**{"ibExecID": "bad.1", "description": "BAD", **attrs}))
    err = _error(tmp_path, text, 'description="BAD"')
    assert "Trade 2:" in err.reason and message in err.reason


def test_non_stock_and_non_execution_rows_are_skipped(tmp_path: Path) -> None:
    text = _report(_trade(assetCategory="OPT", accountId="U0000000"),
                   _trade(levelOfDetail="SYMBOL_SUMMARY", accountId="U0000000"),
                   _trade(levelOfDetail=None, ibExecID="plain.1"))
    (item,) = _read(tmp_path, text)
    assert item.external_id == "plain.1"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TradeImportError, match="cannot read"):
        ibkr_flex.read(tmp_path / "missing.xml", CODES)
    path = tmp_path / "bad.xml"
    path.write_text("<FlexQueryResponse>\n<FlexStatements>\n</FlexQueryResponse>\n")
    with pytest.raises(TradeImportError, match=r"bad.xml:3: not valid XML"):
        ibkr_flex.read(path, CODES)
    path.write_text("<FlexStatementResponse><Status>Fail</Status></FlexStatementResponse>")
    with pytest.raises(TradeImportError, match="not a Flex report"):
        ibkr_flex.read(path, CODES)
    assert _read(tmp_path, _report()) == []


def test_accounts_by_code() -> None:
    accounts = [SimpleNamespace(id="a", broker_account="U1"), SimpleNamespace(id="b", broker_account=None),
                SimpleNamespace(id="c", broker_account=" U2 ")]
    assert ibkr_flex.accounts_by_code(accounts) == {"U1": "a", "U2": "c"}
    with pytest.raises(ValueError, match="both have broker_account 'U1'"):
        ibkr_flex.accounts_by_code([*accounts, SimpleNamespace(id="d", broker_account="U1")])


def test_executions_keep_their_time_and_order() -> None:
    # Flex dateTime "20240305;101123" is on the exchange's clock; ibOrderID groups one order's executions.
    imported = ibkr_flex.read(FIXTURE, CODES)
    first, second = imported[0].trade, imported[1].trade
    assert (first.time, second.time) == (time(10, 11, 23), time(10, 11, 25))
    assert first.order_id == second.order_id == "3482910233"


@pytest.mark.parametrize(("stamp", "expected"), [
    ("20240305;101123", time(10, 11, 23)), ("2024-03-05;10:11:23", time(10, 11, 23)),
    ("2024-03-05 09:30", time(9, 30)), ("20240305", None), ("20240305;99", None), ("", None)])
def test_flex_date_time_formats(stamp: str, expected: time | None) -> None:
    assert ibkr_flex._time_of(stamp) == expected
