"""One taxable Alpaca account ("tax", 40 VTI bought at 250, now 230) through the real alpaca-py SDK and the
fake Alpaca on loopback, for the fail-closed tests (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brokers.alpaca import AlpacaBroker, ClientOptions
from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.market_calendar import trade_date
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.market import book_from_brokers
from daemon.service.orders import Policy
from daemon.store.db import transaction
from daemon.store.models import AccountRow, Alert
from tests.fakes.alpaca_server import FakeAlpaca

KEY, SECRET = "PKFAILCLOSED0KEY0001", "failclosed-secret-Qw3eR5tY7u"
ENVIRON = {"ALPACA_TAX_API_KEY": KEY, "ALPACA_TAX_SECRET_KEY": SECRET}
FAST = ClientOptions(timeout_seconds=2, retry_attempts=0, retry_wait_seconds=0)
TODAY = trade_date(datetime.now(UTC))
HISTORY = (f"date,account,symbol,side,quantity,price,fees,lot_id\n"
           f"{TODAY - timedelta(days=200)},tax,VTI,buy,40,250,,vti-1\n")


def fake(positions: Decimal = Decimal(40), cash: Decimal = Decimal(100)) -> FakeAlpaca:
    alpaca = FakeAlpaca().start()
    for symbol, price in {"VTI": "230", "ITOT": "101", "SCHB": "50"}.items():
        alpaca.set_price(symbol, Decimal(price))
    alpaca.add_account(KEY, SECRET, cash=cash, positions={"VTI": positions})
    return alpaca


def settings(alpaca: FakeAlpaca, db_url: str = "sqlite://", **harvest: Any) -> Settings:
    return Settings.model_validate({
        "database_url": db_url, "mode": "paper", "substitutes": "",
        "accounts": [{"id": "tax", "household": "h", "broker": "alpaca", "credentials": "TAX"}],
        "asset_classes": [{"name": "us_total_market", "members": ["VTI", "ITOT", "SCHB"]}],
        "harvest": {"circuit_breaker": False, "max_turnover_pct": 1, "max_price_age_days": 10, **harvest},
        "brokers": {"alpaca": {"base_url": alpaca.url, "data_url": alpaca.url, "fill_timeout_seconds": 1}},
    })


def seed(engine: Any, s: Settings) -> None:
    bookkeeping.book(engine, s, parse(HISTORY, "history.csv", {"tax"}))


def broker(s: Settings) -> AlpacaBroker:
    return AlpacaBroker(s.brokers.alpaca, s.accounts, ENVIRON, options=FAST)


def policy(fill_timeout: float = 1.0) -> Policy:
    return Policy(fill_timeout=fill_timeout, poll_interval=0.02, retries=2, backoff=0.0, sleep=lambda s: None,
                  faults=set())


def cycle(engine: Any, s: Settings, brokers: dict[str, Any], **kw: Any) -> CycleResult:
    prices = book_from_brokers(brokers, {"VTI", "ITOT", "SCHB"}, s, TODAY)
    return run_cycle(engine, s, brokers, prices, TODAY, "paper", policy(**kw))


def alerts(engine: Any, kind: str | None = None) -> list[Alert]:
    with transaction(engine) as session:
        query = sa.select(Alert).order_by(Alert.id)
        if kind is not None:
            query = query.where(Alert.kind == kind)
        return list(session.scalars(query))


def in_sync(engine: Any, account: str = "tax") -> bool:
    with transaction(engine) as session:
        row = session.get(AccountRow, account)
        assert row is not None
        return row.in_sync


def write_config(tmp_path: Path, alpaca: FakeAlpaca, db_url: str) -> Path:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(f"""
database_url = "{db_url}"
mode = "paper"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
broker = "alpaca"
credentials = "TAX"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "ITOT", "SCHB"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
max_price_age_days = 10
[brokers.alpaca]
base_url = "{alpaca.url}"
data_url = "{alpaca.url}"
fill_timeout_seconds = 1
""")
    (tmp_path / "history.csv").write_text(HISTORY)
    return cfg


def closing(*brokers: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for b in brokers:
            b.close()
