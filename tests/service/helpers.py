"""A household on the paper broker, with a price file, for service tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokers.paper import FillMode, PaperBroker
from brokers.protocol import BrokerError, OrderRequest, OrderState
from daemon import bookkeeping
from daemon.config import load_settings
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.prices import PriceBook
from daemon.prices import parse as parse_prices

AS_OF = date(2024, 5, 29)
PRICES = """date,symbol,close
2024-05-28,VTI,250
2024-05-28,ITOT,110
2024-05-28,SCHB,55
2024-05-29,VTI,230
2024-05-29,ITOT,101
2024-05-29,SCHB,50
"""
TRADES = """date,account,symbol,side,quantity,price,fees,lot_id
2024-01-02,tax,VTI,buy,40,250,,vti-1
2024-01-02,tax,ITOT,buy,50,110,,itot-1
2024-05-10,tax,ITOT,sell,50,100,,itot-1
"""
CONFIG = """
database_url = "{db}"
mode = "paper"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
lot_method = "specific"
[[accounts]]
id = "ira"
household = "h"
type = "roth_ira"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "ITOT", "SCHB"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[brokers.paper]
prices = "prices.csv"
starting_cash = 100
spread_bps = 0
"""


def household(tmp_path: Path, db_url: str) -> tuple[Settings, PriceBook, Path]:
    (tmp_path / "prices.csv").write_text(PRICES)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url))
    return load_settings(cfg), parse_prices(PRICES), cfg


def seed(engine: Any, settings: Settings) -> None:
    bookkeeping.book(engine, settings, parse(TRADES, "t.csv", {"tax", "ira"}))


def paper(engine: Any, settings: Settings, prices: PriceBook, mode: FillMode = FillMode.IMMEDIATE) -> PaperBroker:
    return PaperBroker(engine, settings.brokers.paper, settings.accounts, prices, AS_OF, fill_mode=mode)


class Flaky:
    """Wraps a broker: the first `fail_before` submits fail before reaching it (a 500), the next
    `lose_response` reach it but the response is lost (a timeout)."""

    def __init__(self, inner: PaperBroker, fail_before: int = 0, lose_response: int = 0, reject_buys: bool = False):
        self.inner, self.fail_before, self.lose_response = inner, fail_before, lose_response
        self.reject_buys = reject_buys
        self.submits = 0
        self.name, self.capabilities, self.paper = inner.name, inner.capabilities, True

    def submit(self, order: OrderRequest) -> OrderState:
        self.submits += 1
        if self.fail_before > 0:
            self.fail_before -= 1
            raise BrokerError("503 Service Unavailable", transient=True, status=503)
        if self.reject_buys and order.side.value == "buy":
            self.inner.fill_mode = FillMode.REJECT
        state = self.inner.submit(order)
        if self.lose_response > 0:
            self.lose_response -= 1
            raise BrokerError("read timed out", transient=True)
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def quantity(x: object) -> Decimal:
    return Decimal(str(x))
