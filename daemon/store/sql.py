"""The ledger's SQL at the database driver, with or without SQLAlchemy.

`tlh import` and `tlh gains` on 10,000 trades must answer in a second together (issue 14), and importing
SQLAlchemy costs each process about a tenth of one (`tlh lots` and the migration check every command makes
go the same way). So the ledger's persistence (`daemon.store.ledger_repo`,
`daemon.store.bulk`) speaks plain SQL through `Sql`: either to a SQLite file opened with the sqlite3 module
(`daemon.store.sqlite.connect`: `tlh import`, `lots`, `gains`) or through a SQLAlchemy connection or session's
`exec_driver_sql` (everything else, SQLite or PostgreSQL), inside the caller's transaction.

What SQLAlchemy's column types would do is done here a column at a time, by the column's kind, with the
same results: `DecimalType` amounts canonical (text on SQLite), dates and times in SQLAlchemy's SQLite
text formats, `UTCDateTime` instants stored as UTC, booleans strictly True or False, JSON through the
store's serializer. `Table` describes the columns of the ledger's tables; `daemon.store.tables` stays
the one definition of the schema (tests/store/test_sql.py checks every `Table` here against it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from daemon.store import sqlite
from daemon.store.amounts import canonical, canonical_text, canonical_texts

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

# Column kinds: how a value is stored and read back.
TEXT, INT, DECIMAL, DATE, DATETIME, TIME, BOOL, JSON = "text", "int", "decimal", "date", "datetime", "time", \
    "bool", "json"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str
    nullable: bool = False
    default: bool = False  # SQLAlchemy fills in a Python-side default: plain SQL would not, so name it
    server_default: bool = False  # the database fills in a default when the column is left out
    json_null: bool = False  # JSON: None is stored as the JSON null (SQLAlchemy's JSON without none_as_null)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    c: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", {column.name: column for column in self.columns})


def quote(name: str) -> str:
    """A quoted identifier (the same on SQLite and PostgreSQL: the names are plain lower case)."""
    return f'"{name}"'


# --- values, a column at a time ------------------------------------------------------------------------

Convert = Callable[[list[Any]], list[Any]]


def _datetime_text(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME text, of the UTC instant without its offset (UTCDateTime).
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


def utc_instant(value: Any) -> datetime | None:
    """UTCDateTime's check and conversion: an aware instant, as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"UTCDateTime takes datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"UTCDateTime needs a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def _date_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise TypeError("SQLite Date type only accepts Python date objects as input.")
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _time_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, time):
        raise TypeError("SQLite Time type only accepts Python time objects as input.")
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"


_BOOLS = frozenset([None, True, False])


def _strict_bool(value: Any) -> Any:
    if value not in _BOOLS:
        if not isinstance(value, int):
            raise TypeError(f"Not a boolean value: {value!r}")
        raise ValueError(f"Value {value!r} is not None, True, or False")
    return value


def _json_default(value: Any) -> Any:
    # Plans and broker payloads carry Decimals and dates; strings keep them exact.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(value: Any) -> str:
    """The store's JSON text (SQLAlchemy's engines serialize with it too)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _writer(column: Column, dialect: str, *, copy: bool = False) -> Convert:
    """A column's values -> what the driver is given (`copy`: PostgreSQL's COPY, which takes NUMERIC as text)."""
    kind = column.kind
    sqlite = dialect == "sqlite"
    if kind == DECIMAL:
        if sqlite or copy:
            return canonical_texts
        return lambda values: [None if v is None else Decimal(canonical_text(v)) for v in values]
    if kind == BOOL:
        return _sqlite_bools if sqlite else lambda values: [None if v is None else bool(_strict_bool(v))
                                                             for v in values]
    if kind == DATETIME:
        if sqlite:
            return lambda values: [None if v is None else _datetime_text(utc_instant(v)) for v in values]  # type: ignore[arg-type]
        return lambda values: list(map(utc_instant, values))
    if kind == JSON:
        if sqlite:
            dump: Callable[[Any], Any] = json_dumps
        else:
            from psycopg.types.json import Json

            def dump(value: Any) -> Any:
                return Json(value, dumps=json_dumps)
        null = dump(None) if column.json_null else None
        return lambda values: [null if v is None else dump(v) for v in values]
    if sqlite and kind == DATE:
        return _sqlite_dates
    if sqlite and kind == TIME:
        return lambda values: list(map(_time_text, values))
    return _unchanged


def _sqlite_dates(values: list[Any]) -> list[Any]:
    # SQLite's DATE text is the ISO date: plain dates (nearly always) by date.isoformat, a column at a time.
    if set(map(type, values)) == {date}:
        return list(map(date.isoformat, values))
    return list(map(_date_text, values))


def _sqlite_bools(values: list[Any]) -> list[Any]:
    # SQLite stores 1 and 0; anything but True and False takes the strict check (None, or its error).
    if set(map(type, values)) == {bool}:
        return list(map(int, values))
    return [None if v is None else int(_strict_bool(v)) for v in values]


def _unchanged(values: list[Any]) -> list[Any]:
    return values


def _reader(column: Column, dialect: str) -> Convert:
    """What the driver hands back -> the column's Python values, equal values shared (`shared`)."""
    kind = column.kind
    if dialect == "sqlite":
        parse: Callable[[Any], Any] | None = {
            DECIMAL: Decimal, DATE: date.fromisoformat, TIME: time.fromisoformat, BOOL: bool,
            JSON: json.loads, DATETIME: lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
        }.get(kind)
    else:
        parse = {DECIMAL: canonical, DATETIME: lambda value: value.astimezone(UTC)}.get(kind)
    if kind == JSON:  # parsed JSON is mutable: one object per row, never shared
        return lambda values: values if parse is None else [None if v is None else parse(v) for v in values]
    return lambda values: shared(values, parse)


def shared(values: list[Any], parse: Callable[[Any], Any] | None = None, *, nulls: bool = True) -> list[Any]:
    """`[None if v is None else parse(v) for v in values]` (`parse` None: the values themselves; `nulls`
    False: None is parsed too), where equal values come out as one object when a column repeats itself: a
    stored ledger's account ids, symbols, dates and zero amounts, each read as its own object per row, made a
    100,000-trade ledger read back take three times the memory of the one computed (and each date was parsed
    again). Only for immutable results."""
    distinct = dict.fromkeys(values)
    if 2 * len(distinct) > len(values):  # mostly distinct (ids, prices): converted one by one
        if parse is None:
            return values
        if nulls and None in distinct:
            return [None if v is None else parse(v) for v in values]
        return list(map(parse, values))  # the common case: no Python call per value
    table = {v: v if parse is None or (nulls and v is None) else parse(v) for v in distinct}
    return list(map(table.__getitem__, values))


# --- the connection ------------------------------------------------------------------------------------


class Sql:
    """A database connection in its caller's transaction, and the little that differs between SQLite (the
    sqlite3 module) and PostgreSQL (psycopg 3): the parameter marker, converters, COPY, collation.

    Over a SQLAlchemy connection, statements go through its `exec_driver_sql`: the same transaction, and
    errors raised as SQLAlchemy's (`sqlalchemy.exc.IntegrityError`, `OperationalError`), which the daemon's
    callers catch (PostgreSQL's COPY, on the driver's cursor, raises psycopg's own, as it did before). Over a
    bare sqlite3 connection (`tlh import`, `lots`, `gains`), the driver's own."""

    __slots__ = ("connection", "dialect", "marker", "raw", "sqlite")

    def __init__(self, dialect: str, *, raw: Any = None, connection: Connection | None = None):
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no ledger SQL for the {dialect} dialect")
        self.connection = connection
        self.raw = raw if connection is None else connection.connection.dbapi_connection
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self.marker = "?" if self.sqlite else "%s"

    def markers(self, n: int) -> str:
        return ", ".join([self.marker] * n)

    def run(self, statement: str, params: Sequence[Any] = ()) -> None:
        """A statement whose rows, if any, are not wanted (DELETE, UPDATE)."""
        if self.connection is not None:
            self.connection.exec_driver_sql(statement, tuple(params))
            return
        self.raw.execute(statement, tuple(params)).close()

    def executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if self.connection is not None:
            self.connection.exec_driver_sql(statement, rows)  # type: ignore[arg-type]
            return
        self.raw.executemany(statement, rows).close()

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        if self.connection is not None:
            return list(self.connection.exec_driver_sql(statement, tuple(params)).all())
        cursor = self.raw.execute(statement, tuple(params))
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(statement, params)
        return found[0][0] if found else None

    def stream(self, statement: str, params: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
        """The rows in batches of `size`; on PostgreSQL through a server-side cursor (memory stays flat)."""
        if self.connection is not None:
            # Per statement: a connection's own execution_options() would change it for every later one.
            result = self.connection.exec_driver_sql(statement, tuple(params), execution_options={"yield_per": size})
            yield from result.partitions()
            return
        cursor = self.raw.execute(statement, tuple(params))
        try:
            while batch := cursor.fetchmany(size):
                yield batch
        finally:
            cursor.close()

    def code_points(self, column: str) -> str:
        # SQLite compares text bytewise (UTF-8: code-point order, as Python sorts); PostgreSQL's default
        # collation follows the locale, "C" is bytewise.
        return quote(column) if self.sqlite else f'{quote(column)} COLLATE "C"'

    def writer(self, column: Column, *, copy: bool = False) -> Convert:
        return _writer(column, self.dialect, copy=copy)

    def reader(self, column: Column) -> Convert:
        return _reader(column, self.dialect)

    def param(self, column: Column, value: Any) -> Any:
        """One value for a query's parameter, as the column stores it."""
        return self.writer(column)([value])[0]


def of(reader: Session | Connection | Sql) -> Sql:
    """The `Sql` of a SQLAlchemy session (its connection and transaction; pending changes flushed first, as a
    query through the session would), a SQLAlchemy connection, or an `Sql` itself."""
    if isinstance(reader, Sql):
        return reader
    connection = reader
    if not hasattr(connection, "dialect"):  # a Session
        if connection.autoflush:  # type: ignore[union-attr]
            connection.flush()  # type: ignore[union-attr]
        connection = connection.connection()  # type: ignore[union-attr]
    return Sql(connection.dialect.name, connection=connection)  # type: ignore[arg-type,union-attr]


# --- transactions on a database URL or engine ----------------------------------------------------------


@contextmanager
def writing(database: str | Engine) -> Iterator[Sql]:
    """One write transaction, committed if the block succeeds and rolled back on any exception: on a plain
    SQLite file URL, the file opened directly (no SQLAlchemy; BEGIN IMMEDIATE, as `db.writing` does);
    else on a SQLAlchemy engine (the one given, or one made for the URL)."""
    with _transaction(database, "BEGIN IMMEDIATE") as db:
        yield db


@contextmanager
def reading(database: str | Engine) -> Iterator[Sql]:
    """A read transaction (a deferred BEGIN on SQLite: it never waits for a writer), as `db.read_connection`."""
    with _transaction(database, "BEGIN") as db:
        yield db


@contextmanager
def _transaction(database: str | Engine, begin: str) -> Iterator[Sql]:
    path = sqlite.plain_file(database)
    if path is None:
        with _engine_transaction(database, read_only=begin == "BEGIN") as db:
            yield db
        return
    connection = sqlite.connect(path)
    try:
        connection.execute(begin)
        try:
            yield Sql("sqlite", raw=connection)
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


@contextmanager
def _engine_transaction(database: str | Engine, *, read_only: bool) -> Iterator[Sql]:
    from daemon.store import db as engines

    engine = engines.make_engine(database) if isinstance(database, str) else database
    try:
        if read_only:
            with engines.read_connection(engine) as connection:
                yield of(connection)
        else:
            with engines.writing(engine) as connection:
                yield of(connection)
    finally:
        if isinstance(database, str):
            engine.dispose()
