"""The read paths the reports use return what the full load returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from daemon import review, views
from daemon.cli.render import dumps, print_json_rows
from daemon.ledger import Account, AccountType, IdenticalGroups, LotMethod, Side, Trade, apply, replay
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
        # `tlh gains --format json` writes the same rows' text without making them: what print_json_rows
        # writes for them, byte for byte (the empty list of 1999 too).
        with reading(engine) as session:
            text = "".join(views.gains_json(taxable_sales(session.connection(), households, year, account)))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            print_json_rows(expected)
        assert text == printed.getvalue(), (year, account)
        assert json.loads(text) == json.loads(dumps(expected))


def test_saving_against_the_previous_state_rewrites_only_what_changed(engine: sa.Engine) -> None:
    trades = history(900)
    first = replay("h", trades[:801], ACCOUNTS, IDENTICAL)  # 3 trades a day: whole days
    with transaction(engine) as session:
        save_ledger(session, first)

    def stored(session: Session) -> dict[str, dict[str, int]]:  # a row's identity: rowid, or its serial id
        rowid = "rowid" if session.bind.dialect.name == "sqlite" else "ctid"
        return {name: {str(k): str(v) for k, v in session.execute(sa.text(
            f"SELECT {key}, {rowid if name != 'wash_matches' else 'id'} FROM {name} WHERE household_id = 'h'"))}
            for name, key in (("lots", "lot_id"), ("dispositions", "disposition_id"), ("wash_matches", "position"))}

    # New trades on the history (what an import of a later file does), then a change far back (a trade
    # gone: every later result may move), each saved against the state read back in the same transaction.
    later = apply(first, trades[801:], ACCOUNTS, IDENTICAL)
    redone = replay("h", trades[:100] + trades[101:], ACCOUNTS, IDENTICAL)
    for state in (later, redone):
        with transaction(engine) as session:
            before, ids = load_ledger(session, "h"), stored(session)
            save_ledger(session, state, previous=before)
        with transaction(engine) as session:
            assert load_ledger(session, "h") == state  # the same as a whole rewrite
            after = stored(session)
        same_lots = {lot.lot_id for lot in set(before.lots) & set(state.lots)}
        assert same_lots and all(after["lots"][i] == ids["lots"][i] for i in same_lots)  # not rewritten
        changed = {lot.lot_id for lot in state.lots} - same_lots
        assert changed and all(after["lots"].get(i) != ids["lots"].get(i) for i in changed)
        same_sales = {d.disposition_id for d in set(before.dispositions) & set(state.dispositions)}
        assert all(after["dispositions"][i] == ids["dispositions"][i] for i in same_sales)
        kept = next((i for i, (a, b) in enumerate(zip(before.matches, state.matches, strict=False)) if a != b),
                    min(len(before.matches), len(state.matches)))
        assert all(after["wash_matches"][str(i)] == ids["wash_matches"][str(i)] for i in range(kept))
    assert len(same_lots) < len(later.lots)  # the change far back did move results
