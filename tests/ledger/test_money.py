"""The ledger's Decimal helpers: `add` / `subtract` / `prorate` give exactly what plain arithmetic gives (value,
exponent and sign, so the records print the same), sharing an operand only when it is that very number."""

from decimal import Decimal

import pytest

from daemon.ledger.money import CONTEXT, QUANTUM, add, prorate, subtract

D = Decimal
CASES = [
    (D("0"), D("25.1796")), (D("25.1796"), D("0")), (D("0E-12"), D("3")), (D("3"), D("0E-12")),
    (D("1E+2"), D("0")), (D("0"), D("1E+2")), (D("-0"), D("0")), (D("0"), D("-0")), (D("-0"), D("-0")),
    (D("0E-12"), D("0")), (D("0"), D("0E-12")), (D("1.50"), D("2.5")), (D("-1.5"), D("0.00")),
]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_add_and_subtract_are_plain_arithmetic(a: Decimal, b: Decimal) -> None:
    assert repr(add(a, b)) == repr(a + b)
    assert repr(subtract(a, b)) == repr(a - b)


def test_a_zero_operand_shares_the_other_when_nothing_changes() -> None:
    shares = D("25.1796")
    assert add(D(0), shares) is shares
    assert add(shares, D(0)) is shares
    assert subtract(shares, D(0)) is shares
    assert repr(add(D("1E+2"), D(0))) == "Decimal('100')"  # not the same digits: a new record


@pytest.mark.parametrize("total", [D("0"), D("-0"), D("0E-3"), D("12.345"), D("-7")])
@pytest.mark.parametrize(("part", "whole"), [(D("1"), D("3")), (D("2.5"), D("2.5")), (D("-1"), D("4"))])
def test_prorate_of_a_zero_is_the_quantized_product(total: Decimal, part: Decimal, whole: Decimal) -> None:
    expected = total if part == whole else CONTEXT.divide(CONTEXT.multiply(total, part), whole).quantize(
        QUANTUM, None, CONTEXT)
    assert repr(prorate(total, part, whole)) == repr(expected)
