"""Bulk inserts store exactly what SQLAlchemy's own insert stores, on SQLite and PostgreSQL (executemany and
COPY), with the same checks on every value."""

from __future__ import annotations

import operator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.store import bulk
from daemon.store.types import DecimalType, UTCDateTime, canonical_text

scratch = sa.MetaData()


def table(name: str) -> sa.Table:
    return sa.Table(name, scratch, sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String, nullable=True), sa.Column("amount", DecimalType(), nullable=True),
                    sa.Column("day", sa.Date, nullable=True), sa.Column("at", UTCDateTime(), nullable=True),
                    sa.Column("flag", sa.Boolean, nullable=True), sa.Column("extra", sa.JSON, nullable=True))


ROWS, SAME = table("scratch_bulk"), table("scratch_plain")  # bulk.insert vs SQLAlchemy's insert


def nullable(name: str) -> sa.Table:
    return sa.Table(name, scratch, sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("note", sa.String, nullable=True),
                    sa.Column("tag", sa.String, nullable=True, server_default="default"),
                    sa.Column("extra", sa.JSON, nullable=True), sa.Column("amount", DecimalType(), nullable=True))


NULLS, NULLS_SAME = nullable("scratch_nulls"), nullable("scratch_nulls_plain")


def sample(n: int) -> list[dict[str, object]]:
    eastern = timezone(timedelta(hours=-5))
    return [{"id": i, "name": None if i % 7 == 0 else f"n'{i}\t\"x\"\\", "amount": [
                Decimal("0.1") + Decimal("0.2"), Decimal("2.500000000000"), Decimal("-0"), Decimal("1E+3"),
                Decimal("-12345678901234567890.123456789012"), None, 7][i % 7],
             "day": date(2024, 1, 1) + timedelta(days=i % 400),
             "at": datetime(2026, 11, 20, 15, 45, 12, i % 999_999, tzinfo=eastern if i % 2 else UTC),
             "flag": [True, False, None][i % 3], "extra": None if i % 5 else {"k": [i, "v"]}}
            for i in range(n)]


@pytest.fixture
def tables(engine: sa.Engine) -> sa.Engine:
    scratch.create_all(engine)
    return engine


@pytest.mark.parametrize("n", [5, bulk.COPY_FROM + 17])  # executemany; COPY on PostgreSQL
def test_bulk_rows_read_back_as_sqlalchemys_own_insert(tables: sa.Engine, n: int) -> None:
    rows = sample(n)
    with tables.begin() as connection:
        bulk.insert(connection, ROWS, rows)
        connection.execute(sa.insert(SAME), rows)
    with tables.connect() as connection:
        fast = connection.execute(sa.select(ROWS).order_by(ROWS.c.id)).all()
        plain = connection.execute(sa.select(SAME).order_by(SAME.c.id)).all()
        raw_fast = connection.execute(sa.text("SELECT amount, day FROM scratch_bulk ORDER BY id")).all()
        raw_plain = connection.execute(sa.text("SELECT amount, day FROM scratch_plain ORDER BY id")).all()
    assert fast == plain
    assert raw_fast == raw_plain  # the same stored text/values, not only equal after reading
    assert fast[1].amount == Decimal("2.5") and str(fast[1].amount) == "2.5"
    assert fast[3].amount == Decimal("1000") and str(fast[3].amount) == "1000"
    assert fast[1].at.tzinfo is UTC and fast[1].at == rows[1]["at"]


@pytest.mark.parametrize("bad", [Decimal("0.0000000000001"), Decimal("1e26"), Decimal("NaN"), 0.1, "1"])
def test_bulk_refuses_what_the_column_cannot_hold(tables: sa.Engine, bad: object) -> None:
    rows = sample(3)
    rows[2]["amount"] = bad
    with pytest.raises((ValueError, TypeError)), tables.begin() as connection:
        bulk.insert(connection, ROWS, rows)
    with tables.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(ROWS)) == 0


def test_bulk_insert_joins_the_callers_transaction(tables: sa.Engine) -> None:
    with pytest.raises(RuntimeError), tables.begin() as connection:
        bulk.insert(connection, ROWS, sample(bulk.COPY_FROM + 1))
        raise RuntimeError("rolled back")
    with tables.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(ROWS)) == 0


@pytest.mark.parametrize("value", [Decimal("0.30"), Decimal("-0.000"), Decimal("0E-20"), Decimal("12.000000000000000"),
                                   Decimal("1E+3"), 7, Decimal("99999999999999999999999999.999")])
def test_canonical_text(value: object) -> None:
    expected = {Decimal("0.30"): "0.3", Decimal("-0.000"): "0", Decimal("0E-20"): "0",
                Decimal("12.000000000000000"): "12", Decimal("1E+3"): "1000", 7: "7",
                Decimal("99999999999999999999999999.999"): "99999999999999999999999999.999"}
    assert canonical_text(value) == expected[value]


def test_a_generator_is_written_chunk_by_chunk(tables: sa.Engine) -> None:
    n = bulk.CHUNK + 3
    with tables.begin() as connection:
        bulk.insert(connection, ROWS, (row for row in sample(n)))
        bulk.insert(connection, ROWS, iter(()))  # nothing to write
    with tables.connect() as connection:
        ids = connection.execute(sa.select(ROWS.c.id).order_by(ROWS.c.id)).scalars().all()
    assert ids == list(range(n))


amounts = st.one_of(st.decimals(allow_nan=True, allow_infinity=True),
                    st.decimals(places=12, min_value=-10**14, max_value=10**14),
                    st.integers(-10**30, 10**30).map(lambda i: Decimal(i).scaleb(-12)), st.none(),
                    st.integers(-5, 5), st.sampled_from([Decimal("-0.000"), Decimal("1E+3"), Decimal("0E-20"),
                                                         Decimal("1.50000000000000"), Decimal("1E-7")]))


def _one_by_one(values: list[object]) -> list[object]:
    out = []
    for v in values:
        try:
            out.append(None if v is None else canonical_text(v))
        except (ValueError, TypeError) as exc:
            out.append(type(exc))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(amounts, max_size=12))
def test_a_column_of_amounts_is_canonical_text_of_each(values: list[object]) -> None:
    expected = _one_by_one(values)
    errors = [e for e in expected if isinstance(e, type)]
    if errors:
        with pytest.raises((ValueError, TypeError)):
            bulk.canonical_texts(values)
    else:
        assert bulk.canonical_texts(values) == expected


def test_a_column_of_decimals_fixes_exponents_one_by_one() -> None:
    values = [Decimal("1.68E+3"), Decimal("2.500000000000"), Decimal("7"), Decimal("-0.000000100000"), Decimal("1E+2")]
    assert bulk.canonical_texts(values) == ["1680", "2.5", "7", "-0.0000001", "100"]
    with pytest.raises(ValueError, match="more than 12 decimal places"):
        bulk.canonical_texts([*values, Decimal("1E-13")])


def test_objects_with_getters_and_constants_store_what_dicts_store(tables: sa.Engine) -> None:
    rows = sample(bulk.COPY_FROM + 5)
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for row in rows:
        row["at"] = stamp
    getters = {name: operator.itemgetter(name) for name in ("id", "name", "amount", "day", "flag", "extra")}
    with tables.begin() as connection:
        bulk.insert_objects(connection, ROWS, rows, {**getters, "at": bulk.Constant(stamp)})
        connection.execute(sa.insert(SAME), rows)
    with tables.connect() as connection:
        assert connection.execute(sa.select(ROWS).order_by(ROWS.c.id)).all() == connection.execute(
            sa.select(SAME).order_by(SAME.c.id)).all()


@pytest.mark.parametrize("n", [9, bulk.COPY_FROM + 17])  # executemany; COPY on PostgreSQL
def test_a_column_of_nulls_stores_null_whatever_the_columns_default(tables: sa.Engine, monkeypatch, n: int) -> None:
    """A chunk's columns of NULLs are left out of its statement when that stores NULL too: not a column with a
    server default (its default would be stored), nor JSON (None is the JSON null there); the next chunk,
    with values, names them again."""
    monkeypatch.setattr(bulk, "CHUNK", n - 3)  # the first chunk all NULL, the last three rows with values
    rows = [{"id": i, "note": None, "tag": None, "extra": None, "amount": None} if i < n - 3 else
            {"id": i, "note": f"n{i}", "tag": f"t{i}", "extra": {"i": i}, "amount": Decimal("1.50")}
            for i in range(n)]
    with tables.begin() as connection:
        bulk.insert(connection, NULLS, rows)
        connection.execute(sa.insert(NULLS_SAME), rows)
    with tables.connect() as connection:
        fast = connection.execute(sa.text("SELECT id, note, tag, amount FROM scratch_nulls ORDER BY id")).all()
        plain = connection.execute(sa.text("SELECT id, note, tag, amount FROM scratch_nulls_plain ORDER BY id")).all()
        extra = connection.execute(sa.select(NULLS.c.extra).order_by(NULLS.c.id)).scalars().all()
        extra_plain = connection.execute(sa.select(NULLS_SAME.c.extra).order_by(NULLS_SAME.c.id)).scalars().all()
    assert fast == plain and extra == extra_plain
    assert fast[0].tag is None and fast[0].note is None and fast[-1].tag == f"t{n - 1}"
