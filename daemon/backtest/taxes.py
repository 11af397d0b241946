"""A year's capital-gains tax from the ledger's gain rows, and the after-tax value at the end.

- `outside_gains`: the portfolio's net short-term and long-term results are taxed (a net loss: saved) each at
  its own rate, as if the household had enough gains elsewhere to absorb any loss in the same year.
- `limited`: IRS Schedule D through `daemon.ledger.gains.summarize`: terms net against each other, a net loss
  offsets up to $3,000 of ordinary income (at `ordinary_rate`) and the rest carries forward by character.
Rates include the NIIT and the state rate (as the engine's benefit estimate does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from daemon.backtest.portfolio import Taxes
from daemon.ledger.gains import GainRow, summarize
from daemon.ledger.types import ZERO, Term


@dataclass(frozen=True, slots=True)
class Carry:
    short: Decimal = ZERO
    long: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class YearTax:
    short_net: Decimal  # the year's own net results (gains positive), before any carry-forward
    long_net: Decimal
    tax: Decimal  # negative: a saving (credited)
    carry: Carry  # what carries into the next year


def rates(taxes: Taxes) -> tuple[Decimal, Decimal]:
    extra = taxes.niit_rate + taxes.state_rate
    return taxes.short_term_rate + extra, taxes.long_term_rate + extra


def year_tax(gain_rows: Iterable[GainRow], carry: Carry, taxes: Taxes) -> YearTax:
    gain_rows = list(gain_rows)
    short = sum((r.gain for r in gain_rows if r.term is Term.SHORT), ZERO)
    long = sum((r.gain for r in gain_rows if r.term is Term.LONG), ZERO)
    r_short, r_long = rates(taxes)
    if taxes.losses == "outside_gains":
        return YearTax(short, long, short * r_short + long * r_long, carry)
    s = summarize(gain_rows, offset_limit=taxes.ordinary_income_offset, prior_carryforward_short=carry.short,
                  prior_carryforward_long=carry.long)
    if s.net >= 0:
        if s.short_term_net >= 0 and s.long_term_net >= 0:
            tax = s.short_term_net * r_short + s.long_term_net * r_long
        elif s.short_term_net < 0:  # a short-term loss absorbed part of a long-term gain
            tax = s.net * r_long
        else:
            tax = s.net * r_short
    else:
        tax = -s.ordinary_income_offset * taxes.ordinary
    return YearTax(short, long, tax, Carry(s.carryforward_short, s.carryforward_long))


def initial_carry(taxes: Taxes) -> Carry:
    if taxes.losses == "outside_gains":
        return Carry()
    return Carry(taxes.prior_carryforward_short, taxes.prior_carryforward_long)


def as_long_term(gain_rows: Sequence[GainRow]) -> list[GainRow]:
    return [replace(r, term=Term.LONG) for r in gain_rows]


@dataclass(frozen=True, slots=True)
class Ending:
    """After-tax value at the end under the three liquidation assumptions, and the taxes still owed."""

    held: Decimal  # unrealized gains never taxed (a step-up at death); realized ones are
    liquidated: Decimal  # everything sold at the last close (less the spread) and taxed
    liquidated_st_as_lt: Decimal  # the same, with the liquidation's short-term results at long-term rates
    tax_held: Decimal
    tax_liquidated: Decimal
    tax_liquidated_st_as_lt: Decimal
    carry_unused: Carry  # losses left over when held (worth nothing under that assumption)


def ending(value: Decimal, liquidation_cash: Decimal, earlier: Sequence[Sequence[GainRow]],
           final: Sequence[GainRow], liquidation: Sequence[GainRow], carry: Carry, taxes: Taxes) -> Ending:
    """`value`: holdings at the last close plus cash; `liquidation_cash`: cash plus the liquidation's
    proceeds; `earlier`: rows of earlier years whose tax is not settled yet (oldest first); `final`: the last
    year's rows; `liquidation`: the liquidation's rows (taxed with the last year)."""
    owed = ZERO
    for year_rows in earlier:
        settled = year_tax(year_rows, carry, taxes)
        owed += settled.tax
        carry = settled.carry
    held = year_tax(final, carry, taxes)
    liquidated = year_tax([*final, *liquidation], carry, taxes)
    st_as_lt = year_tax([*final, *as_long_term(liquidation)], carry, taxes)
    return Ending(held=value - owed - held.tax, liquidated=liquidation_cash - owed - liquidated.tax,
                  liquidated_st_as_lt=liquidation_cash - owed - st_as_lt.tax, tax_held=owed + held.tax,
                  tax_liquidated=owed + liquidated.tax, tax_liquidated_st_as_lt=owed + st_as_lt.tax,
                  carry_unused=held.carry)
