"""A fake TWS for tests: the real ib_async talks to it over a loopback socket (see tests/fakes/tws/)."""

from tests.fakes.tws.server import FakeTws
from tests.fakes.tws.state import FakeExecution, FakeOrder, FillMode, ReceivedOrder
from tests.fakes.tws.wire import SERVER_VERSION

__all__ = ["SERVER_VERSION", "FakeExecution", "FakeOrder", "FakeTws", "FillMode", "ReceivedOrder"]
