"""Quotes and daily closes over alpaca-py's StockHistoricalDataClient (Alpaca's market data API)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

from alpaca.data.enums import Adjustment
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest, StockLatestTradeRequest
from alpaca.data.timeframe import TimeFrame

from brokers.alpaca import parsing
from brokers.alpaca.errors import Guard
from brokers.protocol import Quote

CHUNK = 100  # symbols per request: keeps the query string short


def _chunks(symbols: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(symbols))
    return [unique[i:i + CHUNK] for i in range(0, len(unique), CHUNK)]


class AlpacaData:
    def __init__(self, client: StockHistoricalDataClient, guard: Guard):
        self._client = client
        self._guard = guard

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """The latest trade (last, and its New York date) and quote (bid/ask) per symbol; a symbol Alpaca has
        nothing for is left out."""
        out: dict[str, Quote] = {}
        for chunk in _chunks(symbols):
            with self._guard("quotes"):
                quotes = self._client.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=chunk))
                trades = self._client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=chunk))
                assert isinstance(quotes, dict) and isinstance(trades, dict)
                for symbol in chunk:
                    if symbol in quotes or symbol in trades:
                        out[symbol] = parsing.quote(symbol, quotes.get(symbol), trades.get(symbol))
        return out

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        """Daily closes from `start` to `end` (New York dates, both included), adjusted for splits and
        dividends, oldest first; every symbol asked for is a key (an empty list when Alpaca has no bars)."""
        out: dict[str, list[tuple[date, Decimal]]] = {symbol: [] for symbol in symbols}
        if start > end:
            return out
        for chunk in _chunks(symbols):
            request = StockBarsRequest(
                symbol_or_symbols=chunk, timeframe=TimeFrame.Day, adjustment=Adjustment.ALL,
                # A daily bar is stamped midnight New York of its day.
                start=datetime.combine(start, time(), parsing.EXCHANGE_TZ),
                end=datetime.combine(end, time(), parsing.EXCHANGE_TZ),
            )
            with self._guard("closes"):
                bars = self._client.get_stock_bars(request)
                assert isinstance(bars, BarSet)
                for symbol, rows in bars.data.items():
                    days = {parsing.exchange_date(bar.timestamp): parsing.dec(bar.close, "close") for bar in rows}
                    out[symbol] = sorted((day, close) for day, close in days.items()
                                         if close is not None and start <= day <= end)
        return out

    def close(self) -> None:
        self._client._session.close()
