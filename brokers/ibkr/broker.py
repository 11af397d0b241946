"""IbkrBroker: the Broker protocol over ib_async, for the IB accounts one TWS / IB Gateway login manages."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ib_async import IB

from brokers.adapter import SplitAdapter
from brokers.ibkr import commission as fixed_pricing
from brokers.ibkr.data import Contracts, IbkrData
from brokers.ibkr.execution import IbkrExecution
from brokers.ibkr.session import IbSession
from brokers.protocol import (
    BrokerError,
    Capabilities,
    MarketClock,
)
from daemon.config.models import AccountConfig, IbkrBrokerConfig


class IbkrBroker(SplitAdapter):
    """The accounts in `accounts` with `broker = "ibkr"`, each named by its IB account code
    (`broker_account`), through one API connection (`config.client_id`) opened on first use. `paper` is the
    configured setting; AccountSnapshot.paper is IB's own (paper account codes start with "D")."""

    name = "ibkr"
    # Whole shares only (the API's fractional-share support is limited), no dollar-sized orders, lot relief set
    # in IBKR's Tax Optimizer rather than per order; market-on-close orders (order type MOC) are supported.
    capabilities = Capabilities(fractional=False, notional=False, specific_lots=False, market_on_close=True)

    _execution: IbkrExecution
    _data: IbkrData

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

    def clock(self) -> MarketClock:
        return self._data.clock()

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        # Per share with a minimum and a maximum (brokers/ibkr/commission.py): a buy of all the cash must leave
        # room for it, or TWS refuses it in a cash account (INSUFFICIENT CASH).
        return fixed_pricing.commission(quantity, price)

    def close(self) -> None:
        self._session.close()
