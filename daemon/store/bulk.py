"""Bulk inserts: many rows into one table at the database driver's speed.

SQLAlchemy's `connection.execute(insert(table), rows)` spends most of its time per row and per value in
generic machinery (building each row's parameters, looking up each column's processor). Here each column is
converted on its own, in one pass, by the column type's own rules (so `DecimalType` still checks and
canonicalizes every amount, `UTCDateTime` every instant), and the plain tuples go to the driver:
`executemany` (SQLite; PostgreSQL for small batches) or, for larger PostgreSQL batches, `COPY ... FROM
STDIN`, which streams rows without a statement per row.

The common columns take a shortcut with the same result as the type's bind processor: amounts of a
column canonicalized together (`canonical_texts`), dates written by `date.isoformat` (SQLite), a value
repeated down a column (`Constant`) converted once. Anything unusual in a column (a None, an int, a value
that needs a check to fail) sends that column through the processor, value by value.

`insert` takes rows as dicts; `insert_objects` takes the objects themselves and a getter per column (no
dict per row). Both run on the caller's connection and transaction (a SQLAlchemy connection, or the driver's
own through `daemon.store.sql.Sql`: the column types' rules are `daemon.store.sql`'s, a column at a time,
without SQLAlchemy); they commit nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from daemon.store import sql
from daemon.store.amounts import canonical_texts
from daemon.store.sql import Sql, quote

if TYPE_CHECKING:
    import sqlalchemy as sa

    Target = sa.Connection | Sql
    Described = sa.Table | sql.Table

CHUNK = 5_000  # rows converted and sent at a time: bounds memory for huge households
COPY_FROM = 1_000  # PostgreSQL: below this many rows, executemany is as quick as setting up a COPY

_T = TypeVar("_T")
Column = Callable[[list[Any]], list[Any]]  # a column's values -> what the driver gets

__all__ = ["CHUNK", "COPY_FROM", "Constant", "Mapped", "Values", "canonical_texts", "delete_keys", "insert",
           "insert_objects", "read"]


class Constant:
    """The same value in every row (a household id, an import's time stamp): converted once."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class Values:
    """A column's values given whole, one per item, in order (e.g. `range(first, first + n)` for sequence
    numbers)."""

    __slots__ = ("values",)

    def __init__(self, values: Sequence[Any]):
        self.values = values


class Mapped:
    """A column got by `get` from each item, then turned into what the column stores by `convert`, applied
    to the whole column at once (e.g. `map(str, ...)` of enums: no Python call per item)."""

    __slots__ = ("convert", "get")

    def __init__(self, get: Callable[[Any], Any], convert: Callable[[list[Any]], list[Any]]):
        self.get, self.convert = get, convert


def _sql(connection: Target) -> Sql:
    return connection if isinstance(connection, Sql) else sql.of(connection)


def _described(table: Described) -> sql.Table:
    if isinstance(table, sql.Table):
        return table
    from daemon.store.tables import plain

    return plain(table)


def insert(connection: Target, table: Described, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, column names of `table`) into `table`. `rows` may be a
    generator: it is consumed `CHUNK` rows at a time, so a household's 100k lots are never all dicts at once."""
    it = iter(rows)
    chunk = list(itertools.islice(it, CHUNK))
    if not chunk:
        return
    names = list(chunk[0])
    writer = _Writer(_sql(connection), _described(table), names, len(chunk))
    while chunk:
        writer.write([[row[name] for row in chunk] for name in names], len(chunk))
        chunk = list(itertools.islice(it, CHUNK))


def insert_objects(connection: Target, table: Described, items: Iterable[_T],
                   columns: Mapping[str, Callable[[_T], Any] | Constant | Values | Mapped]) -> None:
    """Insert one row per item of `items`: column name -> a getter applied to the item (e.g.
    `operator.attrgetter("quantity")`), a `Constant`, the column's `Values` or a `Mapped` getter. No dict per
    row; `CHUNK` items at a time."""
    it = iter(items)
    chunk = list(itertools.islice(it, CHUNK))
    if not chunk:
        return
    names = list(columns)
    writer = _Writer(_sql(connection), _described(table), names, len(chunk))
    offset = 0
    while chunk:
        n = len(chunk)
        values: list[list[Any] | Constant] = []
        for name in names:
            get = columns[name]
            if isinstance(get, Constant):
                values.append(get)
            elif isinstance(get, Values):
                values.append(list(get.values[offset : offset + n]))
            elif isinstance(get, Mapped):
                values.append(get.convert(list(map(get.get, chunk))))
            else:
                values.append(list(map(get, chunk)))
        writer.write(values, n)
        offset += n
        chunk = list(itertools.islice(it, CHUNK))


def delete_keys(connection: Target, table: Described, where: Mapping[str, Any], column: str,
                keys: Sequence[Any]) -> None:
    """Delete the rows of `table` that match `where` (column -> value) and whose `column` is one of `keys`:
    one indexed lookup per key, in one executemany. Keys and values are plain strings or numbers."""
    if not keys:
        return
    db = _sql(connection)
    names = [*where, column]
    condition = " AND ".join(f"{quote(name)} = {db.marker}" for name in names)
    fixed = tuple(where.values())
    db.executemany(f"DELETE FROM {quote(_described(table).name)} WHERE {condition}",
                   [(*fixed, key) for key in keys])


class _Writer:
    """One INSERT (or COPY) of `names` into `table`, fed chunk by chunk with column-wise values."""

    def __init__(self, db: Sql, table: sql.Table, names: Sequence[str], first: int):
        self.db = db
        columns = [table.c[name] for name in names]
        # Python-side defaults are SQLAlchemy's to fill in; plain SQL would leave them NULL.
        missing = [c.name for c in table.columns if c.name not in names and c.default]
        if missing:
            raise ValueError(f"bulk insert into {table.name}: give {', '.join(missing)} explicitly")
        self.target = quote(table.name)
        self.quoted = [quote(c.name) for c in columns]
        # COPY when the first chunk alone is large enough to pay for it.
        self.copy = not db.sqlite and first >= COPY_FROM
        self.converters = [db.writer(c, copy=self.copy) for c in columns]
        # Every kind stores None as NULL, except JSON whose None is the JSON null.
        self.nulls = [not c.json_null for c in columns]
        # A column of NULLs is left out of the statement when leaving it out stores NULL too (no server
        # default): the driver binds nothing for it (SQLite's module looks for an adapter for every None it
        # binds, most of the time of a column of them).
        self.omissible = [nulls and c.nullable and not c.server_default
                          for c, nulls in zip(columns, self.nulls, strict=True)]
        self.statements: dict[tuple[bool, ...], str] = {}

    def statement(self, kept: tuple[bool, ...]) -> str:
        """The INSERT (or COPY) of the columns `kept` marks."""
        statement = self.statements.get(kept)
        if statement is None:
            names = [name for name, keep in zip(self.quoted, kept, strict=True) if keep]
            column_list = ", ".join(names)
            statement = self.statements[kept] = (
                f"COPY {self.target} ({column_list}) FROM STDIN" if self.copy else
                f"INSERT INTO {self.target} ({column_list}) VALUES ({self.db.markers(len(names))})")
        return statement

    def write(self, columns: list[list[Any] | Constant], n: int) -> None:
        converted = []
        kept = []
        for values, convert, nulls, omissible in zip(columns, self.converters, self.nulls, self.omissible,
                                                     strict=True):
            if isinstance(values, Constant):
                converted.append(itertools.repeat(convert([values.value])[0], n))
            elif nulls and values and values[0] is None and values.count(None) == n:
                # A column of NULLs (a file without times or lot ids): nothing to convert. The first value is
                # looked at first: counting compares every value with None, slow for Decimals and dates.
                if omissible:
                    kept.append(False)
                    continue
                converted.append(values)
            else:
                converted.append(convert(values))
            kept.append(True)
        if not converted:  # nothing but NULLs: every column named, as an INSERT must name one
            kept = [True] * len(kept)
            converted = [[None] * n] * len(kept)
        params = list(zip(*converted, strict=False))
        statement = self.statement(tuple(kept))
        if self.copy:
            _copy(self.db, statement, params)
        else:
            self.db.executemany(statement, params)


def read(connection: Target, table: Described, names: Sequence[str], where: Mapping[str, Any],
         order_by: Sequence[str] = (), also: tuple[str, Sequence[Any]] | None = None,
         scan: bool = False) -> Iterator[list[list[Any]]]:
    """The `names` columns of `table`'s rows whose columns equal `where`'s values (and that meet `also`: a
    condition in SQL with its parameters, stored values), in `order_by` order (column names): chunks of up
    to `CHUNK` rows, each one list per column, every value as the column's type reads it (`DecimalType`: the
    canonical Decimal), converted a column at a time.

    `scan`: on SQLite, read the table through rather than through an index on `where`'s columns (NOT
    INDEXED), for a condition that keeps few of the rows: an index entry costs a lookup in the table, a
    scan reads it in order (the open lots of a long history: 0.18 s against 0.015 s)."""
    db = _sql(connection)
    described = _described(table)
    columns = [described.c[name] for name in names]
    readers = [db.reader(c) for c in columns]
    statement = f"SELECT {', '.join(map(quote, names))} FROM {quote(described.name)}"
    if scan and db.sqlite:
        statement += " NOT INDEXED"
    conditions = [f"{quote(name)} = {db.marker}" for name in where]
    params = [db.param(described.c[name], value) for name, value in where.items()]
    if also is not None:
        conditions.append(f"({also[0]})")
        params.extend(also[1])
    if conditions:
        statement += " WHERE " + " AND ".join(conditions)
    if order_by:
        statement += " ORDER BY " + ", ".join(map(quote, order_by))
    for rows in db.stream(statement, params, CHUNK):
        values = [list(column) for column in zip(*rows, strict=True)]
        yield [convert(column) for column, convert in zip(values, readers, strict=True)]


def _copy(db: Sql, statement: str, params: list[tuple[Any, ...]]) -> None:
    with db.raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in params:
            copy.write_row(row)
