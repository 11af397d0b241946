"""Small records shared by the harvest and direct-index modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PairRecord:
    day: date
    kind: str  # harvest | swap_back (the engine's, or in a direct index the simulator's per-lot swap back)
    sell_symbol: str
    buy_symbol: str
    estimated_loss: float  # negative: a gain


@dataclass
class Replaced:
    """A direct index's replacement lot (by purchase id): what it is, which stock it stands in for and how
    many shares of that stock (the ones sold for it)."""

    symbol: str
    home: str
    bought: date
    quantity: Decimal  # the lot's shares when bought
    home_shares: Decimal

    def standing_for(self, shares: Decimal) -> Decimal:
        """Shares of the home stock that `shares` of this lot stand for."""
        return self.home_shares * shares / self.quantity if self.quantity > 0 else Decimal(0)
