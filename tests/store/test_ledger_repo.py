"""Saving and loading the ledger's state, importing trades, syncing accounts: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from daemon.config.models import Settings
from daemon.ledger.types import (
    Account,
    AccountType,
    Disposition,
    LedgerState,
    Lot,
    LotMethod,
    Side,
    Trade,
    WashMatch,
)
from daemon.store.db import session_factory, transaction
from daemon.store.ledger_repo import (
    add_trades,
    load_accounts,
    load_ledger,
    load_trades,
    save_ledger,
    sync_accounts,
)
from daemon.store.models import AccountRow, LotRow, TradeRow

SETTINGS = Settings.model_validate(
    {
        "accounts": [
            {"id": "joint-taxable", "household": "smith", "type": "taxable", "broker": "alpaca"},
            {"id": "ira", "household": "smith", "type": "traditional_ira", "lot_method": "hifo"},
            {
                "id": "solo",
                "household": "jones",
                "broker": "ibkr",
                "broker_account": "U1234567",
                "basis_reported": False,
            },
        ]
    }
)


def _state(household: str = "smith") -> LedgerState:
    parent = Lot(
        lot_id="T1",
        purchase_id="T1",
        parent_id=None,
        account="joint-taxable",
        symbol="VTI",
        quantity=Decimal(0),
        cost=Decimal(0),
        adjustment=Decimal(0),
        purchased=date(2026, 1, 5),
        acquired=date(2026, 1, 5),
        absorbed=False,
        seq=0,
        trade_id="T1",
    )
    washed = Lot(
        lot_id="T1.1",
        purchase_id="T1",
        parent_id="T1",
        account="joint-taxable",
        symbol="VTI",
        quantity=Decimal("0.123456789"),
        cost=Decimal("1234.5678901234"),
        adjustment=Decimal("17.000000000001"),
        purchased=date(2026, 1, 5),
        acquired=date(2025, 12, 1),
        absorbed=True,
        seq=3,
        trade_id="T1",
    )
    rest = Lot(
        lot_id="T1.2",
        purchase_id="T1",
        parent_id="T1",
        account="joint-taxable",
        symbol="VTI",
        quantity=Decimal("9.876543211"),
        cost=Decimal("98765.432109876543"),
        adjustment=Decimal(0),
        purchased=date(2026, 1, 5),
        acquired=date(2026, 1, 5),
        absorbed=False,
        seq=4,
        trade_id="T1",
    )
    reinvested = Lot(
        lot_id="T9",
        purchase_id="T9",
        parent_id=None,
        account="ira",
        symbol="VXUS",
        quantity=Decimal("0.000000001"),
        cost=Decimal("0.000000000061"),
        adjustment=Decimal(0),
        purchased=date(2026, 3, 31),
        acquired=date(2026, 3, 31),
        absorbed=False,
        seq=2,
        trade_id="T9",
        reinvested=True,
    )
    sale = Disposition(
        disposition_id="T5:T0",
        trade_id="T5",
        account="joint-taxable",
        symbol="VTI",
        lot_id="T0",
        purchase_id="T0",
        quantity=Decimal("10"),
        proceeds=Decimal("2000.000000000001"),
        cost_basis=Decimal("2500.123456789012"),
        acquired=date(2025, 12, 1),
        purchased=date(2025, 12, 1),
        sold=date(2026, 1, 10),
        taxable=True,
        seq=1,
        washed_quantity=Decimal("0.123456789"),
        adjustment=Decimal("17.000000000001"),
        permanent=Decimal("0"),
    )
    plain = Disposition(
        disposition_id="T7:T1.2",
        trade_id="T7",
        account="joint-taxable",
        symbol="VTI",
        lot_id="T1.2",
        purchase_id="T1",
        quantity=Decimal("1"),
        proceeds=Decimal("300"),
        cost_basis=Decimal("250.5"),
        acquired=date(2026, 1, 5),
        purchased=date(2026, 1, 5),
        sold=date(2027, 2, 1),
        taxable=True,
        seq=5,
    )
    matches = (
        WashMatch(
            disposition_id="T5:T0",
            lot_id="T1.1",
            account="joint-taxable",
            symbol="VTI",
            quantity=Decimal("0.123456789"),
            disallowed=Decimal("17.000000000001"),
            permanent=False,
            replacement_date=date(2026, 1, 5),
        ),
        WashMatch(
            disposition_id="T5:T0",
            lot_id="T9",
            account="ira",
            symbol="VXUS",
            quantity=Decimal("0.000000001"),
            disallowed=Decimal("0.000000000138"),
            permanent=True,
            replacement_date=date(2026, 1, 6),
        ),
    )
    return LedgerState(
        household=household,
        through=date(2027, 2, 1),
        lots=(parent, reinvested, washed, rest),
        dispositions=(sale, plain),
        matches=matches,
        next_seq=6,
    )


def test_ledger_round_trip(engine: sa.Engine) -> None:
    state = _state()
    with transaction(engine) as session:
        save_ledger(session, state)
    with transaction(engine) as session:
        loaded = load_ledger(session, "smith")
    assert loaded == state
    assert [lot.lot_id for lot in loaded.lots] == ["T1", "T9", "T1.1", "T1.2"]  # by seq


def test_save_replaces_only_that_household(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        save_ledger(session, _state("smith"))
        save_ledger(session, _state("jones"))
    smaller = LedgerState(household="smith", through=date(2027, 3, 1), lots=_state().lots[:1], next_seq=1)
    with transaction(engine) as session:
        save_ledger(session, smaller)
    with transaction(engine) as session:
        assert load_ledger(session, "smith") == smaller
        assert load_ledger(session, "jones") == _state("jones")


def test_unknown_household_loads_empty(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        assert load_ledger(session, "nobody") == LedgerState(household="nobody")


def test_large_ledger_round_trip(engine: sa.Engine) -> None:
    lots = tuple(
        Lot(
            lot_id=f"L{i}",
            purchase_id=f"L{i}",
            parent_id=None,
            account="joint-taxable",
            symbol=f"S{i % 50}",
            quantity=Decimal(i) / 1000,
            cost=Decimal(i) * Decimal("1.000000000001"),
            adjustment=Decimal(0),
            purchased=date(2026, 1, 1),
            acquired=date(2026, 1, 1),
            absorbed=False,
            seq=i,
            trade_id=f"L{i}",
        )
        for i in range(12_000)  # more than one insert chunk
    )
    state = LedgerState(household="smith", lots=lots, next_seq=len(lots))
    with transaction(engine) as session:
        save_ledger(session, state)
    with transaction(engine) as session:
        assert load_ledger(session, "smith") == state


def _trade(trade_id: str, day: date, side: Side = Side.BUY, account: str = "joint-taxable") -> Trade:
    return Trade(
        trade_id=trade_id,
        date=day,
        account=account,
        symbol="VTI",
        side=side,
        quantity=Decimal("1.5"),
        price=Decimal("250.123456789012"),
        fees=Decimal("0.01"),
        lot_id="L1" if side is Side.SELL else None,
    )


def test_add_trades_is_idempotent_and_ordered(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        sync_accounts(session, SETTINGS)
    first = [
        (_trade("csv-3", date(2026, 1, 6)), "csv", "row-3"),
        (_trade("csv-1", date(2026, 1, 5)), "csv", "row-1"),
        (_trade("csv-2", date(2026, 1, 5), Side.SELL), "csv", "row-2"),
        (_trade("csv-2", date(2026, 1, 5), Side.SELL), "csv", "row-2"),  # the same row twice in one file
    ]
    with transaction(engine) as session:
        added = add_trades(session, "smith", first)
    assert [t.trade_id for t in added] == ["csv-3", "csv-1", "csv-2"]

    again = [*first, (_trade("alp-1", date(2026, 1, 5), Side.REINVEST), "alpaca", "row-1")]
    with transaction(engine) as session:
        added = add_trades(session, "smith", again)
    assert [t.trade_id for t in added] == ["alp-1"]  # same external id, other source: a new trade

    with transaction(engine) as session:
        assert add_trades(session, "smith", first) == []
        trades = load_trades(session, "smith")
        seqs = dict(session.execute(sa.select(TradeRow.trade_id, TradeRow.seq)).all())
        stamp = session.scalar(sa.select(TradeRow.imported_at).limit(1))
    # Trade date first, then import order.
    assert [t.trade_id for t in trades] == ["csv-1", "csv-2", "alp-1", "csv-3"]
    assert trades[1] == _trade("csv-2", date(2026, 1, 5), Side.SELL)
    assert trades[2].side is Side.REINVEST
    assert seqs == {"csv-3": 1, "csv-1": 2, "csv-2": 3, "alp-1": 4}
    assert stamp is not None and stamp.tzinfo is UTC


def test_failed_transaction_leaves_database_unchanged(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        sync_accounts(session, SETTINGS)
        save_ledger(session, _state())
        add_trades(session, "smith", [(_trade("t1", date(2026, 1, 5)), "csv", "1")])

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction(engine) as session:
        save_ledger(session, LedgerState(household="smith", next_seq=99))
        add_trades(session, "smith", [(_trade("t2", date(2026, 1, 6)), "csv", "2")])
        session.execute(sa.delete(AccountRow).where(AccountRow.id == "solo"))
        session.flush()
        raise Boom

    with transaction(engine) as session:
        assert load_ledger(session, "smith") == _state()
        assert [t.trade_id for t in load_trades(session, "smith")] == ["t1"]
        assert session.get(AccountRow, "solo") is not None


def test_integrity_error_rolls_back_whole_transaction(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        sync_accounts(session, SETTINGS)
    with pytest.raises(sa.exc.IntegrityError), transaction(engine) as session:
        save_ledger(session, _state())
        # An account the configuration does not know: the foreign key refuses it, on SQLite too.
        add_trades(session, "smith", [(_trade("t1", date(2026, 1, 5), account="nowhere"), "csv", "1")])
    with transaction(engine) as session:
        assert load_ledger(session, "smith") == LedgerState(household="smith")
        assert session.scalar(sa.select(sa.func.count()).select_from(LotRow)) == 0


def test_sync_accounts_upserts(engine: sa.Engine) -> None:
    with transaction(engine) as session:
        sync_accounts(session, SETTINGS)
        session.get_one(AccountRow, "ira").in_sync = False
    changed = Settings.model_validate(
        {
            "accounts": [
                {"id": "joint-taxable", "household": "smith", "type": "taxable", "lot_method": "lifo"},
                {"id": "ira", "household": "smith", "type": "traditional_ira", "lot_method": "hifo"},
                {"id": "kid", "household": "jones", "type": "roth_ira"},
            ]
        }
    )
    with transaction(engine) as session:
        sync_accounts(session, changed)
    Session = session_factory(engine)
    with Session() as session:
        assert load_accounts(session, "smith") == [
            Account("ira", "smith", AccountType.TRADITIONAL_IRA, LotMethod.HIFO),
            Account("joint-taxable", "smith", AccountType.TAXABLE, LotMethod.LIFO),
        ]
        # Dropped from the configuration but kept (its trades may reference it).
        assert [a.id for a in load_accounts(session, "jones")] == ["kid", "solo"]
        solo = session.get_one(AccountRow, "solo")
        assert (solo.broker, solo.broker_account, solo.basis_reported) == ("ibkr", "U1234567", False)
        ira = session.get_one(AccountRow, "ira")
        assert ira.in_sync is False  # reconciliation state survives a config sync
        assert session.get_one(AccountRow, "joint-taxable").broker == "paper"
