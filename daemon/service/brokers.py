"""Asking the brokers what the engine needs to know about each account before planning."""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy.engine import Engine

from brokers.factory import make_brokers
from brokers.protocol import Broker, BrokerError
from daemon.config.models import Settings
from daemon.engine.types import Capabilities
from daemon.harvest import AccountFacts
from daemon.prices import PriceBook

log = structlog.get_logger(__name__)


def facts_from(brokers: dict[str, Broker], settings: Settings) -> dict[str, AccountFacts]:
    """Cash and capabilities per account; an account whose broker cannot be asked is left out (the engine
    then sees no cash for it, and says so in the plan's alerts)."""
    facts: dict[str, AccountFacts] = {}
    for account in settings.accounts:
        broker = brokers.get(account.broker)
        if broker is None:
            continue
        caps = Capabilities(fractional_shares=broker.capabilities.fractional,
                            specific_lot_sells=broker.capabilities.specific_lots)
        try:
            snapshot = broker.account(account.id)
        except BrokerError as exc:
            log.warning("broker.account_unavailable", account=account.id, broker=account.broker, error=str(exc))
            continue
        facts[account.id] = AccountFacts(cash=snapshot.cash, capabilities=caps)
    return facts


def account_facts(engine: Engine, settings: Settings, prices: PriceBook, as_of: date) -> dict[str, AccountFacts]:
    brokers = make_brokers(settings, engine, prices, as_of)
    try:
        return facts_from(brokers, settings)
    finally:
        for broker in brokers.values():
            broker.close()
