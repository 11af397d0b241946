"""A direct-index account ("di": 10 AAA and 10 BBB at 100, $6,000 of new money) on the paper broker, for the
tests of executing the engine's purchases. The engine plans four purchases, most underweight first:
b1 $2,000 of CCC, b2 $2,000 of DDD, b3 $1,000 of AAA, b4 $840 of BBB (the 2 % cash reserve stays)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokers.paper import PaperBroker
from brokers.protocol import AccountSnapshot, BrokerError
from daemon import bookkeeping
from daemon.config import load_settings
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.prices import PriceBook
from daemon.prices import parse as parse_prices

AS_OF = date(2024, 5, 29)
CONSTITUENTS = """symbol,weight,sector,sub_industry
AAA,,Information Technology,Semiconductors
BBB,,Information Technology,Semiconductors
CCC,,Information Technology,Semiconductors
DDD,,Financials,Diversified Banks
"""
PRICES = """date,symbol,close
2024-05-28,AAA,100
2024-05-28,BBB,100
2024-05-28,CCC,50
2024-05-28,DDD,40
2024-05-29,AAA,100
2024-05-29,BBB,100
2024-05-29,CCC,50
2024-05-29,DDD,40
"""
TRADES = """date,account,symbol,side,quantity,price,fees,lot_id
2024-01-02,di,AAA,buy,10,100,,a1
2024-01-02,di,BBB,buy,10,100,,b1
"""
CONFIG = """
database_url = "{db}"
mode = "paper"
substitutes = ""
[[accounts]]
id = "di"
household = "h"
lot_method = "specific"
[accounts.direct_index]
constituents = "index.csv"
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[brokers.paper]
prices = "prices.csv"
starting_cash = 6000
spread_bps = 0
"""
PLANNED = [("b1", "CCC", Decimal("2000")), ("b2", "DDD", Decimal("2000")), ("b3", "AAA", Decimal("1000")),
           ("b4", "BBB", Decimal("840"))]


def household(tmp_path: Path, db_url: str) -> tuple[Settings, PriceBook, Path]:
    (tmp_path / "prices.csv").write_text(PRICES)
    (tmp_path / "index.csv").write_text(CONSTITUENTS)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url))
    return load_settings(cfg), parse_prices(PRICES), cfg


def seed(engine: Any, settings: Settings) -> None:
    bookkeeping.book(engine, settings, parse(TRADES, "t.csv", {"di"}))


def paper(engine: Any, settings: Settings, prices: PriceBook) -> PaperBroker:
    return PaperBroker(engine, settings.brokers.paper, settings.accounts, prices, AS_OF)


class CashAfterPlanning:
    """Wraps the paper broker: once the plan has read the account (`reads` reads), the account's cash is
    reported as at most `cap`, or cannot be read at all (`cap` None): what a withdrawal or an outage between
    planning and buying looks like."""

    def __init__(self, inner: PaperBroker, reads: int, cap: Decimal | None):
        self.inner, self.reads, self.cap = inner, reads, cap
        self.name, self.capabilities, self.paper = inner.name, inner.capabilities, True

    def account(self, account: str) -> AccountSnapshot:
        snapshot = self.inner.account(account)
        self.reads -= 1
        if self.reads >= 0:
            return snapshot
        if self.cap is None:
            raise BrokerError("503 Service Unavailable", transient=True, status=503)
        return AccountSnapshot(account=account, cash=min(snapshot.cash, self.cap), equity=snapshot.equity,
                               paper=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
