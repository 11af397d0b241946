"""Column types that keep money exact and timestamps unambiguous on both SQLite and PostgreSQL.

SQLAlchemy's `Numeric` on SQLite goes through a float (SQLite has no decimal type), so `DecimalType` stores
text there and `NUMERIC(38, 12)` on PostgreSQL. Both sides return the same canonical `Decimal` (no
trailing zeros, no exponent for integers) so values read back compare and print identically whichever
database is used.

On SQLite the column is TEXT: do not compare, order or sum `DecimalType` columns in SQL (it would be
text comparison); load the rows and do the arithmetic in Python.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from daemon.store.amounts import PRECISION, SCALE, canonical, canonical_text
from daemon.store.sql import utc_instant

__all__ = ["PRECISION", "SCALE", "DecimalType", "UTCDateTime", "canonical", "canonical_text"]

class DecimalType(TypeDecorator[Decimal]):
    """Exact `Decimal` with up to 12 decimals: TEXT on SQLite, NUMERIC(38, 12) on PostgreSQL."""

    impl = sa.Numeric(PRECISION, SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # TEXT affinity: SQLite keeps the digits as written (NUMERIC affinity would make them REAL).
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(PRECISION, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        text = canonical_text(value)  # plain digits, never scientific notation
        return text if dialect.name == "sqlite" else Decimal(text)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Decimal(value)  # SQLite: written canonical by process_bind_param
        return canonical(value)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def __repr__(self) -> str:  # what a migration file should say
        return "DecimalType()"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored as UTC, returned aware in UTC on both databases.

    Naive datetimes are refused: their meaning depends on the machine's clock settings.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        utc = utc_instant(value)  # the checks and the conversion daemon.store.sql's plain path makes too
        # SQLite's DATETIME text has no offset: store naive UTC and re-attach UTC when reading.
        return utc.replace(tzinfo=None) if utc is not None and dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)  # PostgreSQL answers in the session's time zone

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def __repr__(self) -> str:
        return "UTCDateTime()"
