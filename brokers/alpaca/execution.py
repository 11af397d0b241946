"""Accounts, fills and orders over alpaca-py's TradingClient: one client (one key pair) per account of ours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import structlog
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.models import Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest

from brokers.alpaca import activities, parsing
from brokers.alpaca.errors import Guard
from brokers.protocol import (
    AccountSnapshot,
    Activity,
    BrokerError,
    Fill,
    FillPage,
    MarketClock,
    OrderRequest,
    OrderState,
    Position,
)

log = structlog.get_logger(__name__)

ACTIVITIES_PATH = "/account/activities"
PAGE_SIZE = 100  # the activities endpoint's maximum
OPEN_ORDERS_LIMIT = 500  # GET /v2/orders' maximum


def read_activities(items: Sequence[Mapping[str, Any]], account: str) -> tuple[list[Fill], list[Activity]]:
    """FILL items as fills (one that cannot be read as an UNMAPPED activity), the rest mapped and paired."""
    fills: list[Fill] = []
    out: list[Activity] = []
    other: list[Mapping[str, Any]] = []
    for item in items:
        if str(item.get("activity_type") or "").upper() != "FILL":
            other.append(item)
            continue
        try:
            fills.append(parsing.fill(item, account))
        except ValueError as exc:
            out.append(activities.unmapped([item], account, f"a FILL that cannot be read: {exc}; if it is a "
                                                            f"real execution, book it from a trade CSV and then "
                                                            f"`tlh quarantine resolve ID --note ...`"))
    return fills, out + activities.non_trade(other, account)


def _as_float(value: Decimal, name: str) -> float:
    """alpaca-py types qty/notional as float (sent as a JSON number): refuse one a float would change."""
    out = float(value)
    if Decimal(repr(out)) != value:
        raise BrokerError(f"alpaca submit: {name} {value} cannot be sent exactly (at most 9 decimal places)")
    return out


class AlpacaExecution:
    def __init__(self, clients: Mapping[str, TradingClient], guard: Guard, *, paper: bool):
        if not clients:
            raise BrokerError("alpaca: no accounts")
        self._clients = dict(clients)
        self._guard = guard
        self.paper = paper

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(self._clients)

    def _client(self, account: str) -> TradingClient:
        client = self._clients.get(account)
        if client is None:
            raise BrokerError(f"alpaca: unknown account {account!r} (configured: {', '.join(self._clients)})")
        return client

    def account(self, account: str) -> AccountSnapshot:
        client = self._client(account)
        with self._guard("account"):
            raw = client.get_account()
            assert isinstance(raw, TradeAccount)
            return parsing.account_snapshot(raw, account, self.paper)

    def positions(self, account: str) -> list[Position]:
        client = self._client(account)
        with self._guard("positions"):
            raw = client.get_all_positions()
            assert isinstance(raw, list)
            return [parsing.position(p, account) for p in raw if isinstance(p, AlpacaPosition)]

    def fills(self, account: str, cursor: str | None = None) -> FillPage:
        """Every activity after `cursor` (an activity id), oldest first, page by page: FILLs as fills, the
        rest (corporate actions, transfers) as activities, paired where Alpaca splits one action in two.
        An item that cannot be read becomes an UNMAPPED activity for the quarantine; only an item without an
        id (which could not be paged past) fails the call."""
        client = self._client(account)
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        token = cursor
        while True:
            params: dict[str, str | int] = {"activity_types": ",".join(activities.REQUESTED), "direction": "asc",
                                            "page_size": PAGE_SIZE}
            if token:
                params["page_token"] = token
            with self._guard("fills"):
                page = client.get(ACTIVITIES_PATH, params) or []
                if not isinstance(page, list):
                    raise ValueError(f"account activities: expected a JSON array, got {type(page).__name__}")
                ids = [activities.activity_id(item) for item in page]
            for item_id, item in zip(ids, page, strict=True):
                if item_id not in seen:
                    seen.add(item_id)
                    items.append(item)
            if ids:
                token = ids[-1]
            if len(page) < PAGE_SIZE:
                with self._guard("fills"):
                    fills, other = read_activities(items, account)
                return FillPage(tuple(fills), token, tuple(other))

    def reread(self, account: str, raw: Sequence[Mapping[str, Any]]) -> FillPage:
        """Map activities kept in the quarantine again (after an upgrade, or with a half that came later)."""
        self._client(account)
        fills, other = read_activities(raw, account)
        return FillPage(tuple(fills), None, tuple(other))

    def clock(self) -> MarketClock:
        client = next(iter(self._clients.values()))
        with self._guard("clock"):
            raw = client.get_clock()
            assert isinstance(raw, Clock)
            return parsing.market_clock(raw)

    def submit(self, order: OrderRequest) -> OrderState:
        """Place a market order. A client order id Alpaca has seen before raises DuplicateOrder: look it up."""
        client = self._client(order.account)
        if order.lot_ids:
            raise BrokerError("alpaca submit: Alpaca cannot sell specific lots (it relieves FIFO)")
        with self._guard("submit"):
            request = MarketOrderRequest(
                symbol=order.symbol,
                qty=None if order.quantity is None else _as_float(order.quantity, "quantity"),
                notional=None if order.notional is None else _as_float(order.notional, "notional"),
                side=AlpacaSide(order.side.value),
                time_in_force=AlpacaTimeInForce(order.time_in_force.value),
                client_order_id=order.client_order_id,
            )
            log.info("alpaca.order.submit", account=order.account, client_order_id=order.client_order_id,
                     symbol=order.symbol, side=order.side.value, quantity=order.quantity, notional=order.notional,
                     time_in_force=order.time_in_force.value)
            raw = client.submit_order(request)
            assert isinstance(raw, Order)
            return parsing.order_state(raw, order.account)

    def _find(self, account: str, client_order_id: str) -> Order | None:
        client = self._client(account)
        try:
            with self._guard("order"):
                raw = client.get_order_by_client_id(client_order_id)
        except BrokerError as exc:
            if exc.status == 404:
                return None
            raise
        assert isinstance(raw, Order)
        return raw

    def order(self, account: str, client_order_id: str) -> OrderState | None:
        raw = self._find(account, client_order_id)
        if raw is None:
            return None
        with self._guard("order"):
            return parsing.order_state(raw, account)

    def cancel(self, account: str, client_order_id: str) -> None:
        """Ask Alpaca to cancel an order; nothing to do when it has already ended. Check `order()` after:
        the cancel is asynchronous (pending_cancel) and the order may still fill."""
        raw = self._find(account, client_order_id)
        if raw is None:
            raise BrokerError(f"alpaca cancel: no order {client_order_id!r} in account {account!r}", status=404)
        with self._guard("cancel"):
            if parsing.order_state(raw, account).status.final:
                return
            log.info("alpaca.order.cancel", account=account, client_order_id=client_order_id)
        try:
            with self._guard("cancel"):
                self._client(account).cancel_order_by_id(raw.id)
        except BrokerError as exc:
            if exc.status != 422:  # "order is not cancelable": it ended meanwhile?
                raise
            state = self.order(account, client_order_id)
            if state is None or not state.status.final:
                raise

    def open_orders(self, account: str) -> list[OrderState]:
        client = self._client(account)
        with self._guard("open orders"):
            raw = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=OPEN_ORDERS_LIMIT))
            assert isinstance(raw, list)
            return [parsing.order_state(o, account) for o in raw if isinstance(o, Order)]

    def close(self) -> None:
        for client in self._clients.values():
            client._session.close()
