"""Price sanity for one leg: a quote must exist, be recent and have a tradable spread.

A leg's reference price is the quote's close (or last); its spread cost is half the bid/ask spread per
share, or `default_spread_bps / 2` of the price when the price source has no bid/ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.config.models import HarvestConfig
from daemon.engine.types import Rejection, SkipReason
from daemon.prices import Quote

BPS = Decimal(10_000)
_UNSET = object()


@dataclass(frozen=True, slots=True)
class Price:
    symbol: str
    close: Decimal
    half_spread: Decimal  # per share
    day: date

    @property
    def half_spread_rate(self) -> Decimal:
        return self.half_spread / self.close


def check_quote(symbol: str, quote: Quote | None, as_of: date, harvest: HarvestConfig) -> Price | Rejection:
    if quote is None or quote.close <= 0:
        return Rejection(SkipReason.MISSING_PRICE, f"{symbol}: no price on or before {as_of}")
    if quote.day > as_of:
        return Rejection(SkipReason.MISSING_PRICE, f"{symbol}: the only quote is dated {quote.day}, "
                                                      f"after {as_of}")
    oldest = as_of - timedelta(days=harvest.max_price_age_days)
    if quote.day < oldest:
        return Rejection(SkipReason.STALE_PRICE, f"{symbol}: last price is from {quote.day}, older than "
                                                    f"max_price_age_days {harvest.max_price_age_days}")
    bid, ask = quote.bid, quote.ask
    if bid is not None and ask is not None and 0 < bid <= ask:
        mid = (bid + ask) / 2
        bps = (ask - bid) / mid * BPS
        if bps > harvest.max_spread_bps:
            return Rejection(SkipReason.SPREAD_TOO_WIDE,
                                f"{symbol}: spread {bps:.1f} bps (bid {bid} / ask {ask}) exceeds "
                                f"max_spread_bps {harvest.max_spread_bps}")
        return Price(symbol, quote.close, (ask - bid) / 2, quote.day)
    return Price(symbol, quote.close, quote.close * harvest.default_spread_bps / BPS / 2, quote.day)


class Prices:
    """Checked prices per symbol, computed once per run."""

    def __init__(self, quotes: Mapping[str, Quote], as_of: date, harvest: HarvestConfig):
        self._quotes = quotes
        self._as_of = as_of
        self._harvest = harvest
        self._checked: dict[str, Price | Rejection] = {}
        self._marks: dict[str, Decimal | None] = {}

    def get(self, symbol: str) -> Price | Rejection:
        found = self._checked.get(symbol)
        if found is None:
            found = check_quote(symbol, self._quotes.get(symbol), self._as_of, self._harvest)
            self._checked[symbol] = found
        return found

    def mark(self, symbol: str) -> Decimal | None:
        """A price to value holdings with (stale is better than nothing); None when there is none."""
        mark = self._marks.get(symbol, _UNSET)
        if mark is not _UNSET:
            return mark  # type: ignore[return-value]
        quote = self._quotes.get(symbol)
        mark = None if quote is None or quote.close <= 0 or quote.day > self._as_of else quote.close
        self._marks[symbol] = mark
        return mark
