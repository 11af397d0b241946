"""The real service cycle on the paper broker, every NYSE session of several years (issue 16).

The soak household of tests/soak (a book of ETFs, a 30-stock direct index, an IRA buying the ETF account's
stand-in every month) runs `tlh harvest --as-of DAY` in paper mode in this process, day after day, on the
shared price data, with a `tlh harvest` process killed at a fault point every `--crash-every` sessions (on
the next one that trades something; restarted the same day or the next). After every day the books are
checked (tests/soak/invariants.py); the per-year figures are printed, then every broken check. Exit status 1
when a check broke.

With --compare, each taxable account then runs alone, live and in the backtest (daemon/backtest), and the
days on which their harvests and swap backs differ are printed (tests/soak/compare.py).

Run:  .venv/bin/python benchmarks/paper_years.py [--start 2007-10-01] [--end 2010-12-31] [--crash-every 10]
                                                [--tracking-error 0.05] [--etf-lots specific] [--compare]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon import logs  # noqa: E402
from tests.soak import compare, household  # noqa: E402
from tests.soak.driver import Soak  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "prices"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2007, 10, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2010, 12, 31))
    parser.add_argument("--crash-every", type=int, default=10, help="0: never crash")
    parser.add_argument("--tracking-error", default="0.05", help="the direct index's tracking_error_budget")
    parser.add_argument("--etf-lots", default="specific", help="the ETF account's lot_method")
    parser.add_argument("--prices", type=Path, default=SHARED / "close.csv.gz")
    parser.add_argument("--compare", action="store_true",
                        help="also run each taxable account alone, live and in the backtest, and compare")
    args = parser.parse_args()
    logs.configure(level="error")  # the cycles' info and warning lines would bury the figures
    securities = args.prices.parent / "securities.csv"
    if not args.prices.exists() or not securities.exists():
        print(f"skipped: the shared price data is absent ({args.prices}, {securities})")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        config = household.write(Path(folder), args.prices, securities, tracking_error=args.tracking_error,
                                 etf_lots=args.etf_lots)
        soak = Soak.open(config)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            soak.run(args.start, args.end, crash_every=args.crash_every)
        finally:
            soak.close()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"paper soak {args.start}..{args.end}: {len(soak.days_run)} sessions, {len(soak.crashes)} crashes "
          f"({', '.join(sorted({f for _, f, _ in soak.crashes}))}); {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"+ {children.ru_utime + children.ru_stime:.1f} s CPU in the crashed tlh processes")
    print(f"{'year':>4} {'days':>5} {'harvests':>8} {'swap backs':>10} {'purchases':>9} "
          f"{'harvested losses':>16} {'self-made washes':>16} {'seconds':>8}")
    for year, y in sorted(soak.figures.items()):
        print(f"{year:>4} {y.days:>5} {y.pairs:>8} {y.swap_backs:>10} {y.purchases:>9} "
              f"{y.harvested_losses:>16,.2f} {y.washes_created:>16} {y.seconds:>8.1f}")
    broken = len(soak.problems)
    if soak.problems:
        print(f"\n{len(soak.problems)} broken checks:")
        for p in soak.problems[:50]:
            print(f"  {p}")
    else:
        print("every check held on every day")
    if args.compare:
        broken += live_vs_backtest(args, securities)
    return 1 if broken else 0


def live_vs_backtest(args: argparse.Namespace, securities: Path) -> int:
    """Each taxable account alone, live (no crashes) and in the backtest: the days their moves differ."""
    differing = 0
    for account in ("di", "etf"):
        with tempfile.TemporaryDirectory() as folder:
            soak = Soak.open(household.write(Path(folder), args.prices, securities,
                                             tracking_error=args.tracking_error, etf_lots=args.etf_lots,
                                             only=account))
            started = time.perf_counter()
            try:
                found = compare.compare(soak, args.prices, securities, args.start, args.end, account)
            finally:
                soak.close()
        kinds = [k for _, k, _, _ in found.live]
        print(f"\nlive vs backtest, {account} alone: {kinds.count('harvest')} harvests and "
              f"{kinds.count('swap_back')} swap backs live, {len(found.backtest)} moves in the backtest, "
              f"first difference {found.first_difference or 'none'} ({time.perf_counter() - started:.1f} s)")
        for line in found.differences()[:20]:
            print(f"  {line}")
        differing += found.first_difference is not None
    return differing


if __name__ == "__main__":
    sys.exit(main())
