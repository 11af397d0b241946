"""Direct indexing in a backtest: the basket of stocks and what the engine needs to run it.

Every decision (which lots to harvest, the replacement, the per-lot swap back, where new money goes) is the
live engine's (daemon/engine/direct_index.py); this module only feeds it, as `tlh harvest` does for an
account with `[accounts.direct_index]`:
- `Basket`: the listed stocks of the universe and their target weights (equal, or proportional to price),
  which the twin without harvesting also invests by;
- `Feed`: the day's `DirectIndexInput` (constituents with GICS sector and sub-industry, exclusions, budgets)
  and the trailing daily returns (`TrailingReturns`, refreshed once a month) the engine ranks replacements
  and estimates tracking error with.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from daemon.backtest.allocate import Allocation
from daemon.backtest.data import History
from daemon.backtest.portfolio import DirectIndex
from daemon.config.constituents import Constituent
from daemon.engine.types import DirectIndexInput, TrailingReturns


class Basket(Allocation):
    def __init__(self, history: History, universe: Sequence[str], weighting: str, new_listings: bool, t0: int):
        super().__init__(history, [], {})
        self.universe = list(universe)
        self._in = set(self.universe)
        self.cols = np.array([history.col[s] for s in self.universe], dtype=int)
        self.weighting = weighting
        self.at_start = ~np.isnan(history.close[t0, self.cols])
        self.new_listings = new_listings
        self.neutral = True

    def key_of(self, symbol: str) -> str | None:
        return symbol if symbol in self._in else None

    def members(self, key: str, t: int) -> list[str]:
        return [key] if self.history.listed(t, key) else []

    def mask(self, t: int) -> np.ndarray:
        listed = ~np.isnan(self.history.close[t, self.cols])
        return listed if self.new_listings else listed & self.at_start

    def _targets(self, t: int) -> dict[str, float]:
        mask = self.mask(t)
        if self.weighting == "price":
            prices = np.where(mask, self.history.priced[t, self.cols], 0.0)
            w = prices / prices.sum()
        else:
            w = mask / mask.sum()
        return {s: float(x) for s, x, m in zip(self.universe, w, mask, strict=True) if m}

    def returns(self, t: int) -> float:
        """The basket's return from day t-1 to day t (stocks listed on both days)."""
        prev, cur = self.history.close[t - 1, self.cols], self.history.close[t, self.cols]
        ok = self.mask(t - 1) & ~np.isnan(prev) & ~np.isnan(cur)
        if not ok.any():
            return 0.0
        if self.weighting == "price":
            return float(cur[ok].sum() / prev[ok].sum() - 1)
        return float(np.mean(cur[ok] / prev[ok] - 1))


class Feed:
    """The engine's direct-index inputs for the backtest's account, day by day."""

    def __init__(self, history: History, basket: Basket, config: DirectIndex, account: str):
        self.history = history
        self.basket = basket
        self.config = config
        self.account = account
        sec = history.securities
        self._gics = {s: (sec[s].sector, sec[s].sub_industry) if s in sec else ("", "") for s in basket.universe}
        self._spec: tuple[np.ndarray | int, DirectIndexInput] | None = None  # the listed stocks (or day) it is for
        self._month: tuple[int, int] | None = None
        self._returns: TrailingReturns | None = None

    def spec(self, t: int, gains_realized: Decimal) -> DirectIndexInput:
        """The stocks listed on day `t` (a stock listing later joins when `new_listings`), weighted."""
        mask = self.basket.mask(t)
        key = mask if self.basket.weighting == "equal" else t
        if self._spec is None or not np.array_equal(self._spec[0], key):
            weights = self.basket.weights(t)
            constituents = tuple(Constituent(s, Decimal(repr(w)), *self._gics[s]) for s, w in weights.items())
            self._spec = (key, DirectIndexInput(self.account, constituents, tuple(self.config.exclude),
                                                self.config.tracking_error_budget,
                                                self.config.realized_gain_budget_usd))
        spec = self._spec[1]
        return DirectIndexInput(spec.account, spec.constituents, spec.exclude, spec.tracking_error_budget,
                                spec.realized_gain_budget_usd, gains_realized)

    def returns(self, t: int) -> TrailingReturns:
        """Trailing daily returns of the universe up to day `t`, computed on the first run of each month."""
        day = self.history.dates[t]
        if self._returns is None or self._month != (day.year, day.month):
            self._month = (day.year, day.month)
            cols = self.basket.cols
            window = self.history.close[max(0, t - self.config.correlation_days):t + 1, cols]
            with np.errstate(invalid="ignore", divide="ignore"):
                rets = np.nan_to_num(window[1:] / window[:-1] - 1) if len(window) > 1 else \
                    np.zeros((0, len(cols)))
            self._returns = TrailingReturns(self.basket.universe, rets)
        return self._returns
