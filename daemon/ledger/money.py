"""Decimal arithmetic for the ledger: one precision, one rounding, totals conserved by construction."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

# The store keeps 12 decimals; every amount the ledger creates is quantized to that.
QUANTUM = Decimal("1e-12")
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)


_multiply, _divide = CONTEXT.multiply, CONTEXT.divide


def q(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, None, CONTEXT)


_QUANTUM_ZERO = QUANTUM - QUANTUM  # 0E-12: what a positive zero prorates to, one shared record


def prorate(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`total * part / whole`, quantized; exact when `part == whole` so that remainders conserve totals."""
    if part == whole:
        return total
    if not total and not total.is_signed() and part > 0 and whole > 0:
        return _QUANTUM_ZERO  # most lots carry no adjustment: their pieces share one zero (104 bytes each)
    return _divide(_multiply(total, part), whole).quantize(QUANTUM, None, CONTEXT)


# `add` and `subtract` test "the same number to the last digit" inline (they run for every sale): the result,
# equal in value to the operand, has its exponent, and its sign (only a zero result can differ: 0 + -0 is 0).


def add(a: Decimal, b: Decimal) -> Decimal:
    """`a + b`; when one side is zero and the sum is the other side to the last digit, that side itself.

    Decimals are immutable, so sharing one is invisible, and each is 104 bytes: the first wash of a loss
    (washed 0 + shares) or a wash that carries nothing permanent (0 more) keeps no second equal record."""
    result = a + b
    if not b and result.same_quantum(a) and (result or result.is_signed() == a.is_signed()):
        return a
    if not a and result.same_quantum(b) and (result or result.is_signed() == b.is_signed()):
        return b
    return result


def subtract(a: Decimal, b: Decimal) -> Decimal:
    """`a - b`; `a` itself when `b` is zero and the difference is `a` to the last digit, or `b` itself when
    both are zero and the difference is `b` (see `add`)."""
    result = a - b
    if not b:
        if result.same_quantum(a) and (result or result.is_signed() == a.is_signed()):
            return a
        if not a and result.same_quantum(b) and result.is_signed() == b.is_signed():
            return b
    return result


def cents(value: Decimal) -> Decimal:
    """Round to cents for output only."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> Decimal:
    """Trailing zeros dropped, never exponent notation (150, not 1.5E+2)."""
    return Decimal(format(value.normalize(), "f"))
