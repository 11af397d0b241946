"""Shared fixtures: databases migrated to head, on SQLite and on a private PostgreSQL server."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pg


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PostgresServer | str]:
    """A PostgreSQL server for the whole session: an admin URL from TLH_TEST_POSTGRES_URL, else a private
    server started here (skips the PostgreSQL tests when no server binaries are installed)."""
    external = os.environ.get(pg.EXTERNAL_URL_ENV)
    if external:
        yield external
        return
    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as reason:
        print(f"\nskipping PostgreSQL tests: {reason}")
        pytest.skip(str(reason))
    try:
        yield server
    finally:
        server.stop()


_counter = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: pg.PostgresServer | str) -> str:
    """A new, empty PostgreSQL database."""
    if isinstance(pg_server, str):
        return pg.create_database(pg_server, f"tlh_test_{os.getpid()}_{next(_counter)}")
    return pg_server.create_database()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty (never migrated) database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tlh.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db_url(blank_db_url: str) -> str:
    """A new database migrated to head, on each backend."""
    from daemon.store.migrate import upgrade

    upgrade(blank_db_url)
    return blank_db_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """An engine on `db_url`, disposed afterwards (PostgreSQL would otherwise keep connections open)."""
    from daemon.store.db import make_engine

    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
