"""Alpaca FILL activities -> trades: SDK-validated, exact decimals, New York trade dates, item-indexed errors."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.importers import alpaca_activities
from daemon.importers.csv_trades import TradeImportError
from daemon.ledger.types import Side

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca_fill_activities.json"


@pytest.fixture
def items() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())


def test_fixture_becomes_one_trade_per_fill() -> None:
    imported = alpaca_activities.read(FIXTURE, "taxable")
    got = [(i.line, i.trade.date, i.trade.symbol, i.trade.side, i.trade.quantity, i.trade.price)
           for i in imported]
    assert got == [
        (1, date(2024, 1, 8), "VTI", Side.BUY, Decimal("20"), Decimal("234.56")),
        (2, date(2024, 1, 8), "VXUS", Side.BUY, Decimal("30"), Decimal("57.12")),  # partial fill
        (3, date(2024, 1, 8), "VXUS", Side.BUY, Decimal("20"), Decimal("57.13")),  # the rest of the order
        (4, date(2024, 1, 9), "VTI", Side.BUY, Decimal("0.5234"), Decimal("235.1")),
        (5, date(2024, 1, 9), "BND", Side.BUY, Decimal("15"), Decimal("72.48")),  # 00:40 UTC on Jan 10
        (6, date(2024, 1, 11), "VTI", Side.SELL, Decimal("10"), Decimal("232.05")),
        (7, date(2024, 1, 12), "VXUS", Side.SELL, Decimal("25"), Decimal("56.8")),
        (8, date(2024, 1, 16), "VTI", Side.BUY, Decimal("5"), Decimal("233.2")),
        (9, date(2024, 1, 17), "BND", Side.SELL, Decimal("15"), Decimal("72.9")),
    ]
    for item in imported:
        assert item.source == "alpaca"
        assert item.trade.account == "taxable"
        assert item.trade.fees == 0 and str(item.trade.fees) == "0"
        assert item.trade.trade_id == f"alpaca-{item.external_id}"
        assert item.trade.lot_id is None
    raw = json.loads(FIXTURE.read_text())
    assert [i.external_id for i in imported] == [r["id"] for r in raw]
    # The partial-fill pair: one order, two trades (two lots), quantities exact.
    assert raw[1]["order_id"] == raw[2]["order_id"]
    assert imported[1].trade.trade_id != imported[2].trade.trade_id


def test_near_midnight_utc_is_the_previous_new_york_day(items: list[dict[str, Any]]) -> None:
    (after_hours,) = [i for i in items if i["symbol"] == "BND" and i["side"] == "buy"]
    assert after_hours["transaction_time"].startswith("2024-01-10T00:40")
    (trade,) = [i.trade for i in alpaca_activities.parse([after_hours], "taxable", "x.json")]
    assert trade.date == date(2024, 1, 9)


def test_summer_time_uses_edt(items: list[dict[str, Any]]) -> None:
    item = dict(items[0], transaction_time="2024-07-02T03:59:59Z")  # 23:59:59 EDT on Jul 1
    assert alpaca_activities.parse([item], "a", "x.json")[0].trade.date == date(2024, 7, 1)
    item = dict(items[0], transaction_time="2024-07-02T04:00:00Z")
    assert alpaca_activities.parse([item], "a", "x.json")[0].trade.date == date(2024, 7, 2)
    item = dict(items[0], transaction_time="2024-07-01T23:30:00-04:00")
    assert alpaca_activities.parse([item], "a", "x.json")[0].trade.date == date(2024, 7, 1)


def test_quantities_and_prices_never_pass_through_float(items: list[dict[str, Any]]) -> None:
    item = dict(items[0], qty="0.123456789", price="187.4312")
    trade = alpaca_activities.parse([item], "a", "x.json")[0].trade
    assert trade.quantity == Decimal("0.123456789") and trade.price == Decimal("187.4312")
    # JSON numbers (not the API's strings) too, whether decoded as floats or as Decimals.
    item = dict(items[0], qty=0.1, price=187.4312)
    trade = alpaca_activities.parse([item], "a", "x.json")[0].trade
    assert trade.quantity == Decimal("0.1") and trade.price == Decimal("187.4312")


def test_read_decodes_json_numbers_as_decimals(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    path = tmp_path / "fills.json"
    text = json.dumps([dict(items[0], qty="@Q", price="@P")])
    path.write_text(text.replace('"@Q"', "2.5").replace('"@P"', "99.995"))
    trade = alpaca_activities.read(path, "a")[0].trade
    assert (trade.quantity, trade.price) == (Decimal("2.5"), Decimal("99.995"))


def test_account_id_is_accepted_when_present(items: list[dict[str, Any]]) -> None:
    item = dict(items[0], account_id="a8d2e0f4-4b9c-4f1e-9d7a-2c3b4a5d6e7f")  # as the Broker API sends
    assert alpaca_activities.parse([item], "ours", "x.json")[0].trade.account == "ours"


def _error(items: list[Any], n: int) -> TradeImportError:
    with pytest.raises(TradeImportError) as info:
        alpaca_activities.parse(items, "taxable", "fills.json")
    err = info.value
    assert err.path == "fills.json" and err.line == n
    assert str(err).startswith(f"fills.json:{n}: item {n}: ")
    return err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price": None}, "price: missing"),
        ({"activity_type": "OPASN"}, "activity type OPASN is not one the adapter maps"),
        ({"side": "sell_short"}, "sell_short (a short sale) is not supported"),
        ({"side": "hold"}, "side: "),
        ({"qty": "0"}, "qty: must be positive"),
        ({"qty": "ten"}, "qty: Input should be a valid number"),
        ({"price": "-1"}, "price: must not be negative"),
        ({"price": "NaN"}, "price: not a number"),
        ({"transaction_time": "yesterday"}, "transaction_time: "),
        ({"transaction_time": "2024-01-10T00:40:12"}, "transaction_time: no time zone"),
        ({"type": "fil"}, "type: "),
        ({"order_id": "not-a-uuid"}, "order_id: "),
    ],
)
def test_bad_item_names_the_item(items: list[dict[str, Any]], change: dict[str, Any], message: str) -> None:
    bad = copy.deepcopy(items)
    for key, value in change.items():
        if value is None:
            del bad[3][key]
        else:
            bad[3][key] = value
    err = _error(bad, 4)
    assert message in err.reason


def test_a_non_object_item_is_named(items: list[dict[str, Any]]) -> None:
    assert "not a JSON object" in _error([items[0], "FILL"], 2).reason


def test_repeated_activity_counts_once_and_conflicting_repeat_fails(items: list[dict[str, Any]]) -> None:
    again = alpaca_activities.parse([*items, items[2]], "a", "x.json")
    assert len(again) == len(items)
    err = _error([*items, dict(items[2], qty="21")], len(items) + 1)
    assert "already used by item 3" in err.reason


def test_not_an_array_or_not_json(tmp_path: Path) -> None:
    path = tmp_path / "fills.json"
    path.write_text('{"activities": []}')
    with pytest.raises(TradeImportError, match="expected a JSON array"):
        alpaca_activities.read(path, "a")
    path.write_text("[\n{,}\n]")
    with pytest.raises(TradeImportError, match=r"fills.json:2: not valid JSON"):
        alpaca_activities.read(path, "a")
    with pytest.raises(TradeImportError, match="cannot read"):
        alpaca_activities.read(tmp_path / "missing.json", "a")
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert alpaca_activities.read(empty, "a") == []


def test_fills_keep_their_exchange_time_and_order() -> None:
    imported = alpaca_activities.read(FIXTURE, "taxable")
    first = imported[0].trade
    # 14:31:05 UTC in January is 09:31:05 in New York.
    assert first.time == time(9, 31, 5, 123456)
    assert first.order_id == "8e1f7c3a-2d4b-4f6e-8a9c-0b1d2e3f4a51"
    # The two partial fills of one VXUS order share it (one sale, had it been a sell).
    assert imported[1].trade.order_id == imported[2].trade.order_id is not None
