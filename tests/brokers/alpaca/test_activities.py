"""Alpaca non-trade activities -> neutral activities: pairs by date, ratios exact, what cannot be mapped
handed back with why (never dropped); through the real alpaca-py against the fake for the paging."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from brokers.alpaca import AlpacaBroker
from brokers.alpaca.activities import non_trade
from brokers.protocol import ActivityKind
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca

DAY = "2024-06-10"


def nta(n: int, kind: str, symbol: str, qty: str | None, net: str = "0", day: str = DAY,
        **extra: Any) -> dict[str, Any]:
    return {"id": f"20240610000000000::{n:04d}", "activity_type": kind, "date": day, "symbol": symbol,
            "qty": qty, "net_amount": net, **extra}


@pytest.mark.parametrize(("items", "expected"), [
    ([nta(1, "SPLIT", "AAPL", "-100"), nta(2, "SPLIT", "AAPL", "400")],
     (ActivityKind.SPLIT, "AAPL", {"ratio": Decimal(4)})),
    ([nta(1, "SPLIT", "XYZ", "-100"), nta(2, "SPLIT", "XYZ", "10")],  # 1:10 reverse split
     (ActivityKind.SPLIT, "XYZ", {"ratio": Decimal("0.1")})),
    ([nta(1, "SSP", "AAPL", "-7"), nta(2, "SSP", "AAPL", "28")],  # the former code
     (ActivityKind.SPLIT, "AAPL", {"ratio": Decimal(4)})),
    ([nta(1, "NC", "FNDA", "-50"), nta(2, "NC", "FNDB", "50")],
     (ActivityKind.SYMBOL_CHANGE, "FNDA", {"new_symbol": "FNDB"})),
    ([nta(1, "SC", "FB", "-10"), nta(2, "SC", "META", "10")],
     (ActivityKind.SYMBOL_CHANGE, "FB", {"new_symbol": "META"})),
    ([nta(1, "MA", "OLD", "-30"), nta(2, "MA", "NEW", "15")],
     (ActivityKind.STOCK_MERGER, "OLD", {"ratio": Decimal("0.5"), "new_symbol": "NEW", "cash_per_share": None})),
    ([nta(1, "MA", "OLD", "-30", "60"), nta(2, "MA", "NEW", "15")],  # $2 a share boot
     (ActivityKind.STOCK_MERGER, "OLD", {"ratio": Decimal("0.5"), "cash_per_share": Decimal(2)})),
    ([nta(1, "MA", "TGT", "-20", "1100")],
     (ActivityKind.CASH_MERGER, "TGT", {"cash_per_share": Decimal(55)})),
    ([nta(1, "REORG", "DEAD", "-40")], (ActivityKind.WORTHLESS, "DEAD", {})),
    ([nta(1, "DIVROC", "REIT", "100", "25", per_share_amount="0.25")],
     (ActivityKind.RETURN_OF_CAPITAL, "REIT", {"cash_per_share": Decimal("0.25")})),
    ([nta(1, "ACATS", "VTI", "-5")], (ActivityKind.TRANSFER_OUT, "VTI", {"quantity": Decimal(5)})),
])
def test_mapped(items: list[dict[str, Any]], expected: tuple[ActivityKind, str, dict[str, Any]]) -> None:
    (got,) = non_trade(items, "tax")
    kind, symbol, fields = expected
    assert (got.kind, got.symbol, got.day, got.account) == (kind, symbol, date(2024, 6, 10), "tax")
    for name, value in fields.items():
        assert getattr(got, name) == value, name
    assert got.activity_id == "+".join(i["id"] for i in items)
    assert [r["id"] for r in got.raw] == [i["id"] for i in items]


@pytest.mark.parametrize(("items", "why"), [
    ([nta(1, "SPLIT", "AAPL", "-100")], "do not pair up"),  # the other half not here yet
    ([nta(1, "MA", "A", "-1"), nta(2, "MA", "B", "-2"), nta(3, "MA", "C", "1")], "do not pair up"),
    ([nta(1, "MA", "OLD", "-30")], "half of a pair"),
    ([nta(1, "SPIN", "NEWCO", "20")], "Form 8937"),
    ([nta(1, "ACATS", "VTI", "20")], "does not send their original basis"),
    ([nta(1, "OPASN", "VTI", "100")], "not one the adapter maps"),
    ([nta(1, "XYZZY", "VTI", "1")], "not one the adapter maps"),
    ([nta(1, "SPLIT", "AAPL", "lots")], "qty: not a number"),
])
def test_unmapped_says_why_and_keeps_the_items(items: list[dict[str, Any]], why: str) -> None:
    (got,) = non_trade(items, "tax")
    assert got.kind is ActivityKind.UNMAPPED and why in (got.problem or "")
    assert [r["id"] for r in got.raw] == [i["id"] for i in items]


def test_two_actions_on_one_day_pair_within_their_own_family_and_cash_is_skipped() -> None:
    items = [nta(1, "SPLIT", "AAPL", "-100"), nta(2, "NC", "FNDA", "-50"), nta(3, "DIV", "VTI", None, "12"),
             nta(4, "SPLIT", "AAPL", "400"), nta(5, "NC", "FNDB", "50")]
    got = non_trade(items, "tax")
    assert [(a.kind, a.activity_id) for a in got] == [
        (ActivityKind.SPLIT, f"{items[0]['id']}+{items[3]['id']}"),
        (ActivityKind.SYMBOL_CHANGE, f"{items[1]['id']}+{items[4]['id']}")]


def test_through_the_sdk_fills_and_activities_in_one_page(broker: AlpacaBroker, fake: FakeAlpaca,
                                                          john: FakeAccount) -> None:
    with fake.lock:
        john.split("VTI", Decimal(4), date(2024, 6, 10))
        odd = john.non_trade("OPASN", date(2024, 6, 11), "VTI", Decimal(100))
    page = broker.fills("john")
    split, unknown = page.activities
    assert (split.kind, split.symbol, split.ratio) == (ActivityKind.SPLIT, "VTI", Decimal(4))
    assert unknown.kind is ActivityKind.UNMAPPED and unknown.activity_id == odd["id"]
    assert page.cursor == odd["id"]
    again = broker.reread("john", list(unknown.raw) + list(split.raw))
    assert [a.kind for a in again.activities] == [ActivityKind.UNMAPPED, ActivityKind.SPLIT]
