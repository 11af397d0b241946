"""Survivorship, measured rather than only confessed: a placebo portfolio that makes the harvesting run's swaps
on random days instead of at losses.

The price data holds only today's index members, so a stock that fell tends to come back, and moving money
between correlated stocks can look profitable (or costly) for reasons that have nothing to do with taxes.
The placebo starts like the portfolio without harvesting (same deposits, same new-money rule) and, for each
harvest pair of the real run, on a trading day drawn at random in the window (seeded), sells every share of
the pair's sold stock and buys the pair's replacement with the proceeds; 31 days later it swaps those
shares back. Its before-tax difference against the portfolio without harvesting is what such swaps do to
returns on this data by themselves; the real run's before-tax difference minus the placebo's is the part
that comes from swapping *at losses*. Taxes are not computed for the placebo: only its before-tax return
matters.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from daemon.backtest.account import SimAccount
from daemon.backtest.metrics import daily_returns
from daemon.backtest.twin import Twin

if TYPE_CHECKING:
    from daemon.backtest.data import History
    from daemon.backtest.portfolio import Portfolio
    from daemon.backtest.simulate import Context

HELD = timedelta(days=31)


@dataclass
class Swaps:
    """The placebo's schedule: per trading-day index, the swaps to make and the swaps to undo."""

    out: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # (sell, buy)
    back: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)  # (purchase id, symbol, home)
    made: int = 0

    def __call__(self, ctx: Context, twin: Twin, i: int, t: int, day: date) -> None:
        acct, history = twin.acct, ctx.history
        for purchase, symbol, home in self.back.pop(i, []):
            lots = [lot for lot in acct.lots.get(symbol, ()) if lot.purchase_id == purchase]
            if not lots or not history.listed(t, home):
                continue
            before = acct.cash
            for lot in lots:
                acct.sell(day, lot, acct.available(lot), history.decimal(t, symbol), "placebo")
            acct.buy(day, home, acct.cash - before, history.decimal(t, home), "placebo")
        for sell, buy in self.out.pop(i, []):
            lots = [lot for lot in acct.lots.get(sell, ()) if acct.available(lot) > 0]
            if not lots or not history.listed(t, buy):
                continue
            before = acct.cash
            for lot in lots:
                acct.sell(day, lot, acct.available(lot), history.decimal(t, sell), "placebo")
            trade = acct.buy(day, buy, acct.cash - before, history.decimal(t, buy), "placebo")
            if trade is None:
                continue
            self.made += 1
            j = _index_on_or_after(ctx, i, day + HELD)
            if j is not None:
                self.back.setdefault(j, []).append((trade.trade_id, buy, sell))


def _index_on_or_after(ctx: Context, i: int, day: date) -> int | None:
    dates = ctx.history.dates
    j = i
    while ctx.t0 + j <= ctx.t1 and dates[ctx.t0 + j] < day:
        j += 1
    return j if ctx.t0 + j <= ctx.t1 else None


def run_placebo(portfolio: Portfolio, history: History, start: date | None, end: date | None, frequency: str,
                pairs: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Replay the real run's harvest pairs (`report["pairs"]`) on random days; the before-tax difference of
    that placebo against the portfolio without harvesting (time-weighted, a year)."""
    from daemon.backtest.result import _annual
    from daemon.backtest.simulate import advance, prepare

    ctx, twins = prepare(portfolio, history, start, end, frequency)
    n = ctx.t1 - ctx.t0 + 1
    rng = random.Random(seed)
    swaps = Swaps()
    for p in pairs:
        if p["kind"] == "harvest":
            swaps.out.setdefault(rng.randrange(n), []).append((p["sell"], p["buy"]))
    placebo = Twin("placebo", False, SimAccount("placebo", ctx.settings.identical, portfolio.spread_bps,
                                                history.col), n)
    placebo.carry = twins[1].carry
    placebo.swaps = swaps
    twins = [placebo, twins[1]]
    for i in range(n):
        advance(ctx, twins, i)
    span = (history.dates[ctx.t1] - history.dates[ctx.t0]).days / 365.25
    rp = daily_returns(placebo.values, placebo.flows)
    rwo = daily_returns(twins[1].values, twins[1].flows)
    return {"seed": seed, "swaps": swaps.made,
            "before_tax_difference": round(_annual(rp, span) - _annual(rwo, span), 6)}
