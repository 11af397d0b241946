"""DecimalType and UTCDateTime keep values exact on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from daemon.store.db import transaction
from daemon.store.models import HarvestRun, Lease, OrderIntent
from daemon.store.types import DecimalType, UTCDateTime

VALUES = [
    Decimal("0.1") + Decimal("0.2"),
    Decimal("0.3"),
    Decimal("0.123456789"),
    Decimal("1234.5678901234"),
    Decimal("0.000000000001"),
    Decimal("-0.000000000001"),
    Decimal("99999999999999.999999999999"),
    Decimal("-12345678901234567890.123456789012"),
    Decimal("100"),
    Decimal("1E+3"),
    Decimal("0"),
    Decimal("-0"),
    Decimal("2.500000000000"),
    7,
]

# A scratch table on its own MetaData: the schema proper is made by migrations only.
scratch = sa.MetaData()
numbers = sa.Table(
    "scratch_numbers",
    scratch,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", DecimalType()),
    sa.Column("at", UTCDateTime()),
)


@pytest.fixture
def scratch_engine(engine: sa.Engine) -> sa.Engine:
    scratch.create_all(engine)
    return engine


def test_decimals_round_trip_exactly(scratch_engine: sa.Engine) -> None:
    with scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), [{"id": i, "value": v} for i, v in enumerate(VALUES)])
    with scratch_engine.connect() as connection:
        loaded = dict(connection.execute(sa.select(numbers.c.id, numbers.c.value)).all())
    for i, value in enumerate(VALUES):
        assert isinstance(loaded[i], Decimal)
        assert loaded[i] == value, (value, loaded[i])
    # Canonical form: the same digits come back whichever database stored them.
    assert str(loaded[VALUES.index(Decimal("2.500000000000"))]) == "2.5"
    assert str(loaded[VALUES.index(Decimal("1E+3"))]) == "1000"
    assert loaded[0] == Decimal("0.3")


def test_sum_of_stored_decimals_is_exact(scratch_engine: sa.Engine) -> None:
    parts = [Decimal("0.1")] * 10 + [Decimal("0.000000000001")] * 3
    with scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), [{"id": i, "value": v} for i, v in enumerate(parts)])
    with scratch_engine.connect() as connection:
        total = sum(connection.execute(sa.select(numbers.c.value)).scalars())
    assert total == Decimal("1.000000000003")


@pytest.mark.parametrize(
    "bad",
    [Decimal("0.0000000000001"), Decimal("1e26"), Decimal("NaN"), Decimal("Infinity")],
)
def test_unrepresentable_decimals_are_refused(scratch_engine: sa.Engine, bad: Decimal) -> None:
    # PostgreSQL would round silently and SQLite would not: refusing keeps both identical and exact.
    with pytest.raises(sa.exc.StatementError), scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), {"id": 1, "value": bad})


def test_floats_are_refused(scratch_engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError), scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), {"id": 1, "value": 0.1})


def test_aware_datetimes_come_back_aware_utc(scratch_engine: sa.Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    stamps = [
        datetime(2026, 11, 20, 15, 45, 12, 123456, tzinfo=eastern),
        datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=9, minutes=30))),
    ]
    with scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), [{"id": i, "at": s} for i, s in enumerate(stamps)])
    with scratch_engine.connect() as connection:
        loaded = dict(connection.execute(sa.select(numbers.c.id, numbers.c.at)).all())
    for i, stamp in enumerate(stamps):
        assert loaded[i] == stamp
        assert loaded[i].utcoffset() == timedelta(0)
        assert loaded[i].tzinfo is UTC


def test_naive_datetimes_are_refused(scratch_engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.StatementError), scratch_engine.begin() as connection:
        connection.execute(numbers.insert(), {"id": 1, "at": datetime(2026, 1, 2, 3, 4, 5)})


def test_orm_models_use_the_exact_types(engine: sa.Engine) -> None:
    now = datetime(2026, 11, 20, 20, 45, tzinfo=UTC)
    with transaction(engine) as session:
        session.add(
            HarvestRun(
                id="run-1",
                as_of=now.date(),
                mode="dry-run",
                status="planned",
                started_at=now,
                plan={"pairs": [{"sell": "VTI", "loss": Decimal("1234.5678901234")}], "as_of": now.date()},
            )
        )
        session.add(
            OrderIntent(
                client_order_id="run-1-p1-sell",
                run_id="run-1",
                pair_id="p1",
                leg="sell",
                account_id="joint-taxable",
                symbol="VTI",
                side="sell",
                quantity=Decimal("12.123456789"),
                status="pending",
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            Lease(name="leader", holder="host-1", heartbeat_at=now, expires_at=now + timedelta(minutes=1))
        )
    with transaction(engine) as session:
        intent = session.get(OrderIntent, "run-1-p1-sell")
        run = session.get(HarvestRun, "run-1")
        lease = session.get(Lease, "leader")
        assert intent is not None and run is not None and lease is not None
        assert intent.quantity == Decimal("12.123456789")
        assert intent.filled_quantity == Decimal(0)  # the model's default
        assert intent.notional is None and intent.lots is None
        assert intent.created_at == now and intent.created_at.tzinfo is UTC
        # Decimals and dates in JSON are written as strings (exact), not floats.
        assert run.plan == {"pairs": [{"sell": "VTI", "loss": "1234.5678901234"}], "as_of": "2026-11-20"}
        assert lease.expires_at - lease.heartbeat_at == timedelta(minutes=1)
