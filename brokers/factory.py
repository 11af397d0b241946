"""One broker adapter per configured broker kind, built on demand. SDKs are imported only here, lazily."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from brokers.protocol import Broker
from daemon.config.models import Settings
from daemon.prices import PriceBook


def make_broker(kind: str, settings: Settings, engine: Engine, prices: PriceBook | None, as_of: date) -> Broker:
    accounts = [a for a in settings.accounts if a.broker == kind]
    if kind == "paper":
        from brokers.paper import PaperBroker

        return PaperBroker(engine, settings.brokers.paper, accounts, prices or PriceBook(), as_of)
    if kind == "alpaca":
        from brokers.alpaca import AlpacaBroker

        return AlpacaBroker(settings.brokers.alpaca, accounts)
    if kind == "ibkr":
        from brokers.ibkr import IbkrBroker

        return IbkrBroker(settings.brokers.ibkr, accounts)
    raise ValueError(f"unknown broker {kind!r}")


def make_brokers(settings: Settings, engine: Engine, prices: PriceBook | None, as_of: date) -> dict[str, Broker]:
    """The brokers the configured accounts use, keyed by kind ("paper", "alpaca", "ibkr")."""
    kinds = sorted({a.broker for a in settings.accounts})
    return {kind: make_broker(kind, settings, engine, prices, as_of) for kind in kinds}
