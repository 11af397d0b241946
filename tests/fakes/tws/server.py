"""A fake TWS / IB Gateway on loopback: enough of the socket API for ib_async 2.1.0 and brokers.ibkr.

One thread accepts, one thread per client connection reads requests; a lock guards the book. Test hooks:
`set_price`, `set_history`, `add_account`, `fill_mode` (immediate / manual / reject), `fill(order_ref)`,
`received` (every placeOrder as it arrived), `drop_connections()`, `drop_on(msg_id)`, `delay`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from tests.fakes.tws import wire
from tests.fakes.tws.handlers import Handlers
from tests.fakes.tws.state import FakeExecution, FakeOrder, FillMode, PaperBook, ReceivedOrder

Money = Decimal | int | str | float


def _dec(value: Money) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class Conn:
    """One client connection and what it subscribed to."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.client_id = -1
        self.alive = True
        self.positions = False  # reqPositions is a standing subscription
        self.account_updates: set[str] = set()  # reqAccountUpdates codes
        self.multi: dict[int, str] = {}  # reqAccountUpdatesMulti reqId -> code ("" for all)
        self._send_lock = threading.Lock()

    def send(self, *frames: bytes) -> None:
        with self._send_lock:
            if not self.alive:
                return
            try:
                self.sock.sendall(b"".join(frames))
            except OSError:
                self.alive = False

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeTws:
    def __init__(self, accounts: Mapping[str, Money] | None = None, *, host: str = "127.0.0.1") -> None:
        self.book = PaperBook()
        self.fill_mode: FillMode = "immediate"
        self.reject_reason = "Order rejected - reason:Rejected by the fake TWS"
        self.delay = 0.0  # seconds to sleep before handling each request (see delay_msg_ids)
        self.delay_msg_ids: set[int] | None = None  # None: every request
        self.requests: list[list[str]] = []  # every request after the handshake, as fields
        self.errors: list[str] = []  # exceptions raised while handling requests (should stay empty)
        self.lock = threading.RLock()
        self.conns: list[Conn] = []
        self._drop_on: set[int] = set()
        self._listener = socket.create_server((host, 0))
        self.host: str = host
        self.port: int = self._listener.getsockname()[1]
        self._handlers = Handlers(self)
        self._thread = threading.Thread(target=self._accept, name="fake-tws", daemon=True)
        for code, cash in (accounts or {}).items():
            self.add_account(code, cash)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> FakeTws:
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the accept thread
        except OSError:
            pass
        self._listener.close()
        if self._thread.is_alive():
            self._thread.join(2)
        self.drop_connections()

    def __enter__(self) -> FakeTws:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()

    # -- test set-up ------------------------------------------------------------------------------------
    def add_account(
        self, code: str, cash: Money = 0, positions: Mapping[str, tuple[Money, Money]] | None = None,
        account_type: str = "INDIVIDUAL",
    ) -> None:  # fmt: skip
        held = {s: (_dec(q), _dec(c)) for s, (q, c) in (positions or {}).items()}
        with self.lock:
            self.book.add_account(code, _dec(cash), held, account_type)

    def set_price(self, symbol: str, last: Money, *, bid: Money | None = None, ask: Money | None = None) -> None:
        with self.lock:
            inst = self.book.instrument(symbol)
            inst.last = _dec(last)
            inst.bid = None if bid is None else _dec(bid)
            inst.ask = None if ask is None else _dec(ask)

    def set_history(self, symbol: str, closes: Mapping[date, Money]) -> None:
        with self.lock:
            self.book.instrument(symbol).history.update({d: _dec(c) for d, c in closes.items()})

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """What time executions happen at (timezone-aware; IB stamps whole seconds)."""
        self.book.clock = clock

    # -- test actions and reads ---------------------------------------------------------------------------
    @property
    def received(self) -> list[ReceivedOrder]:
        return list(self.book.received)

    @property
    def executions(self) -> list[FakeExecution]:
        return list(self.book.executions)

    def order(self, order_ref: str) -> FakeOrder:
        return self.book.by_ref(order_ref)

    def position(self, code: str, symbol: str) -> Decimal:
        return self.book.accounts[code].positions.get(symbol, [Decimal(0)])[0]

    def cash(self, code: str) -> Decimal:
        return self.book.accounts[code].cash

    def fill(self, order_ref: str, quantity: Money | None = None, price: Money | None = None) -> FakeExecution:
        """Fill (part of) a working order, as in fill mode "manual", and tell its client."""
        with self.lock:
            order = self.book.by_ref(order_ref)
            if not order.is_open:
                raise ValueError(f"order {order_ref} is {order.status}")
            qty = order.quantity - order.filled if quantity is None else _dec(quantity)
            px = self.book.fill_price(order) if price is None else _dec(price)
            if px is None:
                raise ValueError(f"no price for {order.symbol}")
            return self._handlers.fill(order, qty, px)

    def drop_connections(self) -> None:
        """Close every client socket, as when TWS restarts or the network drops."""
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            conn.close()

    def drop_on(self, msg_id: int) -> None:
        """Drop the connection when the next request with this message id arrives, before handling it."""
        self._drop_on.add(msg_id)

    def client_ids(self) -> list[int]:
        with self.lock:
            return [c.client_id for c in self.conns if c.alive]

    # -- socket plumbing ---------------------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Conn(sock)
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name="fake-tws-conn", daemon=True).start()

    def _serve(self, conn: Conn) -> None:
        try:
            if wire.recv_exact(conn.sock, 4) != b"API\0":
                raise ConnectionError("not a TWS API client")
            versions = wire.recv_frame(conn.sock)[0].split()[0]  # "v157..178"
            low, high = (int(v) for v in versions.lstrip("v").split(".."))
            if not low <= wire.SERVER_VERSION <= high:
                raise ConnectionError(f"client speaks {versions}")
            conn.send(wire.frame(wire.SERVER_VERSION, time.strftime("%Y%m%d %H:%M:%S EST")))
            while conn.alive:
                fields = wire.recv_frame(conn.sock)
                self._handle(conn, fields)
        except (OSError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            conn.close()
            with self.lock:
                if conn in self.conns:
                    self.conns.remove(conn)

    def _handle(self, conn: Conn, fields: list[str]) -> None:
        msg_id = int(fields[0])
        self.requests.append(fields)
        if msg_id in self._drop_on:
            self._drop_on.discard(msg_id)
            conn.close()
            return
        if self.delay and (self.delay_msg_ids is None or msg_id in self.delay_msg_ids):
            time.sleep(self.delay)
        with self.lock:
            try:
                self._handlers.dispatch(conn, msg_id, fields)
            except Exception as e:  # a bug in the fake: record it, keep serving
                self.errors.append(f"{msg_id}: {e!r}")
