"""The shape every networked adapter shares (NautilusTrader's): an execution part (accounts, positions, fills,
orders) and a data part (quotes, closes), behind the one Broker protocol. Subclasses add clock and close."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from brokers.protocol import AccountSnapshot, FillPage, OrderRequest, OrderState, Position, Quote


class Execution(Protocol):
    def account(self, account: str) -> AccountSnapshot: ...
    def positions(self, account: str) -> list[Position]: ...
    def fills(self, account: str, cursor: str | None = None) -> FillPage: ...
    def submit(self, order: OrderRequest) -> OrderState: ...
    def order(self, account: str, client_order_id: str) -> OrderState | None: ...
    def cancel(self, account: str, client_order_id: str) -> None: ...
    def open_orders(self, account: str) -> list[OrderState]: ...


class Data(Protocol):
    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]: ...
    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]: ...


class SplitAdapter:
    _execution: Execution
    _data: Data

    def account(self, account: str) -> AccountSnapshot:
        return self._execution.account(account)

    def positions(self, account: str) -> list[Position]:
        return self._execution.positions(account)

    def fills(self, account: str, cursor: str | None = None) -> FillPage:
        return self._execution.fills(account, cursor)

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        return self._data.quotes(symbols)

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        return self._data.closes(symbols, start, end)

    def submit(self, order: OrderRequest) -> OrderState:
        return self._execution.submit(order)

    def order(self, account: str, client_order_id: str) -> OrderState | None:
        return self._execution.order(account, client_order_id)

    def cancel(self, account: str, client_order_id: str) -> None:
        self._execution.cancel(account, client_order_id)

    def open_orders(self, account: str) -> list[OrderState]:
        return self._execution.open_orders(account)
