"""AlpacaBroker: the Broker protocol over alpaca-py, for one or more Alpaca accounts (one key pair each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from brokers.adapter import SplitAdapter
from brokers.alpaca.config import ClientOptions, data_client, resolve_keys, trading_client
from brokers.alpaca.data import AlpacaData
from brokers.alpaca.errors import Guard
from brokers.alpaca.execution import AlpacaExecution
from brokers.protocol import (
    BrokerError,
    Capabilities,
    FillPage,
    MarketClock,
)
from daemon.config.models import AccountConfig, AlpacaBrokerConfig


class AlpacaBroker(SplitAdapter):
    """The accounts in `accounts` with `broker = "alpaca"`, each through its own TradingClient; market data
    through one StockHistoricalDataClient with the first account's keys. `paper` is the configured
    paper/live setting (the service refuses live trading against a paper broker and vice versa)."""

    name = "alpaca"
    # Alpaca takes fractional quantities and notional amounts on DAY orders only (not market-on-close), and
    # relieves lots FIFO: no specific-lot sells.
    capabilities = Capabilities(fractional=True, notional=True, specific_lots=False, market_on_close=True)

    _execution: AlpacaExecution
    _data: AlpacaData

    def __init__(self, config: AlpacaBrokerConfig, accounts: Sequence[AccountConfig],
                 environ: Mapping[str, str] | None = None, *, options: ClientOptions | None = None):
        ours = [a for a in accounts if a.broker == "alpaca"]
        if not ours:
            raise BrokerError('alpaca: no accounts with broker = "alpaca" configured')
        options = options or ClientOptions()
        keys = resolve_keys(ours, environ)
        guard = Guard(secret for k in keys.values() for secret in (k.api_key, k.secret_key))
        self.config = config
        self.paper = config.paper
        self._execution = AlpacaExecution(
            {a.id: trading_client(keys[a.id], config, options) for a in ours}, guard, paper=config.paper)
        self._data = AlpacaData(data_client(keys[ours[0].id], config, options), guard)

    @property
    def accounts(self) -> tuple[str, ...]:
        return self._execution.accounts

    def reread(self, account: str, raw: Sequence[Mapping[str, Any]]) -> FillPage:
        return self._execution.reread(account, raw)

    def clock(self) -> MarketClock:
        return self._execution.clock()

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        # Alpaca charges no commission on US stocks and ETFs (the SEC and FINRA fees fall on sales only).
        return Decimal(0)

    def close(self) -> None:
        self._execution.close()
        self._data.close()
