"""The fake Alpaca server most fail-closed tests run against (the household in alpaca_household.py); a
test file that needs another one defines its own `alpaca` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca


@pytest.fixture
def alpaca() -> Iterator[FakeAlpaca]:
    fake = hh.fake()
    try:
        yield fake
    finally:
        fake.stop()
