"""A backtest's path, not only its end: the two portfolios' values at each month's last trading day, and
every `after_every` months (a quarter; a year for a direct index, whose hundreds of lots make each estimate
cost ~70 ms) and on the last day, the after-tax difference between them as the report computes it at the end:
everything sold the next day and taxed (`liquidated`), taxes not yet settled included, taxes paid from
outside subtracted. The last point is the report's own after-tax difference.

`Tracker.on_day` is `simulate.run`'s per-day hook; it reads the twins and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from daemon.backtest.taxes import ending
from daemon.backtest.twin import Twin

if TYPE_CHECKING:
    from daemon.backtest.simulate import Context


def after_tax(ctx: Context, twin: Twin, t: int) -> float:
    """What `twin` would be worth after tax if it were sold after the close of price row `t` (the report's
    `after_tax_value.liquidated`, as of that day)."""
    p, history, acct = ctx.portfolio, ctx.history, twin.acct
    day = history.dates[t]
    closes = {s: history.decimal(t, s) for s in acct.lots}
    value = acct.cash + sum((acct.shares(s) * c for s, c in closes.items()), Decimal(0))
    proceeds, liquidation = acct.liquidation(day + timedelta(days=1), closes)
    unsettled = [y for y in range(ctx.first_year, day.year) if y not in twin.settled]
    e = ending(value, acct.cash + proceeds, [acct.year_rows(y) for y in unsettled], acct.year_rows(day.year),
               liquidation, twin.carry, p.taxes)
    if p.taxes.paid_from == "portfolio":
        return float(e.liquidated)
    return float(e.liquidated) - sum(tax for _, tax in twin.taxes)


@dataclass
class Tracker:
    """Collects the path while `simulate.run` steps the twins (with harvesting first)."""

    after_every: int = 3  # months between after-tax estimates (3, 6 or 12: at quarter / half / year ends)
    dates: list[str] = field(default_factory=list)
    value_with: list[float] = field(default_factory=list)
    value_without: list[float] = field(default_factory=list)
    after_dates: list[str] = field(default_factory=list)
    after_usd: list[float] = field(default_factory=list)
    after_pct: list[float | None] = field(default_factory=list)

    def on_day(self, ctx: Context, twins: list[Twin], i: int) -> None:
        dates, t = ctx.history.dates, ctx.t0 + i
        day = dates[t]
        last = t == ctx.t1
        month_end = last or dates[t + 1].month != day.month
        if not month_end:
            return
        w, wo = twins
        self.dates.append(day.isoformat())
        self.value_with.append(round(float(w.values[i]), 2))
        self.value_without.append(round(float(wo.values[i]), 2))
        if last or day.month % self.after_every == 0:
            a, b = after_tax(ctx, w, t), after_tax(ctx, wo, t)
            self.after_dates.append(day.isoformat())
            self.after_usd.append(round(a - b, 2))
            self.after_pct.append(round((a - b) / b, 6) if b > 0 else None)

    def to_dict(self) -> dict[str, Any]:
        return {"series": {"date": self.dates, "with_harvesting": self.value_with,
                           "without_harvesting": self.value_without},
                "after_tax_difference": {"date": self.after_dates, "usd": self.after_usd,
                                         "pct_of_without": self.after_pct}}
