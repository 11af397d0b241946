"""The Alpaca adapter (alpaca-py), shaped like NautilusTrader's adapters:

- config: keys per account from the environment, and the SDK clients built from them
- execution: accounts, positions, fills and orders (TradingClient, one per account)
- data: quotes and daily closes (StockHistoricalDataClient)
- parsing: SDK models and raw JSON -> brokers.protocol types (no SDK type leaves this package)
- errors: SDK/HTTP failures -> BrokerError / DuplicateOrder, keys scrubbed
- broker: AlpacaBroker, the Broker protocol over the above
"""

from brokers.alpaca.broker import AlpacaBroker
from brokers.alpaca.config import ClientOptions

__all__ = ["AlpacaBroker", "ClientOptions"]
