"""Trailing daily returns of an index's stocks and what the direct index reads from them: which peers move
most like a stock (its replacements, best first) and the ex-ante tracking error of a set of active weights.
Pure numpy over plain values; numpy is imported where used, so the CLI starts without it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from daemon.engine.types import TrailingReturns

DAYS_PER_YEAR = 252


def correlation_order(symbol: str, peers: Sequence[str], returns: TrailingReturns | None) -> list[str]:
    """`peers` by the correlation of their trailing daily returns with `symbol`'s, highest first (a peer
    without returns last, in the given order)."""
    if returns is None or symbol not in returns.column or returns.days < 2:
        return list(peers)
    import numpy as np

    z = returns.z
    cols = [returns.column.get(p, -1) for p in peers]
    known = np.array([c >= 0 for c in cols], dtype=bool)
    r = np.full(len(peers), -2.0)
    if known.any():
        idx = np.array([c for c in cols if c >= 0], dtype=int)
        r[known] = z[:, idx].T @ z[:, returns.column[symbol]] / returns.days
    order = np.argsort(-r, kind="stable")
    return [peers[k] for k in order]


def tracking_error(weights: dict[str, float], returns: TrailingReturns | None) -> float | None:
    """Annualized ex-ante tracking error of active weights (held share minus target, per symbol)."""
    if returns is None or returns.days < 20:
        return None
    import numpy as np

    d = np.zeros(len(returns.symbols))
    for s, w in weights.items():
        c = returns.column.get(s)
        if c is not None:
            d[c] = w
    active = returns.matrix @ d
    return float(active.std()) * math.sqrt(DAYS_PER_YEAR)


def trailing_returns(closes: dict[str, Sequence[tuple[date, Decimal]]], days: int) -> TrailingReturns:
    """Daily returns over the last `days` trading days of the given closes (a day is a trading day when
    any symbol has a close on it); a symbol's close carries over a day it lacks; 0 before it lists."""
    import numpy as np

    calendar = sorted({d for series in closes.values() for d, _ in series})[-(days + 1):]
    row = {d: i for i, d in enumerate(calendar)}
    symbols = sorted(closes)
    m = np.full((len(calendar), len(symbols)), np.nan)
    for j, s in enumerate(symbols):
        for d, c in closes[s]:
            i = row.get(d)
            if i is not None and c > 0:
                m[i, j] = float(c)
    for i in range(1, len(calendar)):  # carry forward
        gap = np.isnan(m[i])
        m[i, gap] = m[i - 1, gap]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = m[1:] / m[:-1] - 1 if len(calendar) > 1 else np.zeros((0, len(symbols)))
    return TrailingReturns(symbols, np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0))
