"""Alembic environment: the schema is daemon.store.models; the entry points are in daemon.store.migrate."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context

from daemon.store.autogen import autogenerate_options
from daemon.store.db import make_engine, normalize_url
from daemon.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use daemon.store.migrate.alembic_config(url)")
    return normalize_url(url).render_as_string(hide_password=False)


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=target_metadata, **autogenerate_options(), **kwargs)


def run_migrations_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller (a test) handing us its own connection
        _run_online(connection)
        return
    # Foreign keys off on SQLite during migrations: batch mode rebuilds tables (drop + rename).
    engine = make_engine(_url(), sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run_online(connection)
            if connection.dialect.name == "sqlite":
                _check_foreign_keys(connection)
    finally:
        engine.dispose()


def _run_online(connection: sa.Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _check_foreign_keys(connection: sa.Connection) -> None:
    # What SQLite did not enforce during the migration, verify once it is done.
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.rollback()
    if problems:
        raise RuntimeError(f"foreign key violations after migration: {problems[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
