"""Prices for the engine: the paper broker's price file when configured, else the brokers' own quotes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import structlog

from brokers.protocol import Broker, BrokerError
from daemon import direct_index
from daemon.config.models import Settings
from daemon.harvest import BREAKER_HISTORY
from daemon.prices import PriceBook

log = structlog.get_logger(__name__)


def book_from_brokers(brokers: Mapping[str, Broker], symbols: Iterable[str], settings: Settings,
                      as_of: date) -> PriceBook:
    """Today's quotes (bid/ask/last) and the benchmarks' recent closes (and a direct index's constituents'
    trailing closes), from the first broker that answers."""
    book = PriceBook()
    wanted = set(symbols)
    # A direct index: every constituent (replacements, new money) and a trailing year of closes (ranking).
    stocks = direct_index.symbols(direct_index.inputs(settings))
    wanted |= stocks
    for kind, broker in brokers.items():
        if kind == "paper":
            continue
        try:
            # The benchmarks' closes serve only the circuit breaker: with it off they are not asked for, so a
            # broker without data for them (no SPY subscription at IB) still gives the day's quotes.
            harvest = settings.harvest
            history = (broker.closes(harvest.circuit_breaker_benchmarks, as_of - BREAKER_HISTORY,
                                     as_of - timedelta(days=1))
                       if harvest.circuit_breaker and harvest.circuit_breaker_benchmarks else {})
            if stocks:
                history = {**broker.closes(sorted(stocks), direct_index.window_start(settings, as_of),
                                           as_of - timedelta(days=1)), **history}
            quotes = broker.quotes(sorted(wanted))
        except BrokerError as exc:
            log.warning("market.unavailable", broker=kind, error=str(exc))
            continue
        for symbol, closes in history.items():
            for day, close in closes:
                book.add(symbol, day, str(close))
        for symbol, q in quotes.items():
            last = q.last or ((q.bid + q.ask) / 2 if q.bid and q.ask else None)
            if last is not None:
                book.add(symbol, q.day or as_of, str(last), str(q.bid or ""), str(q.ask or ""))
        return book
    return book
