"""`tlh substitutes check`: correlations of daily returns and same-index alternates."""

from __future__ import annotations

import csv
import gzip
import math
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.config.models import AssetClass
from daemon.engine import check_substitutes
from daemon.engine.substitutes import LOW_CORRELATION, NO_DATA, SAME_INDEX, common_returns, correlation
from daemon.ledger import IdenticalGroups

START = date(2024, 1, 1)
PRICES_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices" / "close.csv.gz"


def series(returns: list[float], start: int = 0) -> list[tuple[date, Decimal]]:
    price = 100.0
    out = []
    for i, r in enumerate(returns):
        price *= 1 + r
        out.append((START + timedelta(days=start + i), Decimal(str(round(price, 6)))))
    return out


def test_pearson_correlation_of_daily_returns() -> None:
    assert correlation([0.01, -0.02, 0.03], [0.02, -0.04, 0.06]) == pytest.approx(1.0)
    assert correlation([0.01, -0.02, 0.03], [-0.01, 0.02, -0.03]) == pytest.approx(-1.0)
    assert correlation([0.01, 0.01], [0.02, -0.01]) is None  # no variance
    xs, ys = common_returns([(START, Decimal(100)), (START + timedelta(1), Decimal(110)),
                             (START + timedelta(2), Decimal(121))],
                            [(START, Decimal(10)), (START + timedelta(2), Decimal(12))])
    assert xs == pytest.approx([0.21]) and ys == pytest.approx([0.2])  # only common days count


def test_pairs_are_flagged_below_the_threshold_and_on_the_same_index() -> None:
    rng = random.Random(7)
    market = [rng.gauss(0, 0.01) for _ in range(250)]
    close = [m + rng.gauss(0, 0.001) for m in market]
    other = [rng.gauss(0, 0.01) for _ in range(250)]
    closes = {"AAA": series(market), "BBB": series(close), "CCC": series(other), "VOO": series(market),
              "IVV": series(close), "NEW": series(other[:5])}
    classes = [AssetClass(name="one", members=["AAA", "BBB", "CCC"]),
               AssetClass(name="sp", members=["VOO", "IVV", "NEW"])]
    checks = {(c.first, c.second): c for c in
              check_substitutes(closes, classes, IdenticalGroups((frozenset({"VOO", "IVV"}),)))}
    assert len(checks) == 6
    good = checks[("AAA", "BBB")]
    assert not good.flagged and good.correlation is not None and good.correlation > 0.99 and good.days == 249
    assert checks[("AAA", "CCC")].flags == (LOW_CORRELATION,)
    assert checks[("VOO", "IVV")].flags == (SAME_INDEX,) and "same index" in checks[("VOO", "IVV")].detail
    assert checks[("VOO", "NEW")].flags == (NO_DATA,) and checks[("VOO", "NEW")].correlation is None
    assert checks[("AAA", "CCC")].to_dict()["flags"] == ["low_correlation"]
    assert math.isfinite(checks[("AAA", "CCC")].to_dict()["correlation"])


def _read_columns(path: Path, symbols: list[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
    """Just the columns we need from the wide price file (parsing all 538 columns is slow)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = {s: header.index(s) for s in symbols}
        out: dict[str, list[tuple[date, Decimal]]] = {s: [] for s in symbols}
        for row in reader:
            day = date.fromisoformat(row[0])
            if start <= day <= end:
                for s, i in cols.items():
                    if row[i]:
                        out[s].append((day, Decimal(row[i])))
    return out


@pytest.mark.skipif(not PRICES_CSV.exists(), reason=f"no price history at {PRICES_CSV}")
def test_the_shipped_total_market_alternates_track_each_other() -> None:
    members = ["VTI", "ITOT", "SCHB", "IWV"]
    closes = _read_columns(PRICES_CSV, members, date(2023, 1, 1), date(2025, 12, 31))
    checks = check_substitutes(closes, [AssetClass(name="us_total_market", members=members)], IdenticalGroups())
    assert len(checks) == 6
    assert all(c.correlation is not None and c.correlation > 0.95 and not c.flagged for c in checks)
