"""`tlh substitutes check`: how well the members of each asset class stand in for each other.

For every pair of members of an asset class, the Pearson correlation of their daily returns, over the days
on which both have a close (returns between consecutive common days). Flags:
- `low_correlation`: below `min_correlation` (default 0.95): a poor replacement, tracking error;
- `same_index`: the two are in one identical group (funds on the same index): buying one after selling the
  other at a loss is a wash sale, so they must not be alternates of each other;
- `no_data`: fewer than `min_days` common daily returns.
Correlations are statistics, not money: they are floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Any

from daemon.config.models import AssetClass
from daemon.ledger.types import IdenticalGroups

LOW_CORRELATION = "low_correlation"
SAME_INDEX = "same_index"
NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class PairCheck:
    asset_class: str
    first: str
    second: str
    correlation: float | None
    days: int  # daily returns compared
    flags: tuple[str, ...]
    detail: str

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {"asset_class": self.asset_class, "first": self.first, "second": self.second,
                "correlation": None if self.correlation is None else round(self.correlation, 6),
                "days": self.days, "flags": list(self.flags), "detail": self.detail}


def common_returns(a: Sequence[tuple[date, Decimal]], b: Sequence[tuple[date, Decimal]]
                   ) -> tuple[list[float], list[float]]:
    """Daily returns of both series between consecutive days on which both have a close."""
    right = {d: c for d, c in b}
    both = sorted((d, c, right[d]) for d, c in a if d in right)
    xs: list[float] = []
    ys: list[float] = []
    for (_, a0, b0), (_, a1, b1) in zip(both, both[1:], strict=False):
        if a0 > 0 and b0 > 0:
            xs.append(float(a1 / a0) - 1.0)
            ys.append(float(b1 / b0) - 1.0)
    return xs, ys


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def check_substitutes(closes: Mapping[str, Sequence[tuple[date, Decimal]]],
                      asset_classes: Sequence[AssetClass], identical: IdenticalGroups, *,
                      min_correlation: float = 0.95, min_days: int = 20) -> list[PairCheck]:
    """One check per pair of members of each asset class, in the classes' order."""
    out: list[PairCheck] = []
    for asset_class in asset_classes:
        for first, second in combinations(asset_class.members, 2):
            flags: list[str] = []
            notes: list[str] = []
            if first == second or identical.key(first) == identical.key(second):
                flags.append(SAME_INDEX)
                notes.append(f"{first} and {second} track the same index (identical group): selling one "
                             f"at a loss and buying the other is a wash sale")
            xs, ys = common_returns(closes.get(first, ()), closes.get(second, ()))
            r = correlation(xs, ys) if len(xs) >= min_days else None
            if r is None:
                flags.append(NO_DATA)
                notes.append(f"only {len(xs)} common daily returns (need {min_days})")
            elif r < min_correlation:
                flags.append(LOW_CORRELATION)
                notes.append(f"correlation {r:.4f} of daily returns is below {min_correlation}")
            else:
                notes.append(f"correlation {r:.4f} over {len(xs)} days")
            out.append(PairCheck(asset_class.name, first, second, r, len(xs), tuple(flags), "; ".join(notes)))
    return out
