"""`tlh donate` and `tlh location` engine time as the number of open lots grows.

Times `daemon.engine.donation.rank` + `choose` (the lots to give for 10 % of the taxable value) and
`daemon.engine.location.holdings` + `hints` on a seeded household: two taxable accounts and two IRAs,
500 symbols (the shipped location table's classes cycle over them), lots bought over 5 years at random
prices around today's. Run: .venv/bin/python benchmarks/giving.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from daemon.config.loader import SHIPPED_LOCATION, load_location_table
from daemon.config.models import AssetClass, GivingConfig, TaxConfig
from daemon.engine.donation import choose, rank
from daemon.engine.location import ClassIndex, hints, holdings
from daemon.ledger.types import Account, AccountType, IdenticalGroups, Lot
from daemon.prices import Quote

AS_OF = date(2026, 11, 20)
ACCOUNTS = {
    "tax1": Account("tax1", "h", AccountType.TAXABLE), "tax2": Account("tax2", "h", AccountType.TAXABLE),
    "ira": Account("ira", "h", AccountType.TRADITIONAL_IRA), "roth": Account("roth", "h", AccountType.ROTH_IRA),
}


def household(n: int, seed: int) -> tuple[list[Lot], dict[str, Quote], tuple[AssetClass, ...]]:
    rng = random.Random(seed)
    symbols = [f"S{i:03d}" for i in range(500)]
    table = load_location_table(SHIPPED_LOCATION)
    classes = tuple(AssetClass(name=c.name, members=symbols[i::len(table)]) for i, c in enumerate(table))
    quotes = {s: Quote(AS_OF, Decimal(rng.randint(20, 500))) for s in symbols}
    lots = []
    names = list(ACCOUNTS)
    for i in range(n):
        symbol = rng.choice(symbols)
        price = quotes[symbol].close
        quantity = Decimal(rng.randint(1, 200))
        cost = (price * Decimal(rng.uniform(0.3, 1.4))).quantize(Decimal("0.01")) * quantity
        day = AS_OF - timedelta(days=rng.randint(1, 5 * 365))
        lots.append(Lot(f"l{i}", f"l{i}", None, rng.choice(names), symbol, quantity, cost, Decimal(0), day, day,
                        False, i, f"t{i}"))
    return lots, quotes, classes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    tax, giving = TaxConfig(), GivingConfig()
    table = load_location_table(SHIPPED_LOCATION)
    print(f"{'open lots':>10} {'donate s':>9} {'lots given':>10} {'location s':>10} {'hints':>6}")
    for n in (int(x) for x in args.sizes.split(",")):
        lots, quotes, classes = household(n, args.seed)
        start = time.perf_counter()
        ranking = rank(lots, ACCOUNTS, quotes, AS_OF, max_price_age_days=4)
        taxable = sum((q.close * lot.quantity for lot in lots if ACCOUNTS[lot.account].type.taxable
                       for q in (quotes[lot.symbol],)), Decimal(0))
        gift = choose("h", taxable / 10, ranking, AS_OF, tax, giving)
        donate = time.perf_counter() - start
        start = time.perf_counter()
        held, _ = holdings("h", lots, ACCOUNTS, quotes, ClassIndex(table, classes, IdenticalGroups()), AS_OF)
        report = hints(held, tax, accounts=ACCOUNTS)
        location = time.perf_counter() - start
        print(f"{n:>10,} {donate:>9.2f} {len(gift.lots):>10,} {location:>10.2f} {len(report.hints):>6}")


if __name__ == "__main__":
    main()
