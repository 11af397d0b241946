"""SQLite: a new store is made with 16 KB pages (an import writes a quarter of the pages it would with the
default 4 KB); a store made before keeps the page size it has, and works on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from daemon.store import migrate
from daemon.store.db import make_engine
from daemon.store.sqlite import PAGE_SIZE as SQLITE_PAGE_SIZE


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_new_store_has_large_pages(tmp_path: Path) -> None:
    path = tmp_path / "tlh.db"
    migrate.upgrade(f"sqlite:///{path}")
    assert _pragma(path, "page_size") == SQLITE_PAGE_SIZE == 16_384
    assert _pragma(path, "journal_mode") == "wal"


def test_an_existing_store_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:  # made before: SQLite's default pages, in WAL mode
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE kept (x INTEGER)")
        connection.execute("INSERT INTO kept VALUES (1)")
    before = _pragma(path, "page_size")
    assert before != SQLITE_PAGE_SIZE
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO kept VALUES (2)"))
            assert connection.execute(sa.text("SELECT sum(x) FROM kept")).scalar() == 3
    finally:
        engine.dispose()
    assert _pragma(path, "page_size") == before
    assert migrate.current(f"sqlite:///{path}") == migrate.head()
