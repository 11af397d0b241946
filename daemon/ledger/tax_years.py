"""Tax years and returns: each return's Schedule D figures, year after year.

A household is the wash-sale scope; the returns inside it are what the IRS nets. A joint household files one
return for all its owners; a household filing separately files one return per owner (each with a $1,500
ordinary-income limit); single filers file one return each. A year's net capital loss beyond the
ordinary-income offset carries into the next year keeping its character (Schedule D's capital loss carryover
worksheet), and a configured prior carry-forward belongs to the one year it is carried into.

**Policy**: the ordinary income is assumed large enough to absorb the whole offset (worksheet line 1 is
never the limit); a year with a carry-in but no sales still uses the offset and carries the rest on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from daemon.ledger.types import ZERO

JOINT_LIMIT = Decimal(3000)
SEPARATE_LIMIT = Decimal(1500)


class Filing(enum.StrEnum):
    JOINT = "joint"
    SEPARATE = "separate"
    SINGLE = "single"


@dataclass(frozen=True, slots=True)
class TaxReturn:
    """One return: `id` is the household id for a joint return, else the owner's name."""

    id: str
    household: str
    filing: Filing
    owners: tuple[str, ...]
    offset_limit: Decimal


def tax_returns(owners: Mapping[str, tuple[str, str]], filing: Mapping[str, Filing],
                offset_limit: Decimal = JOINT_LIMIT) -> dict[str, TaxReturn]:
    """The return each account's results go on: `owners` maps account id -> (household, owner name).

    `offset_limit` is the joint/single limit; separate returns get at most $1,500 each.
    """
    by_household: dict[str, set[str]] = {}
    for household, owner in owners.values():
        by_household.setdefault(household, set()).add(owner)
    made: dict[tuple[str, str], TaxReturn] = {}
    for household, names in by_household.items():
        kind = filing.get(household, Filing.JOINT)
        if kind is Filing.JOINT:
            made[(household, "")] = TaxReturn(household, household, kind, tuple(sorted(names)), offset_limit)
        else:
            limit = min(offset_limit, SEPARATE_LIMIT) if kind is Filing.SEPARATE else offset_limit
            for name in names:
                made[(household, name)] = TaxReturn(name, household, kind, (name,), limit)
    out: dict[str, TaxReturn] = {}
    for account, (household, owner) in owners.items():
        joint = made.get((household, ""))
        out[account] = joint if joint is not None else made[(household, owner)]
    return out


@dataclass(frozen=True, slots=True)
class YearResults:
    """One return's realized results of one year (the sums of its Form 8949 rows, gains positive)."""

    short_term: Decimal = ZERO
    long_term: Decimal = ZERO
    disallowed: Decimal = ZERO  # wash-sale adjustments on the year's sales
    permanently_disallowed: Decimal = ZERO  # the part no lot's basis received (IRA replacements)

    def __add__(self, other: YearResults) -> YearResults:
        return YearResults(self.short_term + other.short_term, self.long_term + other.long_term,
                           self.disallowed + other.disallowed,
                           self.permanently_disallowed + other.permanently_disallowed)


@dataclass(frozen=True, slots=True)
class Carryforward:
    """A capital-loss carry-forward into `year` (from returns before the ledger's history)."""

    year: int
    short: Decimal = ZERO
    long: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class TaxYear:
    """Schedule D for one return and year. The nets include the carry-in (lines 6 and 14)."""

    taxpayer: str
    year: int
    short_term_net: Decimal
    long_term_net: Decimal
    net: Decimal
    ordinary_income_offset: Decimal
    carryforward_short: Decimal  # into the next year
    carryforward_long: Decimal
    carryforward_in_short: Decimal  # from the year before (or the configured prior carry-forward)
    carryforward_in_long: Decimal
    disallowed: Decimal
    permanently_disallowed: Decimal


def schedule_d(year: int, results: YearResults, carry_in: Carryforward, offset_limit: Decimal,
               taxpayer: str = "") -> TaxYear:
    """Net one year: prior carry-forwards join their own term; a net loss offsets up to `offset_limit` of
    ordinary income, and the rest carries forward keeping its character (the carryover worksheet: the
    offset uses short-term losses first; a gain in one term absorbs a loss in the other)."""
    st = results.short_term - carry_in.short
    lt = results.long_term - carry_in.long
    net = st + lt
    offset = min(-net, offset_limit) if net < 0 else ZERO
    st_loss, lt_loss = max(-st, ZERO), max(-lt, ZERO)
    st_gain, lt_gain = max(st, ZERO), max(lt, ZERO)
    cf_short = max(st_loss - (offset + lt_gain), ZERO) if net < 0 else ZERO
    cf_long = max(lt_loss - (st_gain + max(offset - st_loss, ZERO)), ZERO) if net < 0 else ZERO
    return TaxYear(taxpayer=taxpayer, year=year, short_term_net=st, long_term_net=lt, net=net,
                   ordinary_income_offset=offset, carryforward_short=cf_short, carryforward_long=cf_long,
                   carryforward_in_short=carry_in.short, carryforward_in_long=carry_in.long,
                   disallowed=results.disallowed, permanently_disallowed=results.permanently_disallowed)


def tax_years(results: Mapping[int, YearResults], *, offset_limit: Decimal = JOINT_LIMIT,
              prior: Carryforward | None = None, through: int | None = None, taxpayer: str = "") -> list[TaxYear]:
    """Every year of one return from its first year (of sales, or the prior carry-forward's) to the last
    year with sales or `through`, each year's carry-forward carried into the next."""
    years = set(results) | ({prior.year} if prior else set())
    if not years:
        return []
    last = max(years if through is None else years | {through})
    out: list[TaxYear] = []
    carry = Carryforward(min(years))
    for year in range(min(years), last + 1):
        carry_in = Carryforward(year, carry.short, carry.long)
        if prior is not None and prior.year == year:
            carry_in = Carryforward(year, carry_in.short + prior.short, carry_in.long + prior.long)
        row = schedule_d(year, results.get(year, YearResults()), carry_in, offset_limit, taxpayer)
        out.append(row)
        carry = Carryforward(year + 1, row.carryforward_short, row.carryforward_long)
    return out


def by_year(items: Iterable[tuple[int, YearResults]]) -> dict[int, YearResults]:
    out: dict[int, YearResults] = {}
    for year, r in items:
        out[year] = out.get(year, YearResults()) + r
    return out
