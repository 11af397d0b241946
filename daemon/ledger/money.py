"""Decimal arithmetic for the ledger: one precision, one rounding, totals conserved by construction."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

# The store keeps 12 decimals; every amount the ledger creates is quantized to that.
QUANTUM = Decimal("1e-12")
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)


_multiply, _divide = CONTEXT.multiply, CONTEXT.divide


def q(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, None, CONTEXT)


def prorate(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`total * part / whole`, quantized; exact when `part == whole` so that remainders conserve totals."""
    if part == whole:
        return total
    return _divide(_multiply(total, part), whole).quantize(QUANTUM, None, CONTEXT)


def cents(value: Decimal) -> Decimal:
    """Round to cents for output only."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> Decimal:
    """Trailing zeros dropped, never exponent notation (150, not 1.5E+2)."""
    return Decimal(format(value.normalize(), "f"))
