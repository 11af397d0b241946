"""The shell side of direct indexing: each `[accounts.direct_index]` as the engine's `DirectIndexInput`
(its constituents file read), and the trailing daily returns of the stocks involved from the price source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from daemon.config.constituents import load_constituents
from daemon.config.models import Settings
from daemon.engine.tracking import trailing_returns
from daemon.engine.types import DirectIndexInput, TrailingReturns
from daemon.prices import PriceBook


def inputs(settings: Settings) -> tuple[DirectIndexInput, ...]:
    out = []
    for account in settings.accounts:
        di = account.direct_index
        if di is not None:
            out.append(DirectIndexInput(account.id, load_constituents(Path(di.constituents)), tuple(di.exclude),
                                        di.tracking_error_budget, di.realized_gain_budget_usd))
    return tuple(out)


def symbols(specs: Sequence[DirectIndexInput]) -> set[str]:
    return {c.symbol for spec in specs for c in spec.constituents}


def returns(settings: Settings, prices: PriceBook, specs: Sequence[DirectIndexInput], as_of: date,
            held: set[str]) -> TrailingReturns | None:
    """Trailing daily returns of the constituents and the symbols held, over the longest `correlation_days`."""
    if not specs:
        return None
    days = max(a.direct_index.correlation_days for a in settings.accounts if a.direct_index is not None)
    start = as_of - timedelta(days=days * 7 // 5 + 14)  # trading days to calendar days, with holidays
    closes = {s: prices.closes(s, start, as_of) for s in sorted(symbols(specs) | held)}
    return trailing_returns({s: c for s, c in closes.items() if c}, days)
