"""Persistence: SQLAlchemy models, column types, engines, Alembic migrations, ledger repository."""
