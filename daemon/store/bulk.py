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
dict per row). Both run on the caller's connection and transaction; they commit nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Context, Decimal, DecimalException, Rounded
from typing import Any, TypeVar

import sqlalchemy as sa

from daemon.store.types import DecimalType, canonical, canonical_text

CHUNK = 5_000  # rows converted and sent at a time: bounds memory for huge households
COPY_FROM = 1_000  # PostgreSQL: below this many rows, executemany is as quick as setting up a COPY

_T = TypeVar("_T")
Column = Callable[[list[Any]], list[Any]]  # a column's values -> what the driver gets


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


def insert(connection: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, column names of `table`) into `table`. `rows` may be a
    generator: it is consumed `CHUNK` rows at a time, so a household's 100k lots are never all dicts at once."""
    it = iter(rows)
    chunk = list(itertools.islice(it, CHUNK))
    if not chunk:
        return
    names = list(chunk[0])
    writer = _Writer(connection, table, names, len(chunk))
    while chunk:
        writer.write([[row[name] for row in chunk] for name in names], len(chunk))
        chunk = list(itertools.islice(it, CHUNK))


def insert_objects(connection: sa.Connection, table: sa.Table, items: Iterable[_T],
                   columns: Mapping[str, Callable[[_T], Any] | Constant | Values | Mapped]) -> None:
    """Insert one row per item of `items`: column name -> a getter applied to the item (e.g.
    `operator.attrgetter("quantity")`), a `Constant`, the column's `Values` or a `Mapped` getter. No dict per
    row; `CHUNK` items at a time."""
    it = iter(items)
    chunk = list(itertools.islice(it, CHUNK))
    if not chunk:
        return
    names = list(columns)
    writer = _Writer(connection, table, names, len(chunk))
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


def delete_keys(connection: sa.Connection, table: sa.Table, where: Mapping[str, Any], column: str,
                keys: Sequence[Any]) -> None:
    """Delete the rows of `table` that match `where` (column -> value) and whose `column` is one of `keys`:
    one indexed lookup per key, in one executemany. Keys and values are plain strings or numbers."""
    if not keys:
        return
    dialect = connection.dialect
    prepare = dialect.identifier_preparer
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    names = [*where, column]
    condition = " AND ".join(f"{prepare.quote(table.c[name].name)} = {marker}" for name in names)
    fixed = tuple(where.values())
    connection.exec_driver_sql(f"DELETE FROM {prepare.format_table(table)} WHERE {condition}",
                               [(*fixed, key) for key in keys])  # type: ignore[arg-type]


class _Writer:
    """One INSERT (or COPY) of `names` into `table`, fed chunk by chunk with column-wise values."""

    def __init__(self, connection: sa.Connection, table: sa.Table, names: Sequence[str], first: int):
        dialect = connection.dialect
        self.connection = connection
        columns = [table.c[name] for name in names]
        # Python-side defaults are SQLAlchemy's to fill in; plain SQL would leave them NULL.
        missing = [c.name for c in table.c if c.name not in names and c.default is not None]
        if missing:
            raise ValueError(f"bulk insert into {table.name}: give {', '.join(missing)} explicitly")
        prepare = dialect.identifier_preparer
        self.target = prepare.format_table(table)
        self.quoted = [prepare.quote(c.name) for c in columns]
        # COPY when the first chunk alone is large enough to pay for it.
        self.copy = dialect.name == "postgresql" and dialect.driver == "psycopg" and first >= COPY_FROM
        self.marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self.converters = [_converter(c, dialect, text=self.copy) for c in columns]
        # Every type binds None as NULL, except JSON without none_as_null (the JSON text null).
        self.nulls = [not isinstance(c.type, sa.JSON) or c.type.none_as_null for c in columns]
        # A column of NULLs is left out of the statement when leaving it out stores NULL too (no server
        # default): the driver binds nothing for it (SQLite's module looks for an adapter for every None it
        # binds, most of the time of a column of them).
        self.omissible = [nulls and c.nullable and c.server_default is None
                          for c, nulls in zip(columns, self.nulls, strict=True)]
        self.statements: dict[tuple[bool, ...], str] = {}

    def statement(self, kept: tuple[bool, ...]) -> str:
        """The INSERT (or COPY) of the columns `kept` marks."""
        sql = self.statements.get(kept)
        if sql is None:
            names = [name for name, keep in zip(self.quoted, kept, strict=True) if keep]
            column_list = ", ".join(names)
            sql = self.statements[kept] = (
                f"COPY {self.target} ({column_list}) FROM STDIN" if self.copy else
                f"INSERT INTO {self.target} ({column_list}) VALUES ({', '.join([self.marker] * len(names))})")
        return sql

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
        sql = self.statement(tuple(kept))
        if self.copy:
            _copy(self.connection, sql, params)
        else:
            self.connection.exec_driver_sql(sql, params)  # type: ignore[arg-type]


def _converter(column: sa.Column[Any], dialect: sa.Dialect, *, text: bool) -> Column:
    """The column's bind processor mapped over a column of values, or a shortcut with the same result."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column.type, DecimalType) and (dialect.name == "sqlite" or text):
        # SQLite stores the canonical text; PostgreSQL's COPY parses the same text as NUMERIC.
        return canonical_texts
    if process is None:
        return _unchanged
    if dialect.name == "sqlite" and type(column.type) is sa.Date:
        return lambda values: _dates(values, process)
    if dialect.name == "sqlite" and type(column.type) is sa.Boolean:
        return lambda values: _booleans(values, process)
    return lambda values: list(map(process, values))


def _unchanged(values: list[Any]) -> list[Any]:
    return values


def _dates(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    # SQLite's DATE text is the ISO date; anything but plain dates (None, datetimes) takes the processor.
    if set(map(type, values)) == {date}:
        return list(map(date.isoformat, values))
    return list(map(process, values))


def _booleans(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    # SQLite stores 1 and 0; anything but True and False takes the processor (None, or its error).
    if set(map(type, values)) == {bool}:
        return list(map(int, values))
    return list(map(process, values))


# Normalizing never rounds a value the column can hold (38 digits); a longer one raises Rounded and takes
# the exact path.
_NORMALIZE = Context(prec=60, traps=[Rounded]).normalize
# Normalized text that needs the exact path: NaN or Infinity (letters), more than 12 decimals.
_LETTERS = re.compile(r"[^-+.\dE\n]")
_LONG_FRACTION = re.compile(r"\.\d{13}")


def canonical_texts(values: list[Any]) -> list[str | None]:
    """`[canonical_text(v) for v in values]` (None stays None), a column at a time: the normalized
    Decimals' text is already canonical except for exponent notation (1.5E+3), fixed one by one; a column
    with anything unusual goes value by value, with canonical_text's checks and errors."""
    if set(map(type, values)) != {Decimal}:
        return [None if v is None else canonical_text(v) for v in values]
    try:
        texts = list(map(str, map(_NORMALIZE, values)))
    except DecimalException:
        return list(map(canonical_text, values))
    blob = "\n".join(texts)
    # 27 characters or more may be 27 integer digits (too large); "-0" must be "0".
    if (max(map(len, texts)) >= 27 or _LETTERS.search(blob) or _LONG_FRACTION.search(blob)
            or f"\n{blob}\n".find("\n-0\n") >= 0):
        return list(map(canonical_text, values))
    if "E" in blob:
        texts = [canonical_text(v) if "E" in t else t for t, v in zip(texts, values, strict=True)]
    return texts  # type: ignore[return-value]


def read(connection: sa.Connection, table: sa.Table, names: Sequence[str], *criteria: Any,
         order_by: Sequence[Any] = ()) -> Iterator[list[list[Any]]]:
    """The `names` columns of `table`'s rows matching `criteria`, in `order_by` order: chunks of up to
    `CHUNK` rows, each one list per column, every value as the column's type reads it (`DecimalType`: the
    canonical Decimal) but converted a column at a time instead of value by value."""
    sqlite = connection.dialect.name == "sqlite"
    selected: list[Any] = []
    converters: list[Column | None] = []
    for name in names:
        column = table.c[name]
        if isinstance(column.type, DecimalType):
            # No per-value processor: SQLite's text or PostgreSQL's Decimal, converted below.
            selected.append(sa.type_coerce(column, sa.String()).label(name))
            converters.append(_decimals if sqlite else _canonicals)
        else:
            selected.append(column)
            converters.append(None)
    result = connection.execute(sa.select(*selected).where(*criteria).order_by(*order_by))
    for rows in result.partitions(CHUNK):
        columns = [list(values) for values in zip(*rows, strict=True)]
        yield [convert(values) if convert is not None else values
               for values, convert in zip(columns, converters, strict=True)]


def _decimals(texts: list[Any]) -> list[Any]:
    # What DecimalType reads on SQLite: Decimal of the stored canonical text.
    if None in texts:
        return [None if t is None else Decimal(t) for t in texts]
    return list(map(Decimal, texts))


def _canonicals(values: list[Any]) -> list[Any]:
    return [None if v is None else canonical(v) for v in values]


def _copy(connection: sa.Connection, statement: str, params: list[tuple[Any, ...]]) -> None:
    # The DBAPI connection under the SQLAlchemy one: the same transaction.
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in params:
            copy.write_row(row)
