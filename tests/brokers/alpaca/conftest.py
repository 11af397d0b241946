"""The real alpaca-py SDK, through AlpacaBroker, against the fake Alpaca on loopback: two households members'
accounts ("john", "jane"), each with its own key pair."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from brokers.alpaca import AlpacaBroker, ClientOptions
from daemon.config.models import AccountConfig, AlpacaBrokerConfig
from tests.fakes.alpaca_server import FakeAccount, FakeAlpaca

JOHN_KEY, JOHN_SECRET = "PKJOHN0000KEYID4242", "john-secret-Zq8uVr3t9pLmNx"
JANE_KEY, JANE_SECRET = "PKJANE0000KEYID1717", "jane-secret-Hk2wQe7yTbVcXs"
SECRETS = (JOHN_KEY, JOHN_SECRET, JANE_KEY, JANE_SECRET)
ENVIRON = {
    "ALPACA_JOHN_API_KEY": JOHN_KEY, "ALPACA_JOHN_SECRET_KEY": JOHN_SECRET,
    "ALPACA_JANE_API_KEY": JANE_KEY, "ALPACA_JANE_SECRET_KEY": JANE_SECRET,
}
ACCOUNTS = [
    AccountConfig(id="john", household="smith", broker="alpaca", credentials="JOHN"),
    AccountConfig(id="jane", household="smith", broker="alpaca", credentials="JANE"),
    AccountConfig(id="ira", household="smith", broker="paper"),  # not Alpaca's: left out
]
# No SDK retries (each test says what it wants) and a short timeout: the suite stays fast.
FAST = ClientOptions(timeout_seconds=2.0, retry_attempts=0, retry_wait_seconds=0)

MakeBroker = Callable[..., AlpacaBroker]


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    with FakeAlpaca() as fake:
        fake.set_price("VTI", Decimal("250"))
        fake.set_price("VXUS", Decimal("60"))
        fake.set_price("BND", Decimal("72.5"))
        fake.add_account(JOHN_KEY, JOHN_SECRET, cash=Decimal(100_000), positions={"VTI": Decimal(10)})
        fake.add_account(JANE_KEY, JANE_SECRET, cash=Decimal(50_000))
        yield fake


@pytest.fixture
def john(fake: FakeAlpaca) -> FakeAccount:
    return fake.accounts[JOHN_KEY]


@pytest.fixture
def jane(fake: FakeAlpaca) -> FakeAccount:
    return fake.accounts[JANE_KEY]


@pytest.fixture
def make_broker(fake: FakeAlpaca) -> Iterator[MakeBroker]:
    made: list[AlpacaBroker] = []

    def make(options: ClientOptions = FAST, environ: dict[str, str] | None = None,
             accounts: list[AccountConfig] | None = None, **config: Any) -> AlpacaBroker:
        settings = AlpacaBrokerConfig(**{"base_url": fake.url, "data_url": fake.url, **config})
        broker = AlpacaBroker(settings, ACCOUNTS if accounts is None else accounts,
                              ENVIRON if environ is None else environ, options=options)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        broker.close()


@pytest.fixture
def broker(make_broker: MakeBroker) -> AlpacaBroker:
    return make_broker()
