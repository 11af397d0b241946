"""The built-in paper broker, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from brokers.paper import FillMode, PaperBroker
from brokers.protocol import Broker, BrokerError, DuplicateOrder, OrderRequest, OrderSide, OrderStatus
from daemon import bookkeeping
from daemon.config.models import PaperBrokerConfig, Settings
from daemon.importers.csv_trades import parse
from daemon.prices import parse as parse_prices

SETTINGS = Settings.model_validate({"accounts": [
    {"id": "tax", "household": "h", "type": "taxable", "lot_method": "specific"},
    {"id": "ira", "household": "h", "type": "traditional_ira"},
]})
PRICES = parse_prices("date,symbol,close,bid,ask\n2024-06-03,VTI,200,,\n2024-06-03,SCHB,50,49.9,50.1\n"
                      "2024-06-04,VTI,190,,\n")
TRADES = ("date,account,symbol,side,quantity,price,fees,lot_id\n2024-01-02,tax,VTI,buy,10,250,,a\n"
          "2024-02-01,tax,VTI,buy,5,240,,b\n")


def _broker(engine: Any, mode: FillMode = FillMode.IMMEDIATE, cash: str = "100") -> PaperBroker:
    bookkeeping.book(engine, SETTINGS, parse(TRADES, "t.csv", {"tax", "ira"}))
    config = PaperBrokerConfig(spread_bps=Decimal(10), starting_cash=Decimal(cash))
    return PaperBroker(engine, config, SETTINGS.accounts, PRICES, date(2024, 6, 4),
                       now=lambda: datetime(2024, 6, 4, 19, 0, tzinfo=UTC), fill_mode=mode)


def test_implements_the_protocol(engine: Any) -> None:
    assert isinstance(_broker(engine), Broker)


def test_positions_come_from_the_store_and_cash_from_fills(engine: Any) -> None:
    broker = _broker(engine)
    assert [(p.symbol, p.quantity) for p in broker.positions("tax")] == [("VTI", Decimal(15))]
    snap = broker.account("tax")
    assert snap.cash == Decimal(100) and snap.equity == Decimal(100 + 15 * 190)


def test_specific_lot_sell_then_notional_buy_fill_at_close_with_half_spread(engine: Any) -> None:
    broker = _broker(engine)
    sell = broker.submit(OrderRequest("c-1", "tax", "VTI", OrderSide.SELL, quantity=Decimal(12), lot_ids=("b", "a")))
    assert sell.status is OrderStatus.FILLED
    assert sell.filled_avg_price == Decimal("189.905")  # 190 less 5 bps
    page = broker.fills("tax")
    assert [(f.lot_id, f.quantity) for f in page.fills] == [("b", Decimal(5)), ("a", Decimal(7))]
    buy = broker.submit(OrderRequest("c-2", "tax", "VTI", OrderSide.BUY, notional=Decimal(1000)))
    assert buy.filled_avg_price == Decimal("190.095")
    assert buy.filled_quantity == (Decimal(1000) / Decimal("190.095")).quantize(Decimal("1e-9"), "ROUND_DOWN")
    later = broker.fills("tax", page.cursor)
    assert [f.client_order_id for f in later.fills] == ["c-2"]
    assert broker.fills("tax", later.cursor).fills == ()
    cash = Decimal(100) + 12 * Decimal("189.905") - buy.filled_quantity * Decimal("190.095")
    assert broker.account("tax").cash == cash


def test_duplicate_client_order_id_is_refused(engine: Any) -> None:
    broker = _broker(engine)
    broker.submit(OrderRequest("c-1", "tax", "VTI", OrderSide.SELL, quantity=Decimal(1)))
    with pytest.raises(DuplicateOrder):
        broker.submit(OrderRequest("c-1", "tax", "VTI", OrderSide.SELL, quantity=Decimal(1)))
    assert len(broker.fills("tax").fills) == 1


def test_rejections_oversell_no_cash_no_price(engine: Any) -> None:
    broker = _broker(engine, cash="0")
    assert broker.submit(OrderRequest("o1", "tax", "VTI", OrderSide.SELL, quantity=Decimal(16))).status \
        is OrderStatus.REJECTED
    assert broker.submit(OrderRequest("o2", "tax", "VTI", OrderSide.BUY, quantity=Decimal(1))).reason \
        == "insufficient buying power"
    assert "no price" in (broker.submit(OrderRequest("o3", "tax", "XYZ", OrderSide.SELL,
                                                     quantity=Decimal(1))).reason or "")
    assert broker.fills("tax").fills == ()


def test_manual_mode_partial_fills_and_cancel(engine: Any) -> None:
    broker = _broker(engine, FillMode.MANUAL)
    state = broker.submit(OrderRequest("m1", "tax", "VTI", OrderSide.SELL, quantity=Decimal(10)))
    assert state.status is OrderStatus.NEW and [o.client_order_id for o in broker.open_orders("tax")] == ["m1"]
    assert broker.fill_pending("m1", Decimal(4)).status is OrderStatus.PARTIALLY_FILLED
    broker.cancel("tax", "m1")
    final = broker.order("tax", "m1")
    assert final is not None and final.status is OrderStatus.CANCELED and final.filled_quantity == Decimal(4)
    assert broker.order("ira", "m1") is None
    with pytest.raises(BrokerError):
        broker.fill_pending("m1")


def test_quotes_use_file_bid_ask_or_the_configured_spread(engine: Any) -> None:
    broker = _broker(engine)
    broker.as_of = date(2024, 6, 3)
    q = broker.quotes(["VTI", "SCHB", "NOPE"])
    assert (q["SCHB"].bid, q["SCHB"].ask) == (Decimal("49.9"), Decimal("50.1"))
    assert (q["VTI"].bid, q["VTI"].ask) == (Decimal("199.9"), Decimal("200.1"))
    assert "NOPE" not in q


def test_clock_knows_the_exchange_calendar(engine: Any) -> None:
    broker = _broker(engine)
    clock = broker.clock()  # 2024-06-04 15:00 New York: a Tuesday session, open
    assert clock.is_open and clock.next_close == datetime(2024, 6, 4, 20, 0, tzinfo=UTC)
