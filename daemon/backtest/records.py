"""Small records shared by the harvest and direct-index modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PairRecord:
    day: date
    kind: str  # harvest | swap_back
    sell_symbol: str
    buy_symbol: str
    estimated_loss: float  # negative: a gain
