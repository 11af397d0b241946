"""Tax value of a harvest against what it costs to trade.

benefit = short-term loss × (short-term rate + NIIT + state) + long-term loss × (long-term rate + NIIT +
state), losses net per term (a net gain counts negative); cost = half the spread on each leg plus a
commission per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from daemon.config.models import HarvestConfig, TaxConfig
from daemon.engine.quotes import Price
from daemon.ledger.types import Term


@dataclass(frozen=True, slots=True)
class Rates:
    short: Decimal
    long: Decimal

    @classmethod
    def of(cls, tax: TaxConfig) -> Rates:
        extra = tax.niit_rate + tax.state_rate
        return cls(tax.short_term_rate + extra, tax.long_term_rate + extra)

    def rate(self, term: Term) -> Decimal:
        return self.short if term is Term.SHORT else self.long

    def value(self, short_loss: Decimal, long_loss: Decimal) -> Decimal:
        return short_loss * self.short + long_loss * self.long


def sell_cost(price: Price, shares: Decimal, harvest: HarvestConfig) -> Decimal:
    return price.half_spread * shares + harvest.commission_usd


def buy_cost(price: Price, notional: Decimal, harvest: HarvestConfig) -> Decimal:
    return notional * price.half_spread_rate + harvest.commission_usd


def estimated_cost(price: Price, shares: Decimal, harvest: HarvestConfig) -> Decimal:
    """Both legs, before the replacement is known: the buy leg is assumed to cost what the sell leg does."""
    return 2 * sell_cost(price, shares, harvest)
