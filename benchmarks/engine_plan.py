"""Benchmark: plan a book of 1,000,000 open lots (2,000 taxable accounts × 50 symbols × 10 lots, one
household each) and compare the time with merely loading those lots (building the `Lot` objects from raw
rows, as the store's loader does, and one `LedgerState` per household).

    .venv/bin/python benchmarks/engine_plan.py            # the full book
    .venv/bin/python benchmarks/engine_plan.py --quick    # 100 accounts (a smoke test)

Goal: plan < 2 × load, and < 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.config.models import AssetClass, HarvestConfig, TaxConfig  # noqa: E402
from daemon.engine import AccountInput, EngineInput, HarvestPlan, HouseholdInput, MarketData, plan  # noqa: E402
from daemon.ledger.types import Account, AccountType, IdenticalGroups, LedgerState, Lot, LotMethod  # noqa: E402
from daemon.prices import Quote  # noqa: E402

AS_OF = date(2026, 11, 20)
CLASSES = 10
MEMBERS = 5  # 10 asset classes × 5 members = 50 symbols
METHODS = [LotMethod.SPECIFIC, LotMethod.FIFO, LotMethod.HIFO, LotMethod.LIFO]

Row = tuple[str, str, str, str, str, date]  # lot id, account, symbol, quantity, cost, purchased


def universe() -> tuple[list[str], tuple[AssetClass, ...], IdenticalGroups]:
    classes = tuple(AssetClass(name=f"class{c}", members=[f"C{c}M{m}" for m in range(MEMBERS)])
                    for c in range(CLASSES))
    # The tertiary member of each class tracks the same index as a fund nobody holds.
    identical = IdenticalGroups(tuple(frozenset({f"C{c}M2", f"C{c}X"}) for c in range(CLASSES)))
    return [s for a in classes for s in a.members], classes, identical


def generate(accounts: int, lots_per_position: int, seed: int = 1) -> tuple[list[list[Row]], dict[str, Quote]]:
    """Raw lot rows per account (what a database would return) and today's quotes."""
    rng = random.Random(seed)
    symbols, _, _ = universe()
    closes = {s: Decimal(rng.randint(40, 400)) for s in symbols}
    quotes = {s: Quote(AS_OF, c, c - Decimal("0.01"), c + Decimal("0.01")) for s, c in closes.items()}
    books: list[list[Row]] = []
    for a in range(accounts):
        rows: list[Row] = []
        for s in symbols:
            close = closes[s]
            for k in range(lots_per_position):
                # Most lots are old; one position in ten has a purchase in the last 30 days.
                recent = k == lots_per_position - 1 and rng.random() < 0.1
                age = rng.randint(1, 30) if recent else rng.randint(31, 900)
                cost_per_share = close * Decimal(rng.randint(70, 125)) / 100
                quantity = rng.randint(1, 40)
                rows.append((f"a{a}-{s}-{k}", f"acct{a}", s, str(quantity), str(cost_per_share * quantity),
                             AS_OF - timedelta(days=age)))
        books.append(rows)
    return books, quotes


def load(books: list[list[Row]]) -> list[LedgerState]:
    """What loading the book costs: Lot objects (Decimals parsed) and a LedgerState per household."""
    zero = Decimal(0)
    states: list[LedgerState] = []
    for a, rows in enumerate(books):
        lots = tuple(Lot(lot_id=lot_id, purchase_id=lot_id, parent_id=None, account=account, symbol=symbol,
                         quantity=Decimal(quantity), cost=Decimal(cost), adjustment=zero, purchased=day,
                         acquired=day, absorbed=False, seq=seq, trade_id=lot_id)
                     for seq, (lot_id, account, symbol, quantity, cost, day) in enumerate(rows))
        states.append(LedgerState(household=f"hh{a}", through=AS_OF - timedelta(days=1), lots=lots,
                                  next_seq=len(lots)))
    return states


def engine_input(states: list[LedgerState], quotes: dict[str, Quote]) -> EngineInput:
    _, classes, identical = universe()
    households = tuple(
        HouseholdInput(state.household, (AccountInput(
            Account(f"acct{a}", state.household, AccountType.TAXABLE, METHODS[a % len(METHODS)]),
            Decimal(1000 * (a % 7))),), state)
        for a, state in enumerate(states))
    spy = [(AS_OF - timedelta(days=30 - i), Decimal(500) + (i % 3)) for i in range(31)]
    return EngineInput(run_id="bench", as_of=AS_OF, households=households,
                       market=MarketData(quotes, {"SPY": spy}),
                       harvest=HarvestConfig(max_pairs_per_run=10_000_000), tax=TaxConfig(),
                       identical=identical, asset_classes=classes)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 accounts instead of 2,000")
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--lots", type=int, default=10, help="lots per position")
    args = parser.parse_args(argv)
    accounts = args.accounts or (100 if args.quick else 2000)
    books, quotes = generate(accounts, args.lots)
    n_lots = sum(len(rows) for rows in books)

    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    states = load(books)
    load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0

    inp = engine_input(states, quotes)
    t0, c0 = time.perf_counter(), time.process_time()
    result: HarvestPlan = plan(inp)
    plan_s, plan_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    result.to_dict()
    dict_s = time.perf_counter() - t0

    reasons: dict[str, int] = {}
    for s in result.skipped:
        reasons[s.reason.value] = reasons.get(s.reason.value, 0) + 1
    print(f"book: {accounts:,} taxable accounts (one household each) × {CLASSES * MEMBERS} symbols × "
          f"{args.lots} lots = {n_lots:,} open lots")
    print(f"load (Lot objects + LedgerState per household): {load_s:7.2f} s wall {load_cpu:7.2f} s cpu")
    print(f"plan:                                           {plan_s:7.2f} s wall {plan_cpu:7.2f} s cpu   "
          f"({plan_s / load_s:.2f} × load wall, {plan_cpu / load_cpu:.2f} × load cpu)")
    print(f"plan.to_dict():                                 {dict_s:7.2f} s wall")
    print(f"pairs: {len(result.pairs):,}; skipped: {len(result.skipped):,} {reasons}; "
          f"restrictions: {len(result.restrictions):,}; alerts: {len(result.alerts):,}")
    goal = plan_s < 2 * load_s and plan_s < 10
    print(f"goal (plan < 2 × load and < 10 s): {'met' if goal else 'NOT met'}")
    return {"load": load_s, "plan": plan_s, "lots": n_lots, "pairs": len(result.pairs)}


if __name__ == "__main__":
    main()
