"""Exact amounts as the store keeps them: the canonical Decimal both databases hand back and the digits
SQLite stores. No SQLAlchemy here: `daemon.store.types` (the column types) and `daemon.store.sql` (the
store's SQL without SQLAlchemy) both use these functions, so both paths store and read the same values."""

from __future__ import annotations

import re
from decimal import Context, Decimal, DecimalException, InvalidOperation, Rounded
from typing import Any

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


# Normalizing never rounds a value the column can hold (38 digits); a longer one raises Rounded and takes
# the exact path.
_NORMALIZE = Context(prec=60, traps=[Rounded]).normalize
# Normalized text that needs the exact path: NaN or Infinity (letters), more than 12 decimals.
_LETTERS = re.compile(r"[^-+.\dE\n]")
_LONG_FRACTION = re.compile(r"\.\d{13}")


def canonical_texts(values: list[Any]) -> list[str | None]:
    """`[canonical_text(v) for v in values]` (None stays None), a column at a time: the normalized
    Decimals' text is already canonical except for exponent notation (1.5E+3), fixed one by one; a column
    with anything unusual goes value by value, with canonical_text's checks and errors."""
    if set(map(type, values)) != {Decimal}:
        return [None if v is None else canonical_text(v) for v in values]
    try:
        texts = list(map(str, map(_NORMALIZE, values)))
    except DecimalException:
        return list(map(canonical_text, values))
    blob = "\n".join(texts)
    # 27 characters or more may be 27 integer digits (too large); "-0" must be "0".
    if (max(map(len, texts)) >= 27 or _LETTERS.search(blob) or _LONG_FRACTION.search(blob)
            or f"\n{blob}\n".find("\n-0\n") >= 0):
        return list(map(canonical_text, values))
    if "E" in blob:
        texts = [canonical_text(v) if "E" in t else t for t, v in zip(texts, values, strict=True)]
    return texts  # type: ignore[return-value]
