"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from daemon.store.autogen import autogenerate_options
from daemon.store.db import make_engine
from daemon.store.migrate import current, head, is_current, upgrade
from daemon.store.models import Base

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _diff(url: str, **options: object) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=options)
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_fresh_database_upgrades_to_head(blank_db_url: str) -> None:
    assert current(blank_db_url) is None
    upgrade(blank_db_url)
    # The head is the newest numbered revision file: one chain, no branches.
    newest = max(p.name[:4] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert current(blank_db_url) == head() == newest
    assert is_current(blank_db_url)
    engine = make_engine(blank_db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_no_difference_between_migrations_and_models(db_url: str) -> None:
    # With the env.py options (TypeDecorator-aware compare) ...
    assert _diff(db_url, **autogenerate_options()) == []
    # ... and with Alembic's plain type comparison: the decorators must not need the hook to match.
    assert _diff(db_url, compare_type=True) == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current(db_url) == head()
    assert _diff(db_url, **autogenerate_options()) == []


def test_explicit_constraint_names(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        uniques = {u["name"] for u in inspector.get_unique_constraints("trades")}
        foreign = {f["name"] for f in inspector.get_foreign_keys("accounts")}
        indexes = {i["name"] for i in inspector.get_indexes("lots")}
    finally:
        engine.dispose()
    assert "uq_trades_source_external_id" in uniques
    assert "fk_accounts_household_id_households" in foreign
    assert "ix_lots_household_id_account_id_symbol" in indexes


def test_foreign_keys_enforced(engine: sa.Engine) -> None:
    # SQLite enforces foreign keys only when asked per connection: make_engine must ask.
    import pytest

    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO accounts (id, household_id, type, broker, lot_method) "
                "VALUES ('a', 'no-such-household', 'taxable', 'paper', 'fifo')"
            )
        )
