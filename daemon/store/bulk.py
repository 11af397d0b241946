"""Bulk inserts: many rows into one table at the database driver's speed.

SQLAlchemy's `connection.execute(insert(table), rows)` spends most of its time per row and per value in
generic machinery (building each row's parameters, looking up each column's processor). Here the column
types' own bind processors (so `DecimalType` still checks and canonicalizes every amount, `UTCDateTime`
every instant) are looked up once and applied in one pass, and the plain tuples go to the driver:
`executemany` (SQLite; PostgreSQL for small batches) or, for larger PostgreSQL batches, `COPY ... FROM
STDIN`, which streams rows without a statement per row.

Runs on the caller's connection and transaction; commits nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

CHUNK = 5_000  # rows converted and sent at a time: bounds memory for huge households
COPY_FROM = 1_000  # PostgreSQL: below this many rows, executemany is as quick as setting up a COPY


def insert(connection: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, column names of `table`) into `table`. `rows` may be a
    generator: it is consumed `CHUNK` rows at a time, so a household's 100k lots are never all dicts at once."""
    it = iter(rows)
    chunk = list(itertools.islice(it, CHUNK))
    if not chunk:
        return
    dialect = connection.dialect
    names = list(chunk[0])
    columns = [table.c[name] for name in names]
    # Python-side defaults are SQLAlchemy's to fill in; plain SQL would leave them NULL.
    missing = [c.name for c in table.c if c.name not in chunk[0] and c.default is not None]
    if missing:
        raise ValueError(f"bulk insert into {table.name}: give {', '.join(missing)} explicitly")
    processors: list[Callable[[Any], Any] | None] = [c.type.dialect_impl(dialect).bind_processor(dialect)
                                                     for c in columns]
    prepare = dialect.identifier_preparer
    target = prepare.format_table(table)
    column_list = ", ".join(prepare.quote(c.name) for c in columns)
    # COPY when the first chunk alone is large enough to pay for it.
    use_copy = dialect.name == "postgresql" and dialect.driver == "psycopg" and len(chunk) >= COPY_FROM
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {target} ({column_list}) VALUES ({', '.join([marker] * len(columns))})"
    while chunk:
        params = _convert(chunk, names, processors)
        if use_copy:
            _copy(connection, f"COPY {target} ({column_list}) FROM STDIN", params)
        else:
            connection.exec_driver_sql(sql, params)  # type: ignore[arg-type]
        chunk = list(itertools.islice(it, CHUNK))


def _convert(rows: Sequence[Mapping[str, Any]], names: list[str],
             processors: list[Callable[[Any], Any] | None]) -> list[tuple[Any, ...]]:
    # Column by column: each processor mapped over its column in one C-level loop (processors pass None
    # through as NULL themselves), then the columns zipped back into rows.
    columns = []
    for name, process in zip(names, processors, strict=True):
        column = [row[name] for row in rows]
        columns.append(list(map(process, column)) if process is not None else column)
    return list(zip(*columns, strict=True))


def _copy(connection: sa.Connection, statement: str, params: list[tuple[Any, ...]]) -> None:
    # The DBAPI connection under the SQLAlchemy one: the same transaction.
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in params:
            copy.write_row(row)
