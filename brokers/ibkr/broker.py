"""IbkrBroker: the Broker protocol over ib_async, for the IB accounts one TWS / IB Gateway login manages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from ib_async import IB

from brokers.ibkr.data import Contracts, IbkrData
from brokers.ibkr.execution import IbkrExecution
from brokers.ibkr.session import IbSession
from brokers.protocol import (
    AccountSnapshot,
    BrokerError,
    Capabilities,
    FillPage,
    MarketClock,
    OrderRequest,
    OrderState,
    Position,
    Quote,
)
from daemon.config.models import AccountConfig, IbkrBrokerConfig


class IbkrBroker:
    """The accounts in `accounts` with `broker = "ibkr"`, each named by its IB account code
    (`broker_account`), through one API connection (`config.client_id`) opened on first use. `paper` is the
    configured setting; AccountSnapshot.paper is IB's own (paper account codes start with "D")."""

    name = "ibkr"
    # Whole shares only (the API's fractional-share support is limited), no dollar-sized orders, lot relief set
    # in IBKR's Tax Optimizer rather than per order; market-on-close orders (order type MOC) are supported.
    capabilities = Capabilities(fractional=False, notional=False, specific_lots=False, market_on_close=True)

    def __init__(self, config: IbkrBrokerConfig, accounts: Sequence[AccountConfig], ib: IB | None = None):
        ours = [a for a in accounts if a.broker == "ibkr"]
        if not ours:
            raise BrokerError('ibkr: no accounts with broker = "ibkr" configured')
        missing = [a.id for a in ours if not a.broker_account]
        if missing:
            raise BrokerError(f"ibkr: accounts {', '.join(missing)}: set broker_account to the IB account code "
                              '(e.g. broker_account = "U1234567")')
        self.config = config
        self.paper = config.paper
        self._session = IbSession(config, {a.id: a.broker_account or "" for a in ours}, ib)
        contracts = Contracts()
        self._execution = IbkrExecution(self._session, contracts)
        self._data = IbkrData(self._session, contracts)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(self._session.codes)

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

    def clock(self) -> MarketClock:
        return self._data.clock()

    def submit(self, order: OrderRequest) -> OrderState:
        return self._execution.submit(order)

    def order(self, account: str, client_order_id: str) -> OrderState | None:
        return self._execution.order(account, client_order_id)

    def cancel(self, account: str, client_order_id: str) -> None:
        self._execution.cancel(account, client_order_id)

    def open_orders(self, account: str) -> list[OrderState]:
        return self._execution.open_orders(account)

    def close(self) -> None:
        self._session.close()
