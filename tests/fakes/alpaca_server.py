"""A fake Alpaca (trading and market data) on 127.0.0.1 that alpaca-py 0.44 talks to unchanged.

One state per API key pair (authenticated by the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers), like a
paper account: cash, positions, orders, FILL activities (see alpaca_state). Market orders fill at the
price set with `set_price`: at once (`fill_mode="immediate"`), when the test calls `fill()` ("manual",
for partial fills and fill waits), or never ("reject": the order comes back rejected). Faults:
`fail_next`, `delay_next`, and switches that stay on: `positions_fault`, `account_fault` (truncated JSON),
`outage` (an HTTP status on every call, or connection refused), `late_fills` (cancels fail, orders fill when
the test says), `absurd_fill_price`. Every request is recorded in `requests` (never the secret).

    with FakeAlpaca() as fake:
        fake.add_account("KEY", "SECRET", cash=Decimal(10_000))
        fake.set_price("VTI", Decimal("250"))
        TradingClient("KEY", "SECRET", url_override=fake.url)  # and StockHistoricalDataClient likewise
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.alpaca_state import (
    NY,
    OPEN,
    FakeAccount,
    FakeOrder,
    HttpError,
    Quotes,
    calendar_json,
    clock_json,
    market_data,
)

__all__ = ["FakeAccount", "FakeAlpaca", "FakeOrder", "FillMode", "Request"]

FillMode = Literal["immediate", "manual", "reject"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # decoded JSON (numbers as Decimal)
    key_id: str | None


@dataclass
class _Fault:
    method: str | None
    prefix: str
    remaining: int
    status: int = 0
    delay: float = 0.0
    body: Any = None


class FakeAlpaca:
    def __init__(self, fill_mode: FillMode = "immediate"):
        self.fill_mode: FillMode = fill_mode
        self.accounts: dict[str, FakeAccount] = {}  # by key id
        self.quotes: Quotes = {}
        self.bars: dict[str, list[tuple[date, Decimal]]] = {}
        self.market_open = True
        self.now: datetime | None = None  # a frozen time; None = the real clock
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._faults: list[_Fault] = []
        # Fault switches (issue 12), each until switched off: see `positions_fault` and the methods after it.
        self._positions_status: int | None = None
        self._account_fault: int | Literal["truncated"] | None = None
        self._outage: int | None = None
        self._cancel_fails = False
        self._fill_prices: dict[str, Decimal] = {}
        self._port: int | None = None
        self._inflight = 0
        self._trade_ids = itertools.count(1)
        self._server: _Server | None = None

    # -- the test's side ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAlpaca:
        server = _Server(("127.0.0.1", self._port or 0), _Handler)  # loopback only, an ephemeral port
        self._port = server.server_address[1]
        server.fake = self
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAlpaca:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def time(self) -> datetime:
        return self.now or datetime.now(UTC)

    @property
    def prices(self) -> dict[str, Decimal]:
        return {symbol: quote[0] for symbol, quote in self.quotes.items()}

    def add_account(self, key_id: str, secret: str, cash: Decimal = Decimal(100_000),
                    positions: dict[str, Decimal] | None = None) -> FakeAccount:
        account = FakeAccount(key_id, secret, cash)
        for symbol, qty in (positions or {}).items():
            account.positions[symbol] = qty
            account.cost[symbol] = qty * self.prices.get(symbol, Decimal(0))
        with self.lock:
            self.accounts[key_id] = account
        return account

    def set_price(self, symbol: str, price: Decimal, bid: Decimal | None = None, ask: Decimal | None = None,
                  at: datetime | None = None) -> None:
        """The last trade (and fill price) of `symbol`; bid/ask default to it; `at` to now."""
        with self.lock:
            self.quotes[symbol] = (price, bid, ask, at or self.time())

    def set_bars(self, symbol: str, closes: list[tuple[date, Decimal]]) -> None:
        with self.lock:
            self.bars[symbol] = sorted(closes)

    def order(self, order: str) -> tuple[FakeAccount, FakeOrder]:
        """An order by id or client order id, and its account."""
        with self.lock:
            for account in self.accounts.values():
                found = account.orders.get(order) or account.by_client_id(order)
                if found is not None:
                    return account, found
        raise KeyError(order)

    def fill(self, order: str, qty: Decimal | None = None, price: Decimal | None = None) -> FakeOrder:
        """Fill (part of) an open order, by id or client order id; the rest of it by default."""
        with self.lock:
            account, found = self.order(order)
            assert found.status in OPEN, f"order {order} is {found.status}"
            account.fill(found, qty, price or self.fill_price(found.symbol), self.time())
            return found

    def fail_next(self, prefix: str, status: int, count: int = 1, body: Any = None,
                  method: str | None = None) -> None:
        """Answer the next `count` requests whose path starts with `prefix` with `status` and `body`
        (default an Alpaca error object; a str is sent as text/html, as a proxy would)."""
        with self.lock:
            self._faults.append(_Fault(method, prefix, count, status=status, body=body))

    def delay_next(self, prefix: str, seconds: float, count: int = 1, method: str | None = None) -> None:
        """Hold the next `count` matching requests for `seconds`, then serve them normally (so an order
        whose client timed out is still placed, as on a real broker)."""
        with self.lock:
            self._faults.append(_Fault(method, prefix, count, delay=seconds))

    # -- fault switches: each stays on until switched off (None / False) ---------------------------------------
    def positions_fault(self, status: int | None = 500) -> None:
        """`GET /v2/positions` answers `status` (an Alpaca error object)."""
        with self.lock:
            self._positions_status = status

    def account_fault(self, fault: int | Literal["truncated"] | None = "truncated") -> None:
        """`GET /v2/account` answers truncated JSON (a 200 cut in the middle) or an error `status`."""
        with self.lock:
            self._account_fault = fault

    def outage(self, fault: int | Literal["refused"] | None = 500) -> None:
        """Every request answers `fault` (500, 401, ...), or "refused": nothing listens on the port any more
        (connection refused) until `outage(None)` listens again on the same port."""
        with self.lock:
            self._outage = fault if isinstance(fault, int) else None
        if fault == "refused":
            self.stop()
        elif fault is None and self._server is None:
            self.start()

    def late_fills(self, on: bool = True) -> None:
        """Orders stay open (manual fills) and cancels fail with a 500: an order the daemon gave up on fills
        later, when the test calls `fill()`."""
        with self.lock:
            self.fill_mode = "manual" if on else "immediate"
            self._cancel_fails = on

    def absurd_fill_price(self, symbol: str, price: Decimal | None) -> None:
        """Fill `symbol`'s orders at `price` whatever its quote (None: at the quote again)."""
        with self.lock:
            if price is None:
                self._fill_prices.pop(symbol, None)
            else:
                self._fill_prices[symbol] = price

    def fill_price(self, symbol: str) -> Decimal:
        return self._fill_prices.get(symbol, self.prices[symbol])

    def received(self, method: str, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being served (e.g. a delayed one its client gave up on)."""
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- serving -----------------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes, key_id: str | None,
               secret: str | None) -> tuple[int, Any]:
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            return 400, {"code": 40010000, "message": "request body format is invalid"}
        with self.lock:
            self.requests.append(Request(method, path, query, body, key_id))
            self._inflight += 1
            faults = [f for f in self._faults if path.startswith(f.prefix) and f.method in (None, method)]
            delay = next((f for f in faults if f.delay), None)
            fail = next((f for f in faults if f.status), None)
            for fault in (delay, fail):
                if fault is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
        try:
            if delay is not None:
                time.sleep(delay.delay)
            if fail is not None:
                return fail.status, fail.body if fail.body is not None else {
                    "code": fail.status * 100_000 + 10_000, "message": f"fake failure {fail.status}"}
            switched = self._switched(method, path)
            if switched is not None:
                return switched
            with self.lock:
                account = self.accounts.get(key_id or "")
                if account is None or account.secret != secret:
                    raise HttpError(401, "request is not authorized", 40110000)
                if path.startswith("/v2/stocks/"):
                    return 200, market_data(path, query, self.quotes, self.bars, self._trade_ids)
                result = self._trading(method, path, query, body, account)
                return (204, None) if result is None else (200, result)
        except HttpError as exc:
            return exc.status, {"code": exc.code, "message": exc.message}
        finally:
            with self.lock:
                self._inflight -= 1

    def _switched(self, method: str, path: str) -> tuple[int, Any] | None:
        with self.lock:
            status = self._outage
            if status is None and method == "GET" and path == "/v2/positions":
                status = self._positions_status
            if status is None and method == "GET" and path == "/v2/account":
                if self._account_fault == "truncated":
                    return 200, b'{"id": "3f0c2a52", "account_number": "PA1", "status": "ACTIVE", "cash": "12'
                status = self._account_fault
            if status is None and method == "DELETE" and path.startswith("/v2/orders/") and self._cancel_fails:
                status = 500
        if status is None:
            return None
        return status, {"code": status * 100_000 + 10_000, "message": f"fake failure {status}"}

    def _trading(self, method: str, path: str, q: dict[str, str], body: Any, account: FakeAccount) -> Any:
        route = (method, path)
        if route == ("GET", "/v2/account"):
            return account.account_json(self.prices)
        if route == ("GET", "/v2/positions"):
            return account.positions_json(self.prices)
        if route == ("GET", "/v2/account/activities"):
            return account.activity_page(q)
        if route == ("GET", "/v2/clock"):
            return clock_json(self.time(), self.market_open)
        if route == ("GET", "/v2/calendar"):
            today = self.time().astimezone(NY).date()
            return calendar_json(*(date.fromisoformat(q[k]) if k in q else today for k in ("start", "end")))
        if route == ("POST", "/v2/orders"):
            order = account.new_order(body if isinstance(body, dict) else {}, self.prices, self.time())
            if self.fill_mode == "reject":
                order.status, order.failed_at = "rejected", self.time()
            elif self.fill_mode == "immediate":
                account.fill(order, None, self.fill_price(order.symbol), self.time())
            return order.json()
        if route == ("GET", "/v2/orders"):
            return account.orders_json(q)
        if route == ("GET", "/v2/orders:by_client_order_id"):
            found = account.by_client_id(q.get("client_order_id", ""))
            if found is None:
                raise HttpError(404, "order not found", 40410000)
            return found.json()
        if path.startswith("/v2/orders/") and method == "GET":
            by_id = account.orders.get(path.removeprefix("/v2/orders/"))
            if by_id is None:
                raise HttpError(404, "order not found", 40410000)
            return by_id.json()
        if path.startswith("/v2/orders/") and method == "DELETE":
            account.cancel(path.removeprefix("/v2/orders/"), self.time())
            return None
        raise HttpError(404, "endpoint not found", 40410000)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAlpaca

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (timeout tests)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = fake.handle(method, parts.path, dict(parse_qsl(parts.query)), raw,
                                      self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY"))
        text = isinstance(payload, str)
        if isinstance(payload, bytes):  # sent as is: a truncated JSON answer
            data = payload
        else:
            data = b"" if payload is None else (payload if text else json.dumps(payload, default=str)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout test)
            pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
