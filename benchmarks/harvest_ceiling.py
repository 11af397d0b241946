"""How much of what the price path offered the engine harvests: for each ten-year window of a book of ETFs,
the losses harvested by the backtest beside the losses the window's deposits could have given at most.

The ceiling: every deposit (the initial one and each monthly contribution, split by the target weights as
the backtest buys them, into the sleeve's first listed member) is worth, per share, its purchase price minus
the lowest close of that fund from then to the window's end. That is what harvesting every loss at once,
day after day, into a substitute that tracks the same prices would realize: each harvest resets the basis to
the day's close, so the losses add up to the fall from the purchase price to the low. Not a strict bound:
shares bought by rebalancing and with the tax saved, and the substitutes' own tracking differences, add
losses the ceiling does not count. What it shows: a harvester that finds more losses on these windows
cannot exist; the tax alpha is bounded by the path (a decline deep below the deposits' prices), not by the
thresholds.

Run:  .venv/bin/python benchmarks/harvest_ceiling.py [config/backtests/three_fund.toml] [--start 2007-01-01]
                                                    [--windows 10y] [--step 1y]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.backtest import load_history, load_portfolio  # noqa: E402
from daemon.backtest.allocate import Allocation  # noqa: E402
from daemon.backtest.data import History  # noqa: E402
from daemon.backtest.portfolio import Portfolio  # noqa: E402
from daemon.backtest.simulate import window  # noqa: E402
from daemon.backtest.windows import parse_span, run_windows  # noqa: E402
from daemon.cli.backtest_cmd import DEFAULT_PRICES  # noqa: E402

PORTFOLIO = ROOT / "config" / "backtests" / "three_fund.toml"


def ceiling(spec: Portfolio, history: History, start: date, end: date) -> dict[str, float]:
    """Per sleeve: the deposits' harvestable losses at most (see the module's docstring)."""
    t0, t1 = window(history, start, end)
    alloc = Allocation(history, spec.sleeves, spec.ordered_groups())
    out: dict[str, float] = {s.name: 0.0 for s in spec.sleeves}
    lows: dict[str, np.ndarray] = {}
    for t in range(t0, t1 + 1):
        if t == t0:
            amount = float(spec.initial_deposit)
        elif history.dates[t - 1].month != history.dates[t].month:
            amount = float(spec.monthly_contribution)
        else:
            continue
        for name, weight in alloc.weights(t).items():
            symbol = alloc.members(name, t)[0]
            c = history.col[symbol]
            low = lows.get(symbol)
            if low is None:  # the lowest close from each day to the window's end
                low = lows[symbol] = np.minimum.accumulate(history.close[t0:t1 + 1, c][::-1])[::-1]
            price = history.close[t, c]
            out[name] += amount * weight * max(0.0, 1.0 - float(low[t - t0]) / price)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("portfolio", nargs="?", type=Path, default=PORTFOLIO)
    parser.add_argument("--start", default="2007-01-01")
    parser.add_argument("--windows", default="10y")
    parser.add_argument("--step", default="1y")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES)
    args = parser.parse_args()
    if not args.prices.exists():
        print(f"skipped: no price data at {args.prices} (the shared data folder is absent)")
        return 0
    history = load_history(args.prices)
    spec = load_portfolio(args.portfolio)
    data = run_windows(spec, history, date.fromisoformat(args.start), None, parse_span(args.windows, "--windows"),
                       parse_span(args.step, "--step"), "daily")
    print(f"{spec.name}: harvested losses against the deposits' harvestable losses at most, per window")
    print(f"{'window':<25} {'harvested $':>12} {'ceiling $':>12} {'share':>6}  ceiling by sleeve $   tax alpha")
    shares = []
    for w in data["windows"]:
        by = ceiling(spec, history, date.fromisoformat(w["start"]), date.fromisoformat(w["end"]))
        top = sum(by.values())
        share = w["harvested_losses"] / top if top > 0 else float("nan")
        shares.append(share)
        sleeves = " / ".join(f"{v:,.0f}" for v in by.values())
        print(f"{w['start']} → {w['end']} {w['harvested_losses']:>12,.0f} {top:>12,.0f} {share:>6.0%}  "
              f"{sleeves:<20} {w['tax_alpha']['liquidated'] * 100:.2f} %")
    print(f"median share of the ceiling harvested: {float(np.median(shares)):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
