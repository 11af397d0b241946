"""The read paths the reports use return what the full load returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from daemon import review, views
from daemon.ledger import Account, AccountType, IdenticalGroups, LotMethod, Side, Trade, replay
from daemon.ledger.types import ZERO
from daemon.store.db import reading, transaction
from daemon.store.ledger_repo import load_dispositions, load_ledger, save_ledger, taxable_sales

ACCOUNTS = {"t": Account("t", "h", AccountType.TAXABLE, LotMethod.FIFO),
            "ira": Account("ira", "h", AccountType.TRADITIONAL_IRA, LotMethod.HIFO)}
IDENTICAL = IdenticalGroups((frozenset({"VOO", "IVV"}),))


def history(n: int) -> list[Trade]:
    rng = random.Random(7)
    held: dict[tuple[str, str], Decimal] = {}
    trades = []
    for k in range(n):
        day = date(2020, 1, 2) + timedelta(days=k // 3)
        account = rng.choice(list(ACCOUNTS))
        symbol = rng.choice(["VOO", "IVV", "BND"])
        have = held.get((account, symbol), Decimal(0))
        sell = have > 0 and rng.random() < 0.4
        quantity = min(have, Decimal(rng.randint(1, 20))) if sell else Decimal(rng.randint(1, 20)) / 4
        held[(account, symbol)] = have - quantity if sell else have + quantity
        trades.append(Trade(f"x{k}", day, account, symbol, Side.SELL if sell else Side.BUY, quantity,
                            Decimal(rng.randint(8000, 12000)) / 100))
    return trades


def test_dispositions_alone_are_the_full_loads(engine: sa.Engine) -> None:
    state = replay("h", history(1500), ACCOUNTS, IDENTICAL)
    assert len(state.dispositions) > 100 and any(d.washed_quantity for d in state.dispositions)
    with transaction(engine) as session:
        save_ledger(session, state)
    with transaction(engine) as session:
        full = load_ledger(session, "h").dispositions
        alone = load_dispositions(session, "h")
        assert load_dispositions(session, "nobody") == ()
    # The dispositions of one sale share its seq; the database returns such ties in no particular order (on
    # PostgreSQL, load_ledger too), so compare as sets in seq order.
    def key(d):  # noqa: ANN001, ANN202
        return d.disposition_id

    assert sorted(alone, key=key) == sorted(full, key=key) == sorted(state.dispositions, key=key)
    assert [d.seq for d in alone] == sorted(d.seq for d in state.dispositions)


def test_streamed_gain_rows_are_the_reports_rows(engine: sa.Engine) -> None:
    # Two households (their sales interleave by date), partly washed sales (two rows each), IRA sales (not
    # reported), year and account filters: the streamed rows are the list the report built from the ledger.
    other = {k: Account(f"{k}2", "g", a.type, a.lot_method) for k, a in ACCOUNTS.items()}
    states = [replay("h", history(900), ACCOUNTS, IDENTICAL),
              replay("g", [replace(t, trade_id=f"g{t.trade_id}", account=f"{t.account}2")
                           for t in history(700)], {a.id: a for a in other.values()}, IDENTICAL)]
    # Partly washed sales: the ledger splits most of them in two dispositions; some stay whole.
    partly = tuple(replace(d, washed_quantity=(d.quantity / 3).quantize(Decimal("1e-9")))
                   if d.washed_quantity and i % 3 == 0 else d for i, d in enumerate(states[0].dispositions))
    states[0] = replace(states[0], dispositions=partly)
    assert sum(1 for d in partly if d.taxable and ZERO < d.washed_quantity < d.quantity) > 10
    with transaction(engine) as session:
        for state in states:
            save_ledger(session, state)
    households = sorted(s.household for s in states)
    by_household = sorted(states, key=lambda s: s.household)
    for year, account in [(None, None), (2020, None), (2020, "t"), (None, "t2"), (1999, None)]:
        expected = [views.gain_row(r) for r in review.gain_rows(by_household, year, account)]
        with reading(engine) as session:
            streamed = list(views.sale_gain_rows(taxable_sales(session.connection(), households, year, account)))
        assert streamed == expected, (year, account)
        assert year == 1999 or len(expected) > 10
