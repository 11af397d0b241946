"""What each scheduled job is handed: the brokers and prices for its day, guarded for shutdown; and the
start-up checks of what loading the configuration file cannot check.

Shutdown never interrupts a step. A running harvest finishes the pair it has started (its buy follows its
sell) but starts no new pair: the brokers it was handed refuse new sells once `stop` is set, and those
never-sent pairs are then marked abandoned, so every order intent ends final.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from brokers.factory import make_brokers
from brokers.protocol import Broker, BrokerError, OrderRequest, OrderSide, OrderState
from daemon.config.loader import ConfigError
from daemon.config.models import Settings
from daemon.prices import PriceBook, PriceFileError
from daemon.prices import load as load_prices
from daemon.service import scheduler
from daemon.service.cycle import ModeMismatch, check_mode
from daemon.service.market import book_from_brokers
from daemon.service.orders import ABANDONED, PENDING, client_order_id
from daemon.store import ledger_repo
from daemon.store.db import make_engine, transaction
from daemon.store.models import OrderIntent

log = structlog.get_logger(__name__)

SHUTDOWN = "daemon stopping: pair not started"


class StopGuard:
    """A broker as a job sees it: once shutdown has begun it refuses new sells (new pairs), while the buy
    of a pair whose sell went out is still placed, so no pair is left half done."""

    def __init__(self, inner: Broker, stop: threading.Event):
        self._inner, self._stop = inner, stop

    @property
    def stopping(self) -> bool:
        """Shutdown has begun: new money is not invested any more (execute.run_purchase asks)."""
        return self._stop.is_set()

    def submit(self, order: OrderRequest) -> OrderState:
        if self._stop.is_set() and order.side is OrderSide.SELL:
            raise BrokerError(SHUTDOWN)
        return self._inner.submit(order)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def price_file(settings: Settings) -> PriceBook | None:
    path = settings.brokers.paper.prices
    return load_prices(Path(path)) if path is not None else None


@dataclass
class Market:
    brokers: dict[str, Broker]
    file: PriceBook | None  # the price file, when configured

    def prices(self, engine: Engine, settings: Settings, day: date) -> PriceBook:
        """The engine's prices: the price file when there is one, else the brokers' own quotes (as `tlh harvest`)."""
        if self.file is not None:
            return self.file
        with transaction(engine) as session:
            held = {lot.symbol for h in sorted({a.household for a in settings.accounts})
                    for lot in ledger_repo.load_open_lots(session, h) if lot.is_open}
        held |= {m for c in settings.asset_classes for m in c.members}
        return book_from_brokers(self.brokers, held, settings, day)


@contextmanager
def market(settings: Settings, engine: Engine, day: date, stop: threading.Event) -> Iterator[Market]:
    # Made per job: the paper broker trades at its day's close, the price file may have been refreshed, and
    # network brokers reconnect cleanly after a day's idling.
    prices = price_file(settings)
    made = make_brokers(settings, engine, prices, day)
    try:
        guarded: dict[str, Broker] = {kind: StopGuard(b, stop) for kind, b in made.items()}
        yield Market(guarded, prices)
    finally:
        for broker in made.values():
            broker.close()


def abandon_unsent(engine: Engine) -> int:
    """Pairs whose sell was refused because the daemon was stopping never reached the broker: final."""
    with transaction(engine) as session:
        sells = session.scalars(sa.select(OrderIntent).where(OrderIntent.leg == "sell", OrderIntent.status == PENDING,
                                                             OrderIntent.error.contains(SHUTDOWN))).all()
        for sell in sells:
            buy = session.get(OrderIntent, client_order_id(sell.run_id, sell.pair_id, "buy"))
            for intent in (sell, buy):
                if intent is not None and intent.status == PENDING:
                    intent.status, intent.error, intent.updated_at = ABANDONED, SHUTDOWN, datetime.now(UTC)
    if sells:
        log.warning("orders.abandoned_on_shutdown", pairs=len(sells))
    return len(sells)


def validate(settings: Settings, config_path: Path) -> None:
    """What loading the file cannot check: the calendar and time zone, the heartbeat against the lease, the
    price file, the brokers' own paper/live setting against `mode`. Raises ConfigError naming each key."""
    problems = scheduler.check_calendar(settings.schedule)
    try:
        prices = price_file(settings)
    except PriceFileError as exc:
        problems.append(("brokers.paper.prices", str(exc)))
        prices = None
    if not problems and settings.mode != "dry-run":
        engine = make_engine("sqlite://")  # the brokers need one to exist; nothing is read from it here
        brokers: dict[str, Broker] = {}
        try:
            brokers = make_brokers(settings, engine, prices, date.today())
            check_mode(settings, brokers)
        except ModeMismatch as exc:
            problems.append(("mode", str(exc)))
        except Exception as exc:  # e.g. missing broker keys: the user fixes those like configuration
            problems.append(("accounts", f"cannot set up the brokers: {type(exc).__name__}: {exc}"))
        finally:
            for broker in brokers.values():
                broker.close()
            engine.dispose()
    if problems:
        raise ConfigError(config_path, problems)


def release_memory() -> None:
    """Hand the start-up's and a job's freed heap back to the OS: the daemon idles most of the day."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc
