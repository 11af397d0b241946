"""Contracts, quotes, daily closes and the market clock.

Quotes are market-data snapshots (reqMktData with snapshot=True: bid, ask and last ticks; delayed ticks where
the login has no live subscription). Closes are daily TRADES bars from reqHistoricalData (regular hours,
unadjusted). The clock is the XNYS calendar, not IB.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ib_async import IB, Contract
from ib_async import util as ib_util

from brokers.ibkr import parsing
from brokers.ibkr.session import IbSession
from brokers.protocol import BrokerError, MarketClock, Quote
from daemon.market_calendar import NEW_YORK, next_session, sessions

SNAPSHOT_SECONDS = 12.0  # IB answers a snapshot within 11 s


class Contracts:
    """Qualified stock contracts (conId, primary exchange) by symbol; conIds are stable, so kept."""

    def __init__(self) -> None:
        self._known: dict[str, Contract] = {}

    def many(self, ib: IB, symbols: Sequence[str]) -> dict[str, Contract]:
        missing = [s for s in dict.fromkeys(symbols) if s not in self._known]
        if missing:
            contracts = [parsing.stock(s) for s in missing]
            ib.qualifyContracts(*contracts)
            self._known.update((c.symbol, c) for c in contracts if c.conId)
        return {s: self._known[s] for s in symbols if s in self._known}

    def one(self, ib: IB, symbol: str) -> Contract:
        contract = self.many(ib, [symbol]).get(symbol)
        if contract is None:
            raise BrokerError(f"ibkr: no US stock or ETF {symbol!r} at IB (SMART, USD)")
        return contract


def price_day(now: datetime) -> date:
    """The session a snapshot's last price belongs to: today's while open, else the last one that closed."""
    upcoming = next_session(now)
    if upcoming is not None and upcoming.open <= now:
        return upcoming.day
    today = now.astimezone(NEW_YORK).date()
    closed = [s for s in sessions(today - timedelta(days=14), today) if s.close <= now]
    if not closed:
        raise BrokerError("ibkr: no closed session in the calendar before now")
    return closed[-1].day


class IbkrData:
    def __init__(self, session: IbSession, contracts: Contracts, now: Callable[[], datetime] | None = None):
        self._session = session
        self._contracts = contracts
        self._now = now or (lambda: datetime.now(UTC))

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """Symbols IB does not know, or has no price for, are left out."""
        if not symbols:
            return {}
        day = price_day(self._now())

        def read(ib: IB) -> dict[str, Quote]:
            contracts = self._contracts.many(ib, symbols)
            if not contracts:
                return {}
            timeout = max(self._session.timeout, SNAPSHOT_SECONDS)
            tickers = ib_util.run(ib.reqTickersAsync(*contracts.values()), timeout=timeout)
            out = {}
            for t in tickers:
                last = parsing.price(t.last) or parsing.price(t.close)
                bid, ask = parsing.price(t.bid), parsing.price(t.ask)
                if last is not None or (bid is not None and ask is not None):
                    out[t.contract.symbol] = Quote(t.contract.symbol, last, bid, ask, day)
            return out

        return self._session.call("quotes", read)

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        """Daily closes from start to end inclusive; an empty list where IB has none (or no such symbol)."""
        out: dict[str, list[tuple[date, Decimal]]] = {s: [] for s in symbols}
        if start > end or not symbols:
            return out
        days = (end - start).days + 1
        duration = f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"
        until = datetime.combine(end, time(23, 59, 59), NEW_YORK)

        def read(ib: IB) -> dict[str, list[tuple[date, Decimal]]]:
            for symbol, contract in self._contracts.many(ib, symbols).items():
                bars = ib.reqHistoricalData(contract, endDateTime=until, durationStr=duration, barSizeSetting="1 day",
                                            whatToShow="TRADES", useRTH=True, formatDate=1, timeout=0)
                for bar in bars:
                    day = bar.date if not isinstance(bar.date, datetime) else bar.date.astimezone(NEW_YORK).date()
                    close = parsing.price(bar.close)
                    if start <= day <= end and close is not None:
                        out[symbol].append((day, close))
            return out

        return self._session.call("closes", read)

    def clock(self) -> MarketClock:
        now = self._now()
        upcoming = next_session(now)
        if upcoming is None:
            raise BrokerError("ibkr: no session in the calendar after now")
        is_open = upcoming.open <= now < upcoming.close
        following = next_session(upcoming.close) if is_open else upcoming
        if following is None:
            raise BrokerError("ibkr: no session in the calendar after the current one")
        return MarketClock(now=now, is_open=is_open, next_open=following.open, next_close=upcoming.close)
