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


def facts_from(brokers: dict[str, Broker], settings: Settings,
               errors: dict[str, str] | None = None) -> dict[str, AccountFacts]:
    """Cash and capabilities per account; an account whose broker cannot be asked is left out, and why goes
    into `errors` (the engine does not trade an account without facts: its cash is unknown)."""
    facts: dict[str, AccountFacts] = {}
    errors = errors if errors is not None else {}
    for account in settings.accounts:
        broker = brokers.get(account.broker)
        if broker is None:
            errors.setdefault(account.id, f"no {account.broker} broker set up")
            continue
        caps = Capabilities(fractional_shares=broker.capabilities.fractional,
                            specific_lot_sells=broker.capabilities.specific_lots)
        try:
            snapshot = broker.account(account.id)
            cash = snapshot.cash
            if not cash.is_finite():
                raise BrokerError(f"cash {cash} is not a number")
        except Exception as exc:  # noqa: BLE001 - a truncated answer, a bad number: the cash is unknown
            error = str(exc) if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"
            log.warning("broker.account_unavailable", account=account.id, broker=account.broker, error=error)
            earlier = errors.get(account.id)
            errors[account.id] = (f"{earlier}; " if earlier else "") + f"cash not read: {error}"
            continue
        facts[account.id] = AccountFacts(cash=cash, capabilities=caps)
    return facts


def account_facts(engine: Engine, settings: Settings, prices: PriceBook, as_of: date) -> dict[str, AccountFacts]:
    brokers = make_brokers(settings, engine, prices, as_of)
    try:
        return facts_from(brokers, settings)
    finally:
        for broker in brokers.values():
            broker.close()
