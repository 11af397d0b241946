"""When a direct index's plan cannot act: the prices and the cash that bound what `plan()` could do.

`plan()` on an account with `[accounts.direct_index]` trades only when
- a lot is at least `min_loss_pct` below its basis (any lot at a loss with FIFO/LIFO/HIFO relief) and the
  position's lots at a loss lose at least `min_loss_usd`: a harvest candidate;
- a position is more than `DRIFT` (and `MIN_TRADE_USD`) over its target and one of its lots bought 31+ days
  ago could be sold: at a loss, or (over the tracking-error limit) at a gain of at most `OVER_LIMIT_GAIN` of
  its value, or at any gain while the tax year's gain budget is not used up: a swap back;
- the cash above `cash_max_pct` of the account is at least `MIN_TRADE_USD`: new money.
`triggers(inp)` computes those bounds once for a ledger state; `Triggers.calm(day, closes)` then tells, from
the day's closes alone, that none of them holds, so a plan on that state would have no pair and no purchase
(a backtest skips the run). The float tests carry slack so that they never miss a case the engine's Decimal
arithmetic would act on; a day they cannot clear is planned in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from daemon.engine.direct_index import (
    DRIFT,
    HELD,
    MIN_TRADE_USD,
    OVER_LIMIT_GAIN,
    gains_this_year,
    index_of,
)
from daemon.engine.pairs import lot_method
from daemon.engine.types import EngineInput
from daemon.ledger.types import Lot, LotMethod

RELATIVE = 1e-6  # slack of a float comparison against the engine's Decimal one, relative
CENTS = 0.05  # and absolute: proceeds and prorated bases are rounded to cents


@dataclass(frozen=True, slots=True, eq=False)
class Triggers:
    """One account's bounds for one ledger state and cash; `symbols` are the positions held."""

    account: str
    year: int  # the gain budget is per tax year
    symbols: tuple[str, ...]
    weights: np.ndarray  # per symbol: target weight (0 outside the index or excluded)
    lot_symbol: np.ndarray  # per open lot: index into `symbols`
    shares: np.ndarray
    basis: np.ndarray
    purchased: np.ndarray  # ordinal of the purchase day
    harvest_factor: float  # a lot qualifies at shares * close <= harvest_factor * basis
    min_loss_usd: float
    gains_allowed: bool  # gain budget left this year: any lot held 31+ days may be swapped back
    cash: float
    cash_max_pct: float

    def calm(self, as_of: date, closes: np.ndarray) -> bool:
        """Whether a plan on this state is sure to trade nothing on `as_of` at `closes` (the day's close of
        each of `symbols`, NaN for none)."""
        if as_of.year != self.year or np.isnan(closes).any():
            return False
        n = len(self.symbols)
        price = closes[self.lot_symbol]
        worth = self.shares * price
        held = np.bincount(self.lot_symbol, weights=worth, minlength=n)
        value = self.cash + float(held.sum())
        slack = RELATIVE * (abs(self.cash) + abs(value)) + CENTS
        if self.cash - self.cash_max_pct * value >= float(MIN_TRADE_USD) - slack:
            return False  # new money to invest
        # Harvest: an eligible lot, and losses of the position's lots at a loss of at least min_loss_usd.
        eligible = worth <= self.harvest_factor * self.basis * (1 + RELATIVE) + CENTS
        if eligible.any():
            loss = np.bincount(self.lot_symbol, weights=np.maximum(self.basis - worth, 0.0), minlength=n)
            candidate = np.bincount(self.lot_symbol, weights=eligible, minlength=n) > 0
            if (candidate & (loss >= self.min_loss_usd * (1 - RELATIVE) - CENTS)).any():
                return False
        # Swap back: a position over its target by more than the drift, with a lot held 31+ days it may sell.
        target = self.weights * value
        excess = held - target
        over = excess > np.maximum(float(DRIFT) * target, float(MIN_TRADE_USD)) * (1 - RELATIVE) - slack
        if not over.any():
            return True
        old = (self.purchased <= as_of.toordinal() - HELD.days) & over[self.lot_symbol]
        if self.gains_allowed:
            return not old.any()
        sellable = worth * (1 - float(OVER_LIMIT_GAIN)) <= self.basis * (1 + RELATIVE) + CENTS
        return not (old & sellable).any()


def triggers(inp: EngineInput) -> Triggers | None:
    """The bounds of `plan(inp)` for its one household with one taxable direct-index account; None when the
    input holds anything else they do not cover (asset classes, ETF targets, other accounts, idle cash to
    reinvest)."""
    if len(inp.households) != 1 or len(inp.direct_indexes) != 1 or inp.asset_classes or inp.uninvested \
            or inp.targets:
        return None
    household, spec = inp.households[0], inp.direct_indexes[0]
    if len(household.accounts) != 1:
        return None
    account = household.accounts[0]
    if account.account.id != spec.account or not account.account.type.taxable:
        return None
    h = inp.harvest
    rows = _rows(lot for lot in household.ledger.lots if lot.account == spec.account and lot.quantity > 0)
    symbols = tuple(sorted({row[1] for row in rows}))
    column = {s: i for i, s in enumerate(symbols)}
    weights = index_of(spec).float_weights()
    n = len(rows)
    lot_symbol = np.fromiter((column[row[1]] for row in rows), dtype=np.intp, count=n)
    shares = np.fromiter((row[2] for row in rows), dtype=float, count=n)
    basis = np.fromiter((row[3] for row in rows), dtype=float, count=n)
    purchased = np.fromiter((row[4] for row in rows), dtype=np.int64, count=n)
    realized = spec.gains_realized
    if realized is None:
        realized = gains_this_year(household.ledger, spec.account, inp.as_of.year)
    specific = lot_method(account) is LotMethod.SPECIFIC
    return Triggers(
        account=spec.account, year=inp.as_of.year, symbols=symbols,
        weights=np.array([weights.get(s, 0.0) for s in symbols]),
        lot_symbol=lot_symbol, shares=shares, basis=basis, purchased=purchased,
        harvest_factor=float(1 - h.min_loss_pct) if specific else 1.0,
        min_loss_usd=float(h.min_loss_usd),
        gains_allowed=spec.realized_gain_budget_usd - realized > 0,
        cash=float(account.cash), cash_max_pct=float(h.cash_max_pct))


# Per open lot, what the bounds take of it (by lot id, for that very lot object): a backtest asks for the bounds
# of thousands of ledger states that differ from the last in a few lots, and a Decimal's float costs.
_Row = tuple[Lot, str, float, float, int]
_ROWS: dict[str, _Row] = {}


def _rows(lots: Iterable[Lot]) -> list[_Row]:
    global _ROWS
    kept: dict[str, _Row] = {}
    known = _ROWS
    out = []
    for lot in lots:
        row = known.get(lot.lot_id)
        if row is None or row[0] is not lot:
            row = (lot, lot.symbol, float(lot.quantity), float(lot.cost + lot.adjustment), lot.purchased.toordinal())
        kept[lot.lot_id] = row
        out.append(row)
    _ROWS = kept
    return out
