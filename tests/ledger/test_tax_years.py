"""Tax years and returns: the carry-forward chain (capital loss carryover worksheet), the prior
carry-forward's own year, and which return each account's results go on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.ledger.tax_years import Carryforward, Filing, TaxYear, YearResults, tax_returns, tax_years


def D(x: object) -> Decimal:  # noqa: N802
    return Decimal(str(x))


def _figures(y: TaxYear) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]:
    return (y.year, y.short_term_net, y.long_term_net, y.net, y.ordinary_income_offset, y.carryforward_short,
            y.carryforward_long)


def test_issue_example_carries_a_short_loss_into_a_long_gain_year() -> None:
    y22, y23 = tax_years({2022: YearResults(short_term=D(-9999)), 2023: YearResults(long_term=D(2000))})
    assert _figures(y22) == (2022, D(-9999), D(0), D(-9999), D(3000), D(6999), D(0))
    assert _figures(y23) == (2023, D(-6999), D(2000), D(-4999), D(3000), D(1999), D(0))
    assert (y23.carryforward_in_short, y23.carryforward_in_long) == (D(6999), D(0))


def test_three_years_with_both_characters() -> None:
    chain = tax_years({2022: YearResults(short_term=D(-9999), long_term=D(-5000)),
                       2023: YearResults(long_term=D(2000)), 2024: YearResults(short_term=D(1000))})
    assert [_figures(y) for y in chain] == [
        (2022, D(-9999), D(-5000), D(-14999), D(3000), D(6999), D(5000)),
        (2023, D(-6999), D(-3000), D(-9999), D(3000), D(3999), D(3000)),   # the long gain absorbs long first
        (2024, D(-2999), D(-3000), D(-5999), D(3000), D(0), D(2999)),     # the offset takes short first
    ]
    assert [(y.carryforward_in_short, y.carryforward_in_long) for y in chain] == [
        (D(0), D(0)), (D(6999), D(5000)), (D(3999), D(3000))]


def test_a_year_without_sales_still_uses_the_offset_and_carries_the_rest() -> None:
    chain = tax_years({2022: YearResults(short_term=D(-10000))}, through=2025)
    assert [(y.year, y.ordinary_income_offset, y.carryforward_short) for y in chain] == [
        (2022, D(3000), D(7000)), (2023, D(3000), D(4000)), (2024, D(3000), D(1000)), (2025, D(1000), D(0))]


def test_gain_years_use_up_the_carry_forward() -> None:
    y22, y23 = tax_years({2022: YearResults(short_term=D(-5000)), 2023: YearResults(short_term=D(5000))})
    assert (y23.net, y23.ordinary_income_offset, y23.carryforward_short) == (D(3000), D(0), D(0))


def test_prior_carry_forward_belongs_to_its_year_only() -> None:
    results = {2023: YearResults(short_term=D(-1000)), 2024: YearResults(short_term=D(500))}
    y23, y24 = tax_years(results, prior=Carryforward(2023, D(4000), D(2500)))
    assert (y23.carryforward_in_short, y23.carryforward_in_long, y23.net) == (D(4000), D(2500), D(-7500))
    assert (y23.carryforward_short, y23.carryforward_long) == (D(2000), D(2500))
    assert (y24.carryforward_in_short, y24.carryforward_in_long) == (D(2000), D(2500))
    # named for a later year: nothing is carried into the earlier one
    y23, y24 = tax_years(results, prior=Carryforward(2024, D(4000)))
    assert y23.carryforward_in_short == 0 and y24.carryforward_in_short == D(4000) + y23.carryforward_short


def test_separate_limit_is_1500() -> None:
    (y,) = tax_years({2024: YearResults(short_term=D(-5000))}, offset_limit=D(1500))
    assert (y.ordinary_income_offset, y.carryforward_short) == (D(1500), D(3500))


@pytest.mark.parametrize(("filing", "expected"), [
    (Filing.JOINT, {"a1": "h", "a2": "h", "b1": "h"}),
    (Filing.SEPARATE, {"a1": "ann", "a2": "ann", "b1": "bob"}),
])
def test_returns_of_a_married_household(filing: Filing, expected: dict[str, str]) -> None:
    owners = {"a1": ("h", "ann"), "a2": ("h", "ann"), "b1": ("h", "bob"), "g1": ("g", "g")}
    returns = tax_returns(owners, {"h": filing})
    assert {a: r.id for a, r in returns.items() if a != "g1"} == expected
    assert returns["g1"].id == "g" and returns["g1"].offset_limit == D(3000)  # another household, its own
    limits = {r.offset_limit for a, r in returns.items() if a != "g1"}
    assert limits == ({D(1500)} if filing is Filing.SEPARATE else {D(3000)})
