"""Engines and transactions for SQLite (single host) and PostgreSQL (via psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from daemon import files
from daemon.config.secrets import read_secret
from daemon.store import sqlite
from daemon.store.sql import json_dumps

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# The ORM (sqlalchemy.orm, daemon.store.models) is imported by the functions that make sessions: read-only
# commands use `read_connection` and the Core tables (daemon.store.tables), and never load it. The settings of
# every SQLite connection are daemon.store.sqlite's.


DATABASE_PASSWORD = "TLH_DATABASE_PASSWORD"  # or TLH_DATABASE_PASSWORD_FILE


def normalize_url(url: str | URL) -> URL:
    """`postgresql://` and `postgres://` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql" and parsed.password is None:
        # The password is a secret: from the environment or a secret file, never from the TOML file.
        password = read_secret(DATABASE_PASSWORD)
        if password:
            parsed = parsed.set(password=password)
    return parsed


def make_engine(url: str | URL, *, sqlite_foreign_keys: bool = True, echo: bool = False) -> Engine:
    """An engine with the per-database settings the daemon relies on.

    `sqlite_foreign_keys=False` is for migrations only: SQLite batch migrations rebuild tables, and a
    DROP TABLE with foreign keys enforced would cascade or fail (migrations check integrity afterwards).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = files.sqlite_path(parsed)
        if path is not None and path.parent.is_dir():
            files.create(path)  # private (0600) before SQLite makes it (its -wal/-shm files follow its mode)
        engine = sa.create_engine(
            parsed,
            echo=echo,
            json_serializer=json_dumps,
            connect_args={"timeout": sqlite.BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
        return engine
    return sa.create_engine(parsed, echo=echo, json_serializer=json_dumps, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        sqlite.configure(dbapi_connection, foreign_keys=foreign_keys)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A reader (`reading()`): a deferred BEGIN reads WAL's last committed snapshot and never waits
            # for a writer, however long its transaction (a 50k-row import).
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front, so a second writer (the heartbeat thread, another process)
        # waits for it under busy_timeout. A deferred BEGIN that read first and then wanted to write would be
        # refused at once with "database is locked", which no timeout can help.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    # expire_on_commit=False: objects stay readable after commit (the daemon passes them on).
    return sessionmaker(bind=engine, expire_on_commit=False)


READ_ONLY = "tlh_read_only"  # execution option: a read transaction (deferred BEGIN on SQLite)


def for_reading(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions only read: on SQLite they begin deferred, so they never
    wait for a writer (WAL); on PostgreSQL nothing changes (MVCC readers never wait anyway)."""
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads only (listings, health, status): never waits for a writer."""
    from sqlalchemy.orm import Session

    with Session(for_reading(engine), expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """`reading` without the ORM: a Core connection in a read transaction, for queries on the tables of
    daemon.store.tables (what the read-only commands do: importing the ORM would cost them more than the
    reading)."""
    with for_reading(engine).connect() as connection, connection.begin():
        yield connection


def connection_of(reader: Session | Connection) -> Connection:
    """The Core connection of a session (its transaction) or the connection itself: the read queries take
    either. A session's pending changes are flushed first, as a query through the session would."""
    if isinstance(reader, Connection):
        return reader
    if reader.autoflush:
        reader.flush()
    return reader.connection()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """`transaction` without the ORM: a Core connection in one write transaction, committed if the block
    succeeds, rolled back on any exception (an import: loading the ORM would cost it more than its rows)."""
    with engine.begin() as connection:
        yield connection


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed if the block succeeds, rolled back on any exception."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
