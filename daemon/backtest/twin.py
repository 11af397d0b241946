"""One of the two portfolios a backtest runs in lockstep (with and without harvesting): its account, its
cash flows, yearly statistics and tax settlements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from daemon.backtest.account import SimAccount
from daemon.backtest.data import History, LargeMove
from daemon.backtest.portfolio import Taxes
from daemon.backtest.records import PairRecord
from daemon.backtest.taxes import Carry, year_tax
from daemon.engine import Restriction
from daemon.engine.triggers import Triggers
from daemon.ledger.types import Disposition, Term


@dataclass
class Year:
    year: int
    start_value: float = 0.0
    end_value: float = 0.0
    harvested_short: float = 0.0  # losses (positive) realized by the engine's harvest pairs, net per term
    harvested_long: float = 0.0
    pairs: int = 0
    swap_backs: int = 0
    sold: float = 0.0  # proceeds of every sale
    realized_short: float = 0.0  # every sale's result (gains positive), from the ledger
    realized_long: float = 0.0
    wash_sales: int = 0  # wash-sale matches the ledger booked on this year's trades
    tax: float | None = None  # settled tax for the year (negative: saved); None until settled
    flagged: int = 0  # harvested sales across a large one-day move
    harvested_losses: float = 0.0  # losses of the lots harvest pairs sold at a loss (gains not netted)
    swap_back_gains: float = 0.0  # gains of the lots swap backs sold at a gain (losses not netted)


@dataclass(frozen=True, slots=True)
class Flag:
    """A harvested loss on a lot whose holding period spans a large one-day move (possibly a split the data
    did not adjust)."""

    day: date
    symbol: str
    loss: float
    move: LargeMove


@dataclass
class Twin:
    name: str  # "with" | "without"
    harvesting: bool
    acct: SimAccount
    n_days: int
    carry: Carry = field(default_factory=Carry)
    values: np.ndarray = field(init=False)
    flows: np.ndarray = field(init=False)  # external money in (+) / out (-) per day
    harvested: np.ndarray = field(init=False)  # cumulative harvested losses
    deposits: list[tuple[date, float]] = field(default_factory=list)
    taxes: list[tuple[date, float]] = field(default_factory=list)  # settled: paid (+) / saved (-)
    settled: set[int] = field(default_factory=set)
    years: dict[int, Year] = field(default_factory=dict)
    restrictions: list[Restriction] = field(default_factory=list)
    pairs: list[PairRecord] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    cumulative: float = 0.0
    swaps: Callable[..., None] | None = None  # a placebo's scheduled swaps (placebo.py), made each day
    # A direct index: the engine's bounds for the account as it stood (simulate.calm), with what they hold for.
    calm: tuple[Any, Triggers, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.values = np.zeros(self.n_days)
        self.flows = np.zeros(self.n_days)
        self.harvested = np.zeros(self.n_days)

    def year(self, year: int) -> Year:
        found = self.years.get(year)
        if found is None:
            found = self.years[year] = Year(year)
        return found

    def deposit(self, i: int, day: date, amount: Decimal) -> None:
        if amount > 0:
            self.acct.cash += amount
            self.flows[i] += float(amount)
            self.deposits.append((day, float(amount)))

    def record(self, day: date, sold: list[Disposition], moves: dict[str, list[LargeMove]]) -> None:
        """Statistics of the day's booked sales."""
        y = self.year(day.year)
        tags = self.acct.tags
        y.wash_sales += sum(1 for d, _ in self.acct.washes if d == day)
        for d in sold:
            result = float(d.gain)
            y.sold += float(d.proceeds)
            if d.term is Term.SHORT:
                y.realized_short += result
            else:
                y.realized_long += result
            tag = tags.get(d.trade_id)
            if tag == "swap_back" and result > 0:
                y.swap_back_gains += result
            if tag != "harvest":
                continue
            if result < 0:
                y.harvested_losses -= result
            if d.term is Term.SHORT:
                y.harvested_short -= result
            else:
                y.harvested_long -= result
            self.cumulative -= result
            if result < 0:
                for m in moves.get(d.symbol, ()):
                    if d.purchased < m.day <= d.sold:
                        self.flags.append(Flag(d.sold, d.symbol, -result, m))
                        y.flagged += 1

    def settle(self, year: int, i: int, day: date, taxes: Taxes, raise_cash: Callable[[Decimal], None]) -> None:
        """Pay the year's tax (or credit the saving) on `day`; `raise_cash(amount)` sells what the engine
        chooses when the cash does not cover it."""
        result = year_tax(self.acct.year_rows(year), self.carry, taxes)
        self.carry = result.carry
        tax = result.tax
        self.year(year).tax = float(tax)
        self.settled.add(year)
        self.taxes.append((day, float(tax)))
        if taxes.paid_from != "portfolio" or tax == 0:
            return
        if tax > 0:
            need = tax - self.acct.cash
            if need > 0:  # (a margin for the fills below the bid the engine prices its sales at)
                raise_cash(need * Decimal("1.001") + 1)
        self.acct.cash -= tax
        self.flows[i] -= float(tax)


def due_years(twin: Twin, day: date, first_year: int, taxes: Taxes) -> list[int]:
    """Years whose tax is due on `day`: ended, not settled, and the settlement date reached."""
    return [y for y in range(first_year, day.year)
            if y not in twin.settled and day >= date(y + 1, taxes.settle_month, taxes.settle_day)]


def large_moves(history: History) -> dict[str, list[LargeMove]]:
    out: dict[str, list[LargeMove]] = {}
    for m in history.moves:
        out.setdefault(m.symbol, []).append(m)
    return out
