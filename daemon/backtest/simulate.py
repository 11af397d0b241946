"""`run(portfolio, history, ...)`: the backtest, day by day, two portfolios in lockstep.

Each trading day, for the portfolio with harvesting and then for its twin without:
1. the initial deposit (first day) or the monthly contribution (first trading day of a month) arrives;
2. with harvesting, on harvest days (daily / first trading day of the week / of the month): the engine's
   plan, filled at the paper broker's prices (in a direct index the engine also swaps back and invests the
   new money, exactly as `tlh harvest` would for an account with `[accounts.direct_index]`);
3. taxes of a finished year are settled on the first trading day on or after `taxes.settle_month/day`
   (paid from the portfolio by selling the lots the engine chooses, or a saving credited, per
   `taxes.paid_from`);
4. the engine's rebalancing sales (`daemon.engine.rebalance`: tax-aware lots, never a wash sale) when the
   rule says so, then idle cash is invested (a book of ETFs: the engine's new money, most underweight
   first), buying only what no restriction or recent loss blocks;
5. the day's trades go through the ledger in one `apply`; sales are recorded, the portfolio valued.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from daemon.backtest import direct
from daemon.backtest.account import ACCOUNT, SimAccount
from daemon.backtest.allocate import Allocation, invest, pro_rata
from daemon.backtest.data import History, LargeMove
from daemon.backtest.harvest import (
    Settings,
    active,
    book,
    engine_input,
    may_act,
    new_money,
    raise_cash,
    rebalance,
    run_engine,
)
from daemon.backtest.portfolio import Portfolio
from daemon.backtest.result import Result, summarize
from daemon.backtest.taxes import initial_carry
from daemon.backtest.twin import Twin, due_years, large_moves
from daemon.config.models import AssetClass
from daemon.engine import EngineInput, PairKind, plan
from daemon.engine.triggers import triggers
from daemon.engine.types import DirectIndexInput
from daemon.ledger.types import ZERO
from daemon.prices import PriceFileError

FREQUENCIES = ("daily", "weekly", "monthly")
MIN_INVEST = 50.0  # idle cash below this waits for the next contribution
MAX_BUYS = 25  # stocks the twin without harvesting buys with a contribution (the most underweight)
LARGE_CASH = 0.01  # cash above this share of the value is spread over every underweight stock
Progress = Callable[[int, int], None]


class BacktestError(Exception):
    pass


@dataclass
class Context:
    portfolio: Portfolio
    history: History
    settings: Settings
    alloc: Allocation
    t0: int
    t1: int
    frequency: str
    moves: dict[str, list[LargeMove]]
    feed: direct.Feed | None = None  # a direct index: the engine's inputs
    basket: direct.Basket | None = None

    @property
    def first_year(self) -> int:
        return self.history.dates[self.t0].year


def window(history: History, start: date | None, end: date | None) -> tuple[int, int]:
    if not history.dates:
        raise BacktestError("the price file has no rows")
    t0 = 0 if start is None else next((i for i, d in enumerate(history.dates) if d >= start), len(history.dates))
    t1 = len(history.dates) - 1 if end is None else history.row(end)
    if t0 > t1:
        raise BacktestError(f"no trading day between {start or history.dates[0]} and {end or history.dates[-1]}")
    return t0, t1


def universe(portfolio: Portfolio, history: History, t0: int, t1: int) -> list[str]:
    di = portfolio.direct_index
    assert di is not None
    if di.universe:
        missing = [s for s in di.universe if s not in history.col]
        if missing:
            raise BacktestError(f"direct_index.universe: no prices for {', '.join(missing[:10])}")
        symbols = list(di.universe)
    else:
        if not history.securities:
            raise BacktestError("a direct index needs securities.csv (kinds, GICS sectors) beside the prices")
        symbols = [s for s, sec in history.securities.items() if sec.kind == "stock" and s in history.col]
    if portfolio.large_moves == "exclude":
        first, last = history.dates[t0], history.dates[t1]
        bad = {m.symbol for m in history.moves if first < m.day <= last}
        symbols = [s for s in symbols if s not in bad]
    return sorted(symbols)


def context(portfolio: Portfolio, history: History, start: date | None, end: date | None,
            frequency: str) -> Context:
    if frequency not in FREQUENCIES:
        raise BacktestError(f"frequency must be one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    t0, t1 = window(history, start, end)
    h = portfolio.harvest_config()
    groups = portfolio.ordered_groups()
    settings = Settings(h, portfolio.taxes.tax_config(), portfolio.identical_groups())
    moves = large_moves(history)
    if portfolio.direct_index is None:
        missing = sorted({m for s in portfolio.sleeves for m in s.members
                          if not any(x in history.col for x in groups.get(m, [m]))})
        if missing:
            raise BacktestError(f"no prices for {', '.join(missing)} in the price file")
        alloc = Allocation(history, portfolio.sleeves, groups)
        if not alloc.weights(t1):
            raise BacktestError("no sleeve has a listed member in the backtest's window")
        return Context(portfolio, history, settings, alloc, t0, t1, frequency, moves)
    di = portfolio.direct_index
    symbols = universe(portfolio, history, t0, t1)
    if not symbols:
        raise BacktestError("the direct index's universe is empty")
    basket = direct.Basket(history, symbols, di.weighting, di.new_listings, t0)
    return Context(portfolio, history, settings, basket, t0, t1, frequency, moves,
                   direct.Feed(history, basket, di, ACCOUNT), basket)


def prepare(portfolio: Portfolio, history: History, start: date | None = None, end: date | None = None,
            frequency: str = "daily") -> tuple[Context, list[Twin]]:
    """The backtest's context and its two portfolios (with and without harvesting), before the first day."""
    ctx = context(portfolio, history, start, end, frequency)
    n = ctx.t1 - ctx.t0 + 1
    twins = [Twin(name, name == "with", SimAccount(name, ctx.settings.identical, portfolio.spread_bps, history.col),
                  n) for name in ("with", "without")]
    for twin in twins:
        twin.carry = initial_carry(portfolio.taxes)
    return ctx, twins


def advance(ctx: Context, twins: list[Twin], i: int) -> None:
    """Trading day `i` of the backtest (row `ctx.t0 + i` of the prices), for both portfolios."""
    dates, t = ctx.history.dates, ctx.t0 + i
    day = dates[t]
    new_month = i == 0 or dates[t - 1].month != day.month
    if ctx.frequency == "daily":
        run_day = True
    elif ctx.frequency == "weekly":
        run_day = i == 0 or dates[t - 1].isocalendar()[:2] != day.isocalendar()[:2]
    else:
        run_day = new_month
    for twin in twins:
        step(ctx, twin, twins, i, t, day, new_month, run_day)


def run(portfolio: Portfolio, history: History, start: date | None = None, end: date | None = None,
        frequency: str = "daily", progress: Progress | None = None,
        on_day: Callable[[Context, list[Twin], int], None] | None = None) -> Result:
    """`on_day(ctx, twins, i)`: called after each day, to watch the path (path.Tracker); it must not trade."""
    began = time.perf_counter()
    ctx, twins = prepare(portfolio, history, start, end, frequency)
    n = ctx.t1 - ctx.t0 + 1
    if progress is not None:
        progress(0, n)
    for i in range(n):
        advance(ctx, twins, i)
        if on_day is not None:
            on_day(ctx, twins, i)
        if progress is not None:
            progress(i + 1, n)
    return summarize(ctx, twins, time.perf_counter() - began)


def step(ctx: Context, twin: Twin, twins: list[Twin], i: int, t: int, day: date, new_month: bool,
         run_day: bool) -> None:
    p, acct, history = ctx.portfolio, twin.acct, ctx.history
    year = twin.year(day.year)
    if not year.start_value and i > 0:
        year.start_value = float(twin.values[i - 1])
    if i == 0:
        twin.deposit(i, day, p.initial_deposit)
        year.start_value = float(acct.cash)
    elif new_month:
        twin.deposit(i, day, p.monthly_contribution)
    if twin.harvesting and run_day:
        harvest(ctx, twin, twins, i, t, day)
    if twin.swaps is not None:
        twin.swaps(ctx, twin, i, t, day)
    for y in due_years(twin, day, ctx.first_year, p.taxes):
        twin.settle(y, i, day, p.taxes, lambda need: raise_cash(acct, ctx.alloc, t, ctx.settings, need, "tax"))
    rule = p.rebalance.rule
    if rule == "annual" and new_month and day.month == p.rebalance.month and i > 0:
        rebalance(acct, ctx.alloc, t, ctx.settings, ZERO)
    elif rule == "threshold" and i > 0:
        rebalance(acct, ctx.alloc, t, ctx.settings, p.rebalance.threshold)
    cash = float(acct.cash)
    engine_invests = ctx.feed is not None and twin.harvesting  # the engine's purchases, on harvest days
    if cash >= MIN_INVEST and not engine_invests:
        blocked = acct.blocked(day, twin.restrictions)
        # A direct index buys a few stocks with a contribution, every underweight with a large sum.
        small = p.direct_index is not None and i > 0 and cash < LARGE_CASH * acct.value(history.priced[t])
        if p.direct_index is None:  # a book of ETFs: the engine's new money
            classes = tuple(AssetClass.model_construct(name=s.name, members=m) for s in p.sleeves
                            if (m := ctx.alloc.members(s.name, t)))
            new_money(acct, history, t, ctx.settings, classes, ctx.alloc.weights(t), twin.restrictions)
        elif not small and i > 0:
            pro_rata(acct, ctx.alloc, t, day, blocked, "invest")
        else:
            max_buys = MAX_BUYS if small and p.direct_index else len(ctx.alloc.weights(t))
            invest(acct, ctx.alloc, t, day, blocked, max_buys, "invest")
    twin.record(day, acct.commit(day), ctx.moves)
    twin.values[i] = acct.value(history.priced[t])
    twin.harvested[i] = twin.cumulative
    year.end_value = float(twin.values[i])


def harvest(ctx: Context, twin: Twin, twins: list[Twin], i: int, t: int, day: date) -> None:
    acct, history, h = twin.acct, ctx.history, ctx.settings.harvest
    year = twin.year(day.year)
    if ctx.feed is not None:
        spec = ctx.feed.spec(t, acct.gains.get(day.year, ZERO))
        returns = ctx.feed.returns(t)  # every day: the month's first day takes the trailing window
        if calm(twin, history, t, spec):
            twin.restrictions = active(twin.restrictions, (), day)
            return
        inp = engine_input(acct, history, t, ctx.settings, (), twin.restrictions, direct=spec, returns=returns)
        # With new money waiting (a contribution day) the engine invests it: no use taking bounds first.
        waiting = i > 0 and float(acct.cash) > 2 * float(h.cash_max_pct) * twin.values[i - 1] + 1000
        if not waiting and calm(twin, history, t, spec, inp):
            twin.restrictions = active(twin.restrictions, (), day)
            return
        result = plan(inp)
    elif may_act(acct, ctx.alloc, history, t, h):
        classes = tuple(AssetClass.model_construct(name=s.name, members=m) for s in ctx.portfolio.sleeves
                        if (m := ctx.alloc.members(s.name, t)))
        result = run_engine(acct, history, t, ctx.settings, classes, twin.restrictions)
    else:
        return
    twin.restrictions = active(twin.restrictions, result.restrictions, day)
    records = book(acct, result, day)
    twin.pairs.extend(records)
    year.pairs += sum(1 for r in records if r.kind == PairKind.HARVEST.value)
    year.swap_backs += sum(1 for r in records if r.kind == PairKind.SWAP_BACK.value)


def calm(twin: Twin, history: History, t: int, spec: DirectIndexInput, inp: EngineInput | None = None) -> bool:
    """Whether the engine's bounds (`engine.triggers`) for the account as it stands show that a plan today
    would trade nothing, so the run can be skipped. The bounds are computed from `inp` when the account's
    ledger, cash, index or gains changed since they were last taken; without `inp` only kept ones are used."""
    acct = twin.acct
    key = (acct.version, acct.cash, spec.constituents, spec.gains_realized)
    kept = twin.calm
    if kept is None or kept[0] != key:
        if inp is None:
            return False
        found = triggers(inp)
        if found is None:
            twin.calm = None
            return False
        kept = twin.calm = (key, found, np.array([history.col[s] for s in found.symbols], dtype=np.intp))
    elif inp is not None:
        return False  # already tested today
    return kept[1].calm(history.dates[t], history.close[t, kept[2]])


__all__ = ["BacktestError", "FREQUENCIES", "PriceFileError", "run"]
