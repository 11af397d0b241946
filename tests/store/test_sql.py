"""The ledger's plain SQL (daemon.store.sql): a SQLite file written and read without SQLAlchemy holds exactly
what the same bookkeeping writes through a SQLAlchemy engine, the plain table descriptions are the schema's,
and a failed write leaves the file as it was."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers import csv_actions
from daemon.importers.csv_trades import parse
from daemon.store import bulk, ledger_repo, ledger_tables, sql, sqlite, tables
from daemon.store.db import make_engine
from daemon.store.migrate import upgrade
from daemon.store.types import DecimalType, UTCDateTime

SETTINGS = Settings.model_validate({
    "accounts": [
        {"id": "tax", "household": "h", "type": "taxable"},
        {"id": "ira", "household": "h", "type": "roth_ira", "basis_reported": "none"},
        {"id": "solo", "household": "g", "type": "taxable", "lot_method": "hifo"},
    ],
    "identical": [{"symbols": ["VOO", "IVV"]}],
})
ACCOUNTS = {a.id for a in SETTINGS.accounts}
HEADER = "date,account,symbol,side,quantity,price,fees,lot_id,time\n"
FIRST = ["2024-01-02,tax,VOO,buy,10,400,,a,10:31:02", "2024-01-03,solo,VOO,buy,5,400.125,,,",
         "2024-02-01,tax,VOO,buy,5,390,,b,", "2024-03-01,tax,VOO,sell,10,350,1.5,a,15:59:59"]
THEN = ["2024-03-05,ira,IVV,buy,4,351,,,", "2024-03-20,tax,IVV,buy,3.5,352,,c,",
        "2024-04-15,tax,VOO,sell,5,340,,b,", "2024-05-01,tax,IVV,reinvest,0.25,360,,,"]
BACKDATED = ["2024-02-15,solo,VOO,sell,2,380,,,"]  # before the ledger's last date: a recomputation
SPLIT = "date,symbol,action,ratio,new_symbol,cash_per_share,basis_fraction\n2024-06-03,IVV,split,2,,,\n"
LEDGER = ("households", "accounts", "trades", "corporate_actions", "lots", "dispositions", "wash_matches",
          "ledger_states")


def _imports(tmp_path: Path) -> list[list[Any]]:
    actions = tmp_path / "split.csv"
    actions.write_text(SPLIT)
    return [parse(HEADER + "\n".join(FIRST) + "\n", "a.csv", ACCOUNTS),
            parse(HEADER + "\n".join(THEN) + "\n", "b.csv", ACCOUNTS),
            csv_actions.read(actions, ACCOUNTS),
            parse(HEADER + "\n".join(BACKDATED) + "\n", "c.csv", ACCOUNTS)]


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every ledger table's rows as SQLAlchemy reads them (typed), but the import time stamps."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            out = {}
            for name in LEDGER:
                table = tables.metadata.tables[name]
                columns = [c for c in table.c if c.name != "imported_at"]
                out[name] = sorted(tuple(row) for row in connection.execute(sa.select(*columns)))
            return out
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", [t.upper() for t in LEDGER])
def test_the_plain_descriptions_are_the_schemas(name: str) -> None:
    assert ledger_tables.__dict__[name] == tables.plain(tables.__dict__[name])


@pytest.mark.parametrize("url", ["sqlite:///tlh.db", "sqlite:////var/lib/tlh/tlh.db", "sqlite:///a%20b/c.db",
                                 "sqlite+pysqlite:///x.db", "sqlite://", "sqlite:///:memory:",
                                 "sqlite:///x.db?timeout=3", "sqlite:///file:x.db", "postgresql://h/db",
                                 "sqlite+aiosqlite:///x.db"])
def test_a_plain_file_url_names_the_file_sqlalchemy_opens(url: str) -> None:
    parsed = sa.engine.make_url(url)
    plain = parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "pysqlite" and not parsed.query \
        and parsed.database not in (None, ":memory:") and not parsed.database.startswith("file:")
    assert sqlite.plain_file(url) == (Path(parsed.database) if plain else None)


def test_booking_without_sqlalchemy_stores_what_booking_through_it_stores(tmp_path: Path) -> None:
    urls = {how: f"sqlite:///{tmp_path / how}.db" for how in ("plain", "engine")}
    for url in urls.values():
        upgrade(url)
    engine = make_engine(urls["engine"])
    try:
        for items in _imports(tmp_path):  # first import, an incremental one, a split, a backdated sale
            plain = bookkeeping.book(urls["plain"], SETTINGS, items)
            through = bookkeeping.book(engine, SETTINGS, items)
            assert plain == through
    finally:
        engine.dispose()
    assert plain.recomputed == ("g",)
    stored = _contents(urls["plain"])
    assert stored == _contents(urls["engine"])
    assert len(stored["trades"]) == 9 and len(stored["corporate_actions"]) == 2 and stored["wash_matches"]
    other_engine = make_engine(urls["engine"])
    try:
        with sql.reading(urls["plain"]) as db, sql.reading(other_engine) as other:
            for household in ("g", "h"):
                assert ledger_repo.load_ledger(db, household) == ledger_repo.load_ledger(other, household)
                assert ledger_repo.load_events(db, household) == ledger_repo.load_events(other, household)
            sales = list(ledger_repo.taxable_sales(db, ["g", "h"], 2024, "tax"))
            assert sales and sales == list(ledger_repo.taxable_sales(other, ["g", "h"], 2024, "tax"))
            assert ledger_repo.load_accounts(db) == ledger_repo.load_accounts(other)
    finally:
        other_engine.dispose()


def test_a_failed_write_without_sqlalchemy_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(url)
    first, then = _imports(tmp_path)[:2]
    bookkeeping.book(url, SETTINGS, first)
    before = _contents(url)
    with pytest.raises(RuntimeError, match="crash"), sql.writing(url) as db:
        ledger_repo.add_trades(db, "h", ((i.trade, i.source, i.external_id) for i in then))
        ledger_repo.save_ledger(db, ledger_repo.load_ledger(db, "h").__class__(household="h"))
        raise RuntimeError("crash")
    assert _contents(url) == before
    assert Path(tmp_path / "tlh.db").stat().st_mode & 0o777 == 0o600


scratch = sa.MetaData()
KINDS = sa.Table("scratch_kinds", scratch, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String, nullable=True), sa.Column("amount", DecimalType(), nullable=True),
                 sa.Column("day", sa.Date, nullable=True), sa.Column("at", UTCDateTime(), nullable=True),
                 sa.Column("clock", sa.Time, nullable=True), sa.Column("flag", sa.Boolean, nullable=True),
                 sa.Column("doc", sa.JSON(none_as_null=True), nullable=True),
                 sa.Column("doc_null", sa.JSON, nullable=True))
SAME = KINDS.to_metadata(scratch, name="scratch_kinds_plain")


def _rows() -> list[dict[str, Any]]:
    eastern = timezone(timedelta(hours=-5))
    return [{"id": i, "name": [None, "x", "é'\"\t"][i % 3], "amount": [None, Decimal("1E+3"), Decimal("-0.50")][i % 3],
             "day": [None, date(2024, 2, 29), date(1999, 12, 31)][i % 3],
             "at": [None, datetime(2026, 11, 28, 9, 30, tzinfo=eastern),
                    datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)][i % 3],
             "clock": [None, time(15, 59, 59), time(9, 30, 0, 250_000)][i % 3], "flag": [None, True, False][i % 3],
             "doc": [None, {"a": [1, "b"]}, []][i % 3], "doc_null": [None, {"k": "v"}, 0][i % 3]}
            for i in range(9)]


def test_every_kind_is_stored_as_sqlalchemys_own_insert_stores_it(engine: sa.Engine, tmp_path: Path) -> None:
    """Through a SQLAlchemy connection (SQLite or PostgreSQL) and through a bare SQLite file: the same stored
    values, compared as the database holds them (on SQLite: the very text)."""
    scratch.create_all(engine)
    with engine.begin() as connection:
        bulk.insert(connection, KINDS, _rows())
        connection.execute(sa.insert(SAME), _rows())
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT * FROM scratch_kinds ORDER BY id").all()
        assert stored == connection.exec_driver_sql("SELECT * FROM scratch_kinds_plain ORDER BY id").all()
    if engine.dialect.name != "sqlite":
        return
    path = tmp_path / "bare.db"
    bare = make_engine(f"sqlite:///{path}")
    scratch.create_all(bare)
    bare.dispose()
    with sql.writing(f"sqlite:///{path}") as db:
        bulk.insert(db, KINDS, _rows())
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("SELECT * FROM scratch_kinds ORDER BY id").fetchall() == [tuple(r) for r in stored]
    finally:
        connection.close()


def test_a_ledger_read_back_shares_equal_values(tmp_path: Path) -> None:
    """Account ids, symbols, dates and amounts that repeat down a column are one object each (a 100,000-trade
    ledger read back took three times the memory of the one computed); the records are the same."""
    url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(url)
    rows = [f"2024-01-{d:02d},tax,VOO,buy,1,{400 + d},,," for d in range(2, 30)] + \
        [f"2024-02-{d:02d},tax,VOO,sell,1,390,,," for d in range(1, 20)]
    bookkeeping.book(url, SETTINGS, parse(HEADER + "\n".join(rows) + "\n", "a.csv", ACCOUNTS))
    with sql.reading(url) as db:
        state = ledger_repo.load_ledger(db, "h")
    sales = state.dispositions
    assert len(sales) == 19
    for values in ([d.account for d in sales], [d.symbol for d in sales], [d.quantity for d in sales],
                   [d.proceeds for d in sales], [d.washed_from for d in sales if not d.washed_from]):
        assert len({id(v) for v in values}) == 1, values[:2]
    assert len({id(lot.purchased) for lot in state.lots if lot.purchased.day == 2}) == 1
    assert sorted({lot.symbol for lot in state.lots}) == ["VOO"]
