"""The IB connection: one ib_async.IB, driven by one worker thread that owns its event loop.

ib_async's blocking API runs the calling thread's asyncio loop until an answer arrives, so every call must
come from the thread (and loop) the socket was opened on. `IbSession.call` hands each request to that one
worker thread, whichever thread the daemon calls from (a scheduler thread, the main thread, a thread with
its own running loop). The connection opens lazily on the first call and again after a drop. Timeouts,
refused connections and drops become BrokerError(transient=True).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import structlog
from ib_async import IB

from brokers.protocol import BrokerError
from daemon.config.models import IbkrBrokerConfig

log = structlog.get_logger(__name__)
T = TypeVar("T")


def _own_loop() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())


class IbSession:
    def __init__(self, config: IbkrBrokerConfig, accounts: Mapping[str, str], ib: IB | None = None):
        """`accounts` maps our account ids to IB account codes. An injected `ib` must not be connected yet."""
        self.config = config
        self.codes = dict(accounts)
        self.timeout = float(config.timeout_seconds)
        self._ib = ib
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ibkr", initializer=_own_loop)
        self._closed = False

    def code(self, account: str) -> str:
        code = self.codes.get(account)
        if code is None:
            raise BrokerError(f"ibkr: unknown account {account!r} (configured: {', '.join(self.codes)})")
        return code

    def call(self, what: str, fn: Callable[[IB], T]) -> T:
        """Run fn(ib) on the IB thread with the connection up; failures come back as BrokerError."""
        if self._closed:
            raise BrokerError(f"ibkr {what}: broker closed")
        return self._pool.submit(self._guarded, what, fn).result()

    def _guarded(self, what: str, fn: Callable[[IB], T]) -> T:
        where = f"{self.config.host}:{self.config.port}"
        try:
            return fn(self._connected())
        except BrokerError:
            raise
        except TimeoutError:
            raise BrokerError(f"ibkr {what}: no answer from TWS/IB Gateway at {where} within {self.timeout:g} s",
                              transient=True) from None
        except asyncio.CancelledError:
            raise BrokerError(f"ibkr {what}: request to {where} cancelled (connection lost)", transient=True) from None
        except (ConnectionError, OSError) as exc:
            detail = str(exc) or type(exc).__name__
            raise BrokerError(f"ibkr {what}: connection to TWS/IB Gateway at {where} failed: {detail}",
                              transient=True) from None

    def _connected(self) -> IB:
        if self._ib is None:
            self._ib = IB()
        ib = self._ib
        if ib.isConnected():
            return ib
        ib.disconnect()  # clears what a dropped session left behind
        ib.RequestTimeout = self.timeout
        c = self.config
        ib.connect(c.host, c.port, clientId=c.client_id, timeout=self.timeout, readonly=False)
        ib.reqMarketDataType(4)  # live where subscribed, else delayed, else frozen: quotes work on paper too
        managed = ib.managedAccounts()
        log.info("ibkr.connected", host=c.host, port=c.port, client_id=c.client_id, managed=managed)
        missing = sorted(set(self.codes.values()) - set(managed))
        if missing:
            ib.disconnect()  # so every call checks again, rather than trading on a half-right login
            raise BrokerError(f"ibkr: account codes {', '.join(missing)} are not managed by this login "
                              f"(managed: {', '.join(managed)}); check accounts.broker_account")
        return ib

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shutdown() -> None:
            if self._ib is not None:
                self._ib.disconnect()
                self._ib.sleep(0)  # let the transport close its socket
            asyncio.get_event_loop().close()

        self._pool.submit(shutdown).result()
        self._pool.shutdown()


def wait_until(ib: IB, done: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    """Process incoming messages until done() or the timeout; True if done. Polls: ib.waitOnUpdate misses an
    update whose bytes were already waiting on the socket when it started."""
    deadline = time.monotonic() + timeout
    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if not ib.isConnected():
            raise ConnectionError("connection lost")
        ib.sleep(min(poll, remaining))
    return True
