"""Alembic autogenerate hooks for the store's column types; used by migrations/env.py and the tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.runtime.migration import MigrationContext

from daemon.store.types import DecimalType, UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render the store's column types by their importable names (Alembic would print a module path)."""
    if type_ == "type" and isinstance(obj, DecimalType | UTCDateTime):
        autogen_context.imports.add("from daemon.store.types import DecimalType, UTCDateTime")
        return repr(obj)
    return False  # Alembic's default rendering


def compare_type(
    ctx: MigrationContext,
    inspected_column: Any,
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """Compare a TypeDecorator by what it becomes on this database (TEXT on SQLite, NUMERIC(38,12) on
    PostgreSQL), so a decorator never shows up as a difference from its own reflected column."""
    if isinstance(metadata_type, sa.types.TypeDecorator):
        compiler = ctx.dialect.type_compiler_instance
        wanted = compiler.process(metadata_type.load_dialect_impl(ctx.dialect))
        if _normalize(wanted) == _normalize(compiler.process(inspected_type)):
            return False
    return None  # Alembic's own comparison decides


def _normalize(sql_type: str) -> str:
    return " ".join(sql_type.lower().replace(", ", ",").split())


def autogenerate_options() -> dict[str, Any]:
    """The options every MigrationContext for this schema is configured with."""
    return {"compare_type": compare_type, "render_item": render_item}
