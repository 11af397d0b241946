"""A fake TWS with two paper accounts (taxable DU1111111, IRA DU2222222) and an IbkrBroker connected to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from brokers.ibkr import IbkrBroker
from daemon.config.models import AccountConfig, IbkrBrokerConfig
from daemon.ledger.types import AccountType
from tests.fakes.tws_server import FakeTws

TAXABLE, IRA = "DU1111111", "DU2222222"
ACCOUNTS = [
    AccountConfig(id="taxable", household="smith", broker="ibkr", broker_account=TAXABLE),
    AccountConfig(id="ira", type=AccountType.TRADITIONAL_IRA, household="smith", broker="ibkr", broker_account=IRA),
]
HISTORY = {date(2024, 6, 3): "250.10", date(2024, 6, 4): "251.00", date(2024, 6, 5): "249.50"}


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    with FakeTws() as fake:
        fake.add_account(TAXABLE, 100_000, {"VTI": (100, "200.00"), "VEA": (50, "48.00")})
        fake.add_account(IRA, 20_000, {"VTI": (10, "210.00")}, account_type="IRA")
        fake.set_price("VTI", "250.00", bid="249.95", ask="250.05")
        fake.set_price("VEA", "50.00", bid="49.98", ask="50.02")
        fake.set_price("SCHB", "60.00")
        fake.set_history("VTI", HISTORY)
        yield fake
        assert fake.errors == []  # the fake understood every request


def make_broker(tws: FakeTws, timeout: int = 5, accounts: list[AccountConfig] | None = None) -> IbkrBroker:
    return IbkrBroker(IbkrBrokerConfig(port=tws.port, timeout_seconds=timeout), accounts or ACCOUNTS)


@pytest.fixture
def broker(tws: FakeTws) -> Iterator[IbkrBroker]:
    b = make_broker(tws)
    yield b
    b.close()


def wait_disconnected(tws: FakeTws, seconds: float = 2.0) -> None:
    """After a client closes, until the fake has noticed (TWS frees the client id the same way)."""
    deadline = time.monotonic() + seconds
    while tws.client_ids() and time.monotonic() < deadline:
        time.sleep(0.01)
