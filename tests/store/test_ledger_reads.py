"""The read paths the reports use return what the full load returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from daemon.ledger import Account, AccountType, IdenticalGroups, LotMethod, Side, Trade, replay
from daemon.store.db import transaction
from daemon.store.ledger_repo import load_dispositions, load_ledger, save_ledger

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
