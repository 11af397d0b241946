"""Issue 5's end-to-end case, with the real SDKs against local fakes: a household with a taxable Alpaca
account and an IB IRA. ITOT was sold at a loss in the taxable account 10 days ago; VTI is now down 8 %; the
run sells the VTI lots and buys SCHB (ITOT would wash the earlier ITOT loss). A VTI purchase that then appears
in the IRA's fills raises a wash-sale alert naming the sale it washes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from brokers.alpaca import AlpacaBroker, ClientOptions
from brokers.ibkr import IbkrBroker
from brokers.protocol import OrderRequest, OrderSide
from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.market_calendar import trade_date
from daemon.service.cycle import run_cycle
from daemon.service.market import book_from_brokers
from daemon.service.orders import Policy
from daemon.service.sync import sync
from daemon.store.db import transaction
from daemon.store.models import Alert
from tests.fakes.alpaca_server import FakeAlpaca
from tests.fakes.tws_server import FakeTws

KEY, SECRET = "PKTAXABLE00KEYID9999", "taxable-secret-Yy7uQ2wE4r"
IRA_CODE = "DU2222222"


@pytest.fixture
def venues() -> Iterator[tuple[FakeAlpaca, FakeTws]]:
    with FakeAlpaca() as alpaca, FakeTws() as tws:
        for symbol, price in {"VTI": "230", "ITOT": "101", "SCHB": "50", "BND": "72"}.items():
            alpaca.set_price(symbol, Decimal(price))
            tws.set_price(symbol, price)
        alpaca.add_account(KEY, SECRET, cash=Decimal(100), positions={"VTI": Decimal(40)})
        tws.add_account(IRA_CODE, 20_000, {"BND": (10, "75.00")}, account_type="IRA")
        yield alpaca, tws


def test_harvest_across_alpaca_and_ib_then_ira_purchase_raises_wash_alert(
        venues: tuple[FakeAlpaca, FakeTws], engine: Any) -> None:
    alpaca, tws = venues
    today = trade_date(datetime.now(UTC))
    settings = Settings.model_validate({
        "mode": "paper", "substitutes": "",
        "accounts": [
            {"id": "tax", "household": "smith", "broker": "alpaca", "credentials": "TAX"},
            {"id": "ira", "household": "smith", "broker": "ibkr", "type": "traditional_ira",
             "broker_account": IRA_CODE},
        ],
        "asset_classes": [{"name": "us_total_market", "members": ["VTI", "ITOT", "SCHB"]}],
        "harvest": {"circuit_breaker": False, "max_turnover_pct": 1, "max_price_age_days": 10},
        "brokers": {"alpaca": {"base_url": alpaca.url, "data_url": alpaca.url},
                    "ibkr": {"port": tws.port, "timeout_seconds": 5}},
    })
    d = lambda days: (today - timedelta(days=days)).isoformat()  # noqa: E731
    history = (f"date,account,symbol,side,quantity,price,fees,lot_id\n{d(200)},tax,VTI,buy,40,250,,vti-1\n"
               f"{d(200)},tax,ITOT,buy,50,110,,itot-1\n{d(10)},tax,ITOT,sell,50,100,,itot-1\n"
               f"{d(100)},ira,BND,buy,10,75,,bnd-1\n")
    bookkeeping.book(engine, settings, parse(history, "history.csv", {"tax", "ira"}))
    environ = {"ALPACA_TAX_API_KEY": KEY, "ALPACA_TAX_SECRET_KEY": SECRET}
    brokers: dict[str, Any] = {
        "alpaca": AlpacaBroker(settings.brokers.alpaca, settings.accounts, environ,
                               options=ClientOptions(timeout_seconds=5, retry_attempts=0, retry_wait_seconds=0)),
        "ibkr": IbkrBroker(settings.brokers.ibkr, settings.accounts),
    }
    policy = Policy(fill_timeout=5, poll_interval=0.05, backoff=0.01, faults=set())
    try:
        prices = book_from_brokers(brokers, {"VTI", "ITOT", "SCHB", "BND"}, settings, today)
        result = run_cycle(engine, settings, brokers, prices, today, "paper", policy)
        (pair,) = result.plan.pairs
        # ITOT is the class's secondary member, but buying it would wash the ITOT loss of 10 days ago.
        assert (pair.account, pair.sell_symbol, pair.sell_quantity, pair.buy_symbol) == ("tax", "VTI", 40, "SCHB")
        posted = alpaca.received("POST", "/v2/orders")
        assert [(r.body["symbol"], r.body["side"]) for r in posted] == [("VTI", "sell"), ("SCHB", "buy")]
        assert [r.body["client_order_id"] for r in posted] == [f"tlh-{result.plan.run_id}-p1-sell",
                                                              f"tlh-{result.plan.run_id}-p1-buy"]
        assert sync(engine, settings, brokers).in_sync

        # Someone buys VTI in the IRA: the harvested VTI loss is now permanently disallowed in part.
        brokers["ibkr"].submit(OrderRequest("outside-1", "ira", "VTI", OrderSide.BUY, quantity=Decimal(5)))
        report = sync(engine, settings, brokers)
        assert report.in_sync, report
        (message,) = report.wash_alerts
        assert f"5 VTI bought {today} in ira washes the loss of VTI sold {today} in tax" in message
        assert "permanently disallowing $100.00" in message  # 5 of the 40 shares' $20 loss each
        with transaction(engine) as session:
            kinds = session.scalars(sa.select(Alert.kind)).all()
        assert "wash_sale" in kinds
    finally:
        for broker in brokers.values():
            broker.close()
