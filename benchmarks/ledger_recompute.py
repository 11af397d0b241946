"""How long `daemon.ledger.replay` (a full recomputation) takes as a household's history grows.

A seeded random household: 4 accounts (3 taxable with FIFO, HIFO and LIFO relief, 1 traditional IRA), 500
symbols (the first 100 in 50 identical pairs), N trades over 25 years. Buys, sells (about 40%, never more
than the account holds) and dividend reinvestments (fractional shares); prices follow a random walk, so
about half the sales are losses and purchases inside the 61-day window wash some of them, IRA purchases
permanently. Symbols are picked with a Zipf-like popularity, as real portfolios concentrate.

Printed per size: wall and CPU seconds of the best replay; at 10,000 trades, the ratio to the pure-Python peer
tracker of issue 14 (11 s for 10,000 trades in 50 symbols; goal: the ledger core alone >= 100x it). The issue's
figures are for 50 symbols: `--symbols 50` narrows the universe to the first 50 (25 identical pairs), as
benchmarks/import_gains.py does.

Run:  .venv/bin/python benchmarks/ledger_recompute.py [--max N] [--symbols 50] [--seed S] [--years Y] [--repeat R]
      [--profile]
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import io
import math
import pstats
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.ledger import (  # noqa: E402
    Account,
    AccountType,
    IdenticalGroups,
    LedgerState,
    LotMethod,
    Side,
    Trade,
    replay,
)

SIZES = (10_000, 20_000, 50_000, 100_000)
PEER_SECONDS_10K = 11.0  # issue 14: a pure-Python peer tracker, 10,000 trades in 50 symbols
PEER_GOAL = 100  # the ledger core alone at least this many times faster
HOUSEHOLD = "bench"
ACCOUNTS = {
    "t-fifo": Account("t-fifo", HOUSEHOLD, AccountType.TAXABLE, LotMethod.FIFO),
    "t-hifo": Account("t-hifo", HOUSEHOLD, AccountType.TAXABLE, LotMethod.HIFO),
    "t-lifo": Account("t-lifo", HOUSEHOLD, AccountType.TAXABLE, LotMethod.LIFO),
    "ira": Account("ira", HOUSEHOLD, AccountType.TRADITIONAL_IRA, LotMethod.FIFO),
}
ACCOUNT_WEIGHTS = (0.30, 0.25, 0.25, 0.20)
N_SYMBOLS = 500
N_PAIRS = 50  # S000/S001, S002/S003, ... are substantially identical
SYMBOLS = [f"S{i:03d}" for i in range(N_SYMBOLS)]
IDENTICAL = IdenticalGroups(tuple(frozenset({SYMBOLS[2 * i], SYMBOLS[2 * i + 1]}) for i in range(N_PAIRS)))
SELL_SHARE, REINVEST_SHARE = 0.40, 0.06
DAILY_DRIFT, DAILY_VOL = 0.07 / 252, 0.20 / math.sqrt(252)
Q4 = Decimal("0.0001")


def business_days(start: date, years: int) -> list[date]:
    end = start.replace(year=start.year + years)
    days, day = [], start
    while day < end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


class Prices:
    """A lazy geometric random walk per symbol, advanced only when the symbol trades."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.last: dict[str, tuple[int, float]] = {s: (0, rng.uniform(20, 400)) for s in SYMBOLS}

    def on(self, symbol: str, day_index: int) -> Decimal:
        then, price = self.last[symbol]
        if day_index > then:
            steps = day_index - then
            price *= math.exp(self.rng.gauss(DAILY_DRIFT * steps, DAILY_VOL * math.sqrt(steps)))
            price = min(max(price, 1.0), 5_000.0)
            self.last[symbol] = (day_index, price)
        return Decimal(f"{price:.2f}")


def generate(n: int, seed: int, years: int) -> list[Trade]:
    rng = random.Random(seed)
    days = business_days(date(2000, 1, 3), years)
    day_of_trade = sorted(rng.randrange(len(days)) for _ in range(n))
    cum_popularity = list(accumulate(1 / (rank + 1) ** 0.9 for rank in range(N_SYMBOLS)))
    popular = SYMBOLS[:]
    rng.shuffle(popular)  # popularity independent of the identical pairs
    prices = Prices(rng)
    held: dict[str, dict[str, Decimal]] = {a: {} for a in ACCOUNTS}
    names = list(ACCOUNTS)
    trades: list[Trade] = []
    for k, day_index in enumerate(day_of_trade):
        account = rng.choices(names, ACCOUNT_WEIGHTS)[0]
        holdings = held[account]
        roll = rng.random() if holdings else 1.0
        if roll < SELL_SHARE:
            symbol = rng.choice(list(holdings))
            have = holdings[symbol]
            if rng.random() < 0.35:
                quantity = have
            else:
                quantity = max((have * Decimal(rng.uniform(0.1, 0.9))).quantize(Q4, ROUND_DOWN), Q4)
                quantity = min(quantity, have)
            side = Side.SELL
            if quantity == have:
                del holdings[symbol]
            else:
                holdings[symbol] = have - quantity
        elif roll < SELL_SHARE + REINVEST_SHARE:
            symbol = rng.choice(list(holdings))
            quantity = Decimal(rng.uniform(0.01, 3)).quantize(Q4) or Q4
            side = Side.REINVEST
            holdings[symbol] += quantity
        else:
            symbol = popular[bisect.bisect_left(cum_popularity, rng.random() * cum_popularity[-1])]
            if rng.random() < 0.7:
                quantity = Decimal(rng.randint(1, 200))
            else:
                quantity = Decimal(rng.uniform(0.5, 50)).quantize(Q4)
            side = Side.BUY
            holdings[symbol] = holdings.get(symbol, Decimal(0)) + quantity
        price = prices.on(symbol, day_index)
        fees = Decimal(rng.randint(1, 500)) / 100 if rng.random() < 0.1 else Decimal(0)
        trades.append(Trade(trade_id=f"t{k:07d}", date=days[day_index], account=account, symbol=symbol,
                            side=side, quantity=quantity, price=price, fees=fees))
    return trades


@dataclass
class Run:
    trades: int
    seconds: float
    cpu: float
    state: LedgerState

    @property
    def losses(self) -> int:
        return sum(1 for d in self.state.dispositions if d.taxable and d.loss > 0)

    @property
    def washed(self) -> int:
        return sum(1 for d in self.state.dispositions if d.washed_quantity > 0)


def time_replay(trades: list[Trade], profile: bool = False) -> tuple[float, float, LedgerState, str]:
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    state = replay(HOUSEHOLD, trades, ACCOUNTS, IDENTICAL)
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    report = ""
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(20)
        report = out.getvalue()
    return seconds, cpu, state, report


def main(argv: list[str] | None = None) -> int:
    global SYMBOLS, N_SYMBOLS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=SIZES[-1], help="largest N (default 100000)")
    parser.add_argument("--symbols", type=int, default=N_SYMBOLS, help="the first N symbols only (default 500)")
    parser.add_argument("--seed", type=int, default=20240315)
    parser.add_argument("--years", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3, help="time each size this many times, keep the best")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest run")
    args = parser.parse_args(argv)
    sizes = [n for n in SIZES if n <= args.max] or [args.max]
    if args.max not in sizes and args.max > sizes[-1]:
        sizes.append(args.max)

    SYMBOLS, N_SYMBOLS = SYMBOLS[:args.symbols], min(args.symbols, N_SYMBOLS)
    pairs = sum(1 for group in IDENTICAL.groups if group <= set(SYMBOLS))
    print(f"household: {len(ACCOUNTS)} accounts (fifo/hifo/lifo taxable + traditional IRA), {N_SYMBOLS} "
          f"symbols ({pairs} identical pairs), {args.years} years, seed {args.seed}; "
          f"best of {max(args.repeat, 1)} replays per size")
    header = (f"{'trades':>9} {'seconds':>9} {'cpu s':>7} {'trades/s':>10} {'wash matches':>13} "
              f"{'washed sales':>13} {'loss sales':>11} {'open lots':>10} {'lots':>8}")
    print(header)
    print("-" * len(header))
    runs: list[Run] = []
    report = ""
    for n in sizes:
        trades = generate(n, args.seed, args.years)
        seconds, cpu, state, _ = min((time_replay(trades) for _ in range(max(args.repeat, 1))),
                                     key=lambda r: r[1])
        if args.profile and n == sizes[-1]:
            report = time_replay(trades, profile=True)[3]
        run = Run(n, seconds, cpu, state)
        runs.append(run)
        print(f"{n:>9,} {seconds:>9.2f} {cpu:>7.2f} {n / cpu:>10,.0f} {len(state.matches):>13,} "
              f"{run.washed:>13,} {run.losses:>11,} {len(state.open_lots):>10,} {len(state.lots):>8,}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (trades, states and all): {peak:,.0f} MB")
    for run in runs:
        if run.trades == 10_000:
            times = PEER_SECONDS_10K / run.cpu
            note = "" if N_SYMBOLS == 50 else f" (the peer's figure is for 50 symbols; these are {N_SYMBOLS})"
            print(f"10,000 trades: {run.cpu:.3f} s CPU = {times:,.0f}x the pure-Python peer tracker's "
                  f"{PEER_SECONDS_10K:g} s{note}; goal >= {PEER_GOAL}x: {'met' if times >= PEER_GOAL else 'NOT met'}")
    if len(runs) >= 2:
        first, last = runs[0], runs[-1]
        ratio = last.trades / first.trades
        exponent = math.log(last.cpu / first.cpu) / math.log(ratio)
        nlogn = math.log(ratio * math.log(last.trades) / math.log(first.trades)) / math.log(ratio)
        print(f"\ngrowth exponent log(t{last.trades:,}/t{first.trades:,}) / log({ratio:g}) = {exponent:.2f}"
              f"  (linear 1.00, n log n {nlogn:.2f})")
        # In few symbols the work per trade grows with the history (more sales wash, lots split into more
        # pieces): the exponent against the records the fold makes is the one that shows the algorithm.
        made = [len(r.state.lots) + len(r.state.dispositions) + len(r.state.matches) for r in (first, last)]
        by_records = math.log(last.cpu / first.cpu) / math.log(made[1] / made[0])
        print(f"growth exponent against the records made (lots + sales + wash matches, {made[0]:,} -> "
              f"{made[1]:,}) = {by_records:.2f}")
        slow = min(exponent, by_records) > 1.3 or (last.trades >= 100_000 and last.cpu > 60)
        print("verdict: " + ("TOO SLOW: profile with --profile" if slow else "OK (scales like n log n or better)"))
    if report:
        print("\ncProfile of the largest run:\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
