"""Results across start dates: the same backtest over every window of a given length (`--windows 10y`),
starting every `--step` (1y), and the distribution of what matters (one path is not a result).

Per window: tax alpha under the three liquidation bases (held, liquidated, short-term at long-term rates),
the tax effect (tax alpha minus the before-tax difference, liquidated) and the before-tax difference. The
summary gives, for each, the median, the quartiles, the minimum, the maximum and how many windows are
positive.
"""

from __future__ import annotations

import calendar
import re
import statistics
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from daemon.backtest.data import History
from daemon.backtest.path import Tracker
from daemon.backtest.placebo import run_placebo
from daemon.backtest.portfolio import Portfolio
from daemon.backtest.simulate import BacktestError, run

SPAN = re.compile(r"^\s*(\d+)\s*([ym])\s*$", re.IGNORECASE)
BASES = {"held": "held", "liquidated": "liquidated", "st_at_lt": "liquidated_st_as_lt"}


def parse_span(text: str, option: str) -> tuple[int, int]:
    """"10y" -> (10, 0), "6m" -> (0, 6)."""
    m = SPAN.match(text)
    if m is None or int(m.group(1)) == 0:
        raise BacktestError(f"{option}: a length like 10y or 6m, got {text!r}")
    n = int(m.group(1))
    return (n, 0) if m.group(2).lower() == "y" else (0, n)


def add(day: date, span: tuple[int, int]) -> date:
    """`day` plus years and months (the 31st becomes the month's last day)."""
    months = day.month - 1 + span[0] * 12 + span[1]
    year, month = day.year + months // 12, months % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def starts(first: date, last: date, length: tuple[int, int], step: tuple[int, int]) -> list[tuple[date, date]]:
    """Every window [start, start + length - 1 day] inside [first, last], starting at `first` every `step`."""
    out: list[tuple[date, date]] = []
    start = first
    while True:
        end = add(start, length) - timedelta(days=1)
        if end > last:
            return out
        out.append((start, end))
        start = add(start, step)


def distribution(values: Sequence[float | None]) -> dict[str, Any]:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"count": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None, "positive": 0}
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else (xs[0], xs[0], xs[0])
    return {"count": len(xs), "median": round(statistics.median(xs), 6), "q1": round(q1, 6), "q3": round(q3, 6),
            "min": round(xs[0], 6), "max": round(xs[-1], 6), "positive": sum(1 for x in xs if x > 0)}


def run_windows(portfolio: Portfolio, history: History, first: date | None, last: date | None,
                length: tuple[int, int], step: tuple[int, int], frequency: str,
                progress: Callable[[int, int], None] | None = None, placebo: bool = False,
                paths: bool = False) -> dict[str, Any]:
    """`paths`: also each window's values by month and its after-tax difference over time (`series`,
    `after_tax_difference`: what the HTML draws; it costs a liquidation estimate a quarter, a year for a
    direct index)."""
    if not history.dates:
        raise BacktestError("the price file has no rows")
    lo = first or history.dates[0]
    hi = last or history.dates[-1]
    spans = starts(lo, hi, length, step)
    if not spans:
        raise BacktestError(f"no window of {length[0]}y{length[1]}m fits between {lo} and {hi}")
    windows: list[dict[str, Any]] = []
    for k, (start, end) in enumerate(spans):
        path = Tracker(after_every=12 if portfolio.direct_index is not None else 3) if paths else None
        report = run(portfolio, history, start, end, frequency, on_day=path.on_day if path else None).report
        by = report["tax_alpha_annual_by_assumption"]
        extra: dict[str, Any] = {}
        if placebo:
            fake = run_placebo(portfolio, history, start, end, frequency, report["pairs"], seed=k)
            extra = {"placebo_before_tax_difference": fake["before_tax_difference"],
                     "before_tax_difference_beyond_placebo": _minus(report["pre_tax_difference_annual"],
                                                                     fake["before_tax_difference"])}
        windows.append({
            "start": report["start"], "end": report["end"],
            "tax_alpha": {name: by[key] for name, key in BASES.items()},
            "tax_effect": report["tax_effect_annual"]["liquidated"],
            "before_tax_difference": report["pre_tax_difference_annual"],
            "harvested_losses": report["total"]["harvested_losses"],
            "swap_back_realized_gains": report["total"]["swap_back_realized_gains"],
            "tracking_error": report["tracking_error"]["with_vs_without"],
            **extra,
            **(path.to_dict() if path else {}),
        })
        if progress is not None:
            progress(k + 1, len(spans))
    summary = {
        "tax_alpha": {name: distribution([w["tax_alpha"][name] for w in windows]) for name in BASES},
        "tax_effect": distribution([w["tax_effect"] for w in windows]),
        "before_tax_difference": distribution([w["before_tax_difference"] for w in windows]),
    }
    if placebo:
        summary["placebo_before_tax_difference"] = distribution([w["placebo_before_tax_difference"]
                                                                 for w in windows])
        summary["before_tax_difference_beyond_placebo"] = distribution(
            [w["before_tax_difference_beyond_placebo"] for w in windows])
    taxes = portfolio.taxes
    return {
        "portfolio": portfolio.name, "frequency": frequency,
        "window": _span(length), "step": _span(step),
        "assumptions": {"short_term_rate": float(taxes.short_term_rate), "long_term_rate": float(taxes.long_term_rate),
                        "niit_rate": float(taxes.niit_rate), "state_rate": float(taxes.state_rate),
                        "losses": taxes.losses, "paid_from": taxes.paid_from,
                        "liquidation": {"held": "never sold", "liquidated": "sold the day after the end",
                                        "st_at_lt": "sold, short-term gains at long-term rates"}},
        "windows": windows, "summary": summary,
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 6)


def _span(span: tuple[int, int]) -> str:
    return f"{span[0]}y" if span[0] and not span[1] else f"{span[0] * 12 + span[1]}m"


def with_rates(portfolio: Portfolio, rates: str | None, losses: str | None) -> Portfolio:
    """`--rates ST/LT` (percent, e.g. 35/15, or fractions, 0.35/0.15) and `--losses` over the file's."""
    from decimal import Decimal, InvalidOperation

    update: dict[str, Any] = {}
    if rates is not None:
        parts = rates.split("/")
        try:
            values = [Decimal(p.strip().rstrip("%")) for p in parts]
        except InvalidOperation:
            values = []
        if len(values) != 2 or any(not v.is_finite() or v < 0 or v > 100 for v in values):
            raise BacktestError(f"--rates: short-term/long-term rates like 35/15 (percent), got {rates!r}")
        st, lt = (v / 100 if v > 1 else v for v in values)
        update |= {"short_term_rate": st, "long_term_rate": lt}
    if losses is not None:
        update["losses"] = losses
    if not update:
        return portfolio
    return portfolio.model_copy(update={"taxes": portfolio.taxes.model_copy(update=update)})
