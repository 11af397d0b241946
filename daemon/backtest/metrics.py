"""Money-weighted return (XIRR), daily returns net of cash flows, tracking error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np

TRADING_DAYS = 252


def xirr(flows: Sequence[tuple[date, float]]) -> float | None:
    """The annual rate r with sum(cf / (1 + r) ** years) = 0 (investor's view: deposits negative, money
    received positive). None without a sign change."""
    flows = [(d, cf) for d, cf in flows if cf != 0]
    if not flows or min(cf for _, cf in flows) >= 0 or max(cf for _, cf in flows) <= 0:
        return None
    first = min(d for d, _ in flows)
    years = np.array([(d - first).days / 365.0 for d, _ in flows])
    amounts = np.array([cf for _, cf in flows])

    def npv(rate: float) -> float:
        return float(np.sum(amounts * np.exp(-years * math.log1p(rate))))

    lo, hi = -0.9999, 1.0
    while npv(hi) > 0 and hi < 1e6:
        hi *= 2
    f_lo, f_hi = npv(lo), npv(hi)
    if f_lo * f_hi > 0:
        return None
    for _ in range(200):
        mid = (lo + hi) / 2
        f_mid = npv(mid)
        if abs(f_mid) < 1e-9 or hi - lo < 1e-12:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def daily_returns(values: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """r[t] = (V[t] - F[t]) / V[t-1] - 1, flows counted at the end of their day; r[0] = 0."""
    out = np.zeros(len(values))
    if len(values) > 1:
        prev = values[:-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (values[1:] - flows[1:]) / prev - 1
        out[1:] = np.where(prev > 0, r, 0.0)
    return out


def tracking_error(a: np.ndarray, b: np.ndarray) -> float:
    """Annualized standard deviation of the difference of two daily return series."""
    if len(a) < 3:
        return 0.0
    return float(np.std(a - b, ddof=1) * math.sqrt(TRADING_DAYS))


def annualized(total_return: float, years: float) -> float:
    return (1 + total_return) ** (1 / years) - 1 if years > 0 and total_return > -1 else 0.0
