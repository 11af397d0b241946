"""The end of a backtest: liquidation assumptions, money-weighted returns, tax alpha, tracking error, and the
report (`Result.to_dict()` is the JSON of `tlh backtest --format json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from daemon.backtest.metrics import daily_returns, tracking_error, xirr
from daemon.backtest.taxes import Ending, ending, year_tax
from daemon.backtest.twin import Twin

if TYPE_CHECKING:
    from daemon.backtest.simulate import Context

ASSUMPTIONS = ("held", "liquidated", "liquidated_st_as_lt")
BOTH = ("with_harvesting", "without_harvesting")
CAVEATS = [
    "Survivorship bias: the stock list is today's S&P 500, so names that failed or left the index are missing; "
    "harvestable stock losses before ~2010 are understated.",
    "Adjusted closes fold dividends into prices: dividends are reinvested tax-free in effect, and dividend "
    "reinvestment wash sales cannot occur.",
    "Closes only: every fill is the close ± half of spread_bps; no market impact, no intraday prices.",
    "Taxes of a year are settled on the next settle date; liquidation happens the day after the last close.",
]


@dataclass
class Result:
    report: dict[str, Any]
    dates: list[date] = field(default_factory=list)
    value_with: np.ndarray = field(default_factory=lambda: np.zeros(0))
    value_without: np.ndarray = field(default_factory=lambda: np.zeros(0))
    harvested: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_dict(self, series_step: int = 5) -> dict[str, Any]:
        out = dict(self.report)
        idx = list(range(0, len(self.dates), series_step))
        if self.dates and idx[-1] != len(self.dates) - 1:
            idx.append(len(self.dates) - 1)
        out["series"] = {"date": [self.dates[i].isoformat() for i in idx],
                         "with_harvesting": [round(float(self.value_with[i]), 2) for i in idx],
                         "without_harvesting": [round(float(self.value_without[i]), 2) for i in idx],
                         "cumulative_harvested": [round(float(self.harvested[i]), 2) for i in idx]}
        return out


@dataclass
class Final:
    value: Decimal
    ending: Ending
    after_tax: dict[str, float]
    mwr_before: float | None
    mwr_after: dict[str, float | None]
    taxes_paid: float  # settled over the years (negative: saved)


def finish(ctx: Context, twin: Twin) -> Final:
    p, history, acct = ctx.portfolio, ctx.history, twin.acct
    end = history.dates[ctx.t1]
    closes = {s: history.decimal(ctx.t1, s) for s in acct.lots}
    value = acct.cash + sum((acct.shares(s) * c for s, c in closes.items()), Decimal(0))
    proceeds, liquidation = acct.liquidation(end + timedelta(days=1), closes)
    unsettled = [y for y in range(ctx.first_year, end.year) if y not in twin.settled]
    carry = twin.carry
    for y in [*unsettled, end.year]:  # shown as due at the end (on the gains realized, nothing liquidated)
        due = year_tax(acct.year_rows(y), carry, p.taxes)
        twin.year(y).tax, carry = float(due.tax), due.carry
    e = ending(value, acct.cash + proceeds, [acct.year_rows(y) for y in unsettled], acct.year_rows(end.year),
               liquidation, twin.carry, p.taxes)
    deposits = [(d, -a) for d, a in twin.deposits]
    paid = sum(tax for _, tax in twin.taxes)
    final = {"held": e.held, "liquidated": e.liquidated, "liquidated_st_as_lt": e.liquidated_st_as_lt}
    if p.taxes.paid_from == "portfolio":
        before = [*deposits, *twin.taxes, (end, float(value))]
        after = {k: float(v) for k, v in final.items()}
        mwr_after = {k: xirr([*deposits, (end, v)]) for k, v in after.items()}
    else:
        before = [*deposits, (end, float(value))]
        outside = [(d, -tax) for d, tax in twin.taxes]
        after = {k: float(v) - paid for k, v in final.items()}
        mwr_after = {k: xirr([*deposits, *outside, (end, float(v))]) for k, v in final.items()}
    return Final(value, e, after, xirr(before), mwr_after, paid)


def _annual(returns: np.ndarray, years: float) -> float:
    growth = float(np.prod(1 + returns))
    return growth ** (1 / years) - 1 if years > 0 and growth > 0 else 0.0


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _r(x: float | Decimal | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)


def _pair(a: Any, b: Any) -> dict[str, Any]:
    return {"with_harvesting": a, "without_harvesting": b}


def summarize(ctx: Context, twins: list[Twin], elapsed: float) -> Result:
    p, history = ctx.portfolio, ctx.history
    w, wo = twins
    fw, fwo = finish(ctx, w), finish(ctx, wo)
    start, end = history.dates[ctx.t0], history.dates[ctx.t1]
    span = (end - start).days / 365.25
    years = []
    for y in sorted(w.years):
        a, b = w.years[y], wo.year(y)
        base = a.start_value or 0.0
        years.append({
            "year": y, "harvested_short": _r(a.harvested_short), "harvested_long": _r(a.harvested_long),
            "harvest_yield": _r((a.harvested_short + a.harvested_long) / base, 6) if base else 0.0,
            "pairs": a.pairs, "swap_backs": a.swap_backs, "turnover": _r(a.sold / base, 4) if base else 0.0,
            "wash_sales_created": a.wash_sales, "wash_sales_without_harvesting": b.wash_sales,
            "taxes_paid": _pair(_r(a.tax), _r(b.tax)), "taxes_settled": y in w.settled,
            "realized_short": _pair(_r(a.realized_short), _r(b.realized_short)),
            "realized_long": _pair(_r(a.realized_long), _r(b.realized_long)),
            "start_value": _pair(_r(a.start_value), _r(b.start_value)),
            "end_value": _pair(_r(a.end_value), _r(b.end_value)),
            "large_move_harvests": a.flagged,
            "harvested_losses": _r(a.harvested_losses), "swap_back_realized_gains": _r(a.swap_back_gains),
        })
    alpha = {k: _difference(fw.mwr_after[k], fwo.mwr_after[k]) for k in ASSUMPTIONS}
    rw, rwo = daily_returns(w.values, w.flows), daily_returns(wo.values, wo.flows)
    twr = (_annual(rw, span), _annual(rwo, span))
    pre = twr[0] - twr[1]
    te: dict[str, Any] = {"with_vs_without": _r(tracking_error(rw[1:], rwo[1:]), 6)}
    if ctx.basket is not None:
        rb = np.array([ctx.basket.returns(t) for t in range(ctx.t0 + 1, ctx.t1 + 1)])
        te["basket"] = f"{ctx.basket.weighting}-weighted"
        te["with_vs_basket"] = _r(tracking_error(rw[1:], rb), 6)
        te["without_vs_basket"] = _r(tracking_error(rwo[1:], rb), 6)
    harvested = sum(y.harvested_losses for y in w.years.values())
    given_back = sum(y.swap_back_gains for y in w.years.values())
    total = {
        "harvested_short": _r(sum(y.harvested_short for y in w.years.values())),
        "harvested_long": _r(sum(y.harvested_long for y in w.years.values())),
        "pairs": sum(y.pairs for y in w.years.values()),
        "swap_backs": sum(y.swap_backs for y in w.years.values()),
        "wash_sales_created": sum(y.wash_sales for y in w.years.values()),
        "wash_sales_without_harvesting": sum(y.wash_sales for y in wo.years.values()),
        "taxes_paid": _pair(_r(fw.taxes_paid), _r(fwo.taxes_paid)),
        "deposits": _r(sum(a for _, a in w.deposits)),
        # What the strategy keeps: the losses harvest pairs realized, and the gains swap backs gave back.
        "harvested_losses": _r(harvested),
        "swap_back_realized_gains": _r(given_back),
        "swap_back_gains_to_harvested_losses": _r(given_back / harvested, 4) if harvested else None,
    }
    report: dict[str, Any] = {
        "portfolio": p.name, "description": p.description, "start": start.isoformat(), "end": end.isoformat(),
        "years_span": round(span, 3), "frequency": ctx.frequency, "trading_days": ctx.t1 - ctx.t0 + 1,
        "direct_index": p.direct_index is not None,
        "universe_size": len(ctx.basket.universe) if ctx.basket is not None else None,
        "tax_rates": {"short_term": float(p.taxes.short_term_rate), "long_term": float(p.taxes.long_term_rate),
                      "niit": float(p.taxes.niit_rate), "state": float(p.taxes.state_rate),
                      "losses": p.taxes.losses, "paid_from": p.taxes.paid_from},
        "years": years, "total": total,
        "final_value": _pair(_r(float(fw.value)), _r(float(fwo.value))),
        "after_tax_value": {k: _pair(_r(fw.after_tax[k]), _r(fwo.after_tax[k])) for k in ASSUMPTIONS},
        "tax_alpha_annual": _r(alpha["liquidated"], 6),
        "tax_alpha_annual_by_assumption": {k: _r(v, 6) for k, v in alpha.items()},
        # Tax alpha ~ the difference in before-tax time-weighted return (what the replacements did; noise of
        # about the tracking error / sqrt(years)) + the tax effect proper.
        "time_weighted_return_before_tax": _pair(_r(twr[0], 6), _r(twr[1], 6)),
        "pre_tax_difference_annual": _r(pre, 6),
        "tax_effect_annual": {k: _r(_difference(v, pre), 6) for k, v in alpha.items()},
        "pre_tax_noise_annual": _r(tracking_error(rw[1:], rwo[1:]) / max(span, 1.0) ** 0.5, 6),
        "money_weighted_return": {
            "before_tax": _pair(_r(fw.mwr_before, 6), _r(fwo.mwr_before, 6)),
            "after_tax": {k: _pair(_r(fw.mwr_after[k], 6), _r(fwo.mwr_after[k], 6)) for k in ASSUMPTIONS}},
        "carryforward_unused": _pair({"short": _r(fw.ending.carry_unused.short),
                                      "long": _r(fw.ending.carry_unused.long)},
                                     {"short": _r(fwo.ending.carry_unused.short),
                                      "long": _r(fwo.ending.carry_unused.long)}),
        "tracking_error": te,
        "holdings": _pair({s: round(float(w.acct.shares(s)), 6) for s in sorted(w.acct.lots)},
                          {s: round(float(wo.acct.shares(s)), 6) for s in sorted(wo.acct.lots)}),
        "taxes_at_end": {k: _pair(_r(float(getattr(fw.ending, f"tax_{k}"))), _r(float(getattr(fwo.ending, f"tax_{k}"))))
                         for k in ASSUMPTIONS},
        "pairs": [{"date": r.day.isoformat(), "kind": r.kind, "sell": r.sell_symbol, "buy": r.buy_symbol,
                   "estimated_loss": _r(r.estimated_loss)} for r in w.pairs],
        "large_move_harvests": [{"date": f.day.isoformat(), "symbol": f.symbol, "loss": _r(f.loss),
                                 "move_date": f.move.day.isoformat(), "move": _r(f.move.change, 4)}
                                for f in w.flags],
        "caveats": CAVEATS, "elapsed_seconds": round(elapsed, 2),
    }
    dates = history.dates[ctx.t0:ctx.t1 + 1]
    return Result(report, dates, w.values, wo.values, w.harvested)
