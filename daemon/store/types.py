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
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SCALE = 12
PRECISION = 38
QUANTUM = Decimal(1).scaleb(-SCALE)
# Room for 38 significant digits plus slack: quantize must never fail for lack of precision.
_CTX = Context(prec=60)
_LIMIT = Decimal(10) ** (PRECISION - SCALE)


def canonical(value: Decimal) -> Decimal:
    """The one representation both databases hand back: exact value, trailing zeros stripped."""
    if value == 0:
        return Decimal(0)  # also folds -0, which PostgreSQL NUMERIC cannot keep
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=_CTX)  # 100, not 1E+2
    return value.normalize(_CTX)


def _fits_scale(number: Decimal) -> bool:
    try:
        return number.quantize(QUANTUM, context=_CTX) == number
    except InvalidOperation:
        return False


def _checked(value: Any) -> Decimal:
    """Refuse what the column cannot hold exactly instead of letting PostgreSQL round it silently."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        # A float already lost exactness; a str would hide type mistakes in callers.
        raise TypeError(f"DecimalType takes Decimal or int, not {type(value).__name__}: {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"DecimalType cannot store {number}")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    # Fast path (the ledger quantizes to 12 places): only longer digit strings need the exact test,
    # which still accepts e.g. 1.5000000000000 (trailing zeros beyond 12 places).
    if exponent < -SCALE and not _fits_scale(number):
        raise ValueError(f"{number} has more than {SCALE} decimal places; quantize it first")
    if abs(number) >= _LIMIT:
        raise ValueError(f"{number} exceeds NUMERIC({PRECISION}, {SCALE})")
    return canonical(number)


def canonical_text(value: Any) -> str:
    """`format(_checked(value), "f")`, the digits SQLite stores, computed on the text (several times faster:
    every amount of a bulk import goes through here). Same checks, same errors."""
    if value.__class__ is not Decimal:
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"DecimalType takes Decimal or int, not {type(value).__name__}: {value!r}")
        value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"DecimalType cannot store {value}")
    text = format(value, "f")
    whole, point, fraction = text.partition(".")
    if point:
        fraction = fraction.rstrip("0")
        if len(fraction) > SCALE:
            raise ValueError(f"{value} has more than {SCALE} decimal places; quantize it first")
        text = f"{whole}.{fraction}" if fraction else whole
    if len(whole) - whole.startswith("-") > PRECISION - SCALE:  # |value| >= 10**26: 27 digits or more
        raise ValueError(f"{value} exceeds NUMERIC({PRECISION}, {SCALE})")
    return "0" if text == "-0" else text


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
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"UTCDateTime needs a timezone-aware datetime, got naive {value!r}")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset: store naive UTC and re-attach UTC when reading.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

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
