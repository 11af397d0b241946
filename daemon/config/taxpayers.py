"""Returns from the configuration: `[[households]]` filing, each account's `owner`, the prior carry-forward.

Without `[[households]]` and `owner` (older configurations) every household is one joint return named
after the household, with `[tax] ordinary_income_offset` as its limit: exactly the figures of before.
"""

from __future__ import annotations

from daemon.config.models import Settings
from daemon.ledger.tax_years import Carryforward, Filing, TaxReturn, tax_returns

MAX_OWNERS = 2  # a household is one taxpayer or a married couple


def owner_of(settings: Settings, account_id: str) -> str:
    account = settings.account(account_id)
    assert account is not None
    return account.owner or account.household


def returns_by_account(settings: Settings) -> dict[str, TaxReturn]:
    filing = {h.id: Filing(h.filing) for h in settings.households}
    owners = {a.id: (a.household, a.owner or a.household) for a in settings.accounts}
    return tax_returns(owners, filing, settings.tax.ordinary_income_offset)


def returns(settings: Settings) -> list[TaxReturn]:
    """Every return once, ordered by household then id."""
    seen = {r.id: r for r in returns_by_account(settings).values()}
    return sorted(seen.values(), key=lambda r: (r.household, r.id))


def prior_carryforward(settings: Settings, tax_return: TaxReturn, first_year: int | None) -> Carryforward | None:
    """`[tax] prior_carryforward_*` for this return: into `prior_carryforward_year` (default `first_year`,
    the first year of the return's sales); None when it is not this return's or is zero."""
    tax = settings.tax
    if not (tax.prior_carryforward_short or tax.prior_carryforward_long):
        return None
    named = tax.prior_carryforward_taxpayer
    if named is not None and named != tax_return.id:
        return None
    year = tax.prior_carryforward_year or first_year
    if year is None:
        return None
    return Carryforward(year, tax.prior_carryforward_short, tax.prior_carryforward_long)


def checks(settings: Settings) -> list[tuple[str, str]]:
    """Problems with households, owners, the prior carry-forward and dividend reinvestment, as (dotted key,
    message)."""
    problems: list[tuple[str, str]] = []
    households = {a.household for a in settings.accounts}
    seen: set[str] = set()
    for i, h in enumerate(settings.households):
        if h.id in seen:
            problems.append((f"households[{i}].id", f"duplicate household {h.id!r}"))
        seen.add(h.id)
        if h.id not in households:
            problems.append((f"households[{i}].id", f"no account has household = {h.id!r}; "
                                                    f"accounts' households: {', '.join(sorted(households))}"))
    filing = {h.id: h.filing for h in settings.households}
    owners: dict[str, list[str]] = {}
    for i, a in enumerate(settings.accounts):
        names = owners.setdefault(a.household, [])
        name = a.owner or a.household
        if name in names:
            continue
        names.append(name)
        if len(names) > MAX_OWNERS:
            problems.append((f"accounts[{i}].owner", f"household {a.household!r} already has two owners "
                                                     f"({', '.join(names[:2])}); a household holds one "
                                                     f"taxpayer or a married couple"))
        elif len(names) > 1 and filing.get(a.household) == "single":
            problems.append((f"accounts[{i}].owner", f"household {a.household!r} files single: its accounts "
                                                     f"have one owner, got {', '.join(names)}"))
    if settings.harvest.dividend_dates is None:
        problems += [(f"accounts[{i}].drip", "reinvests dividends: set [harvest] dividend_dates (a CSV of "
                                             "symbol,ex_date[,pay_date]) so the engine can look ahead")
                     for i, a in enumerate(settings.accounts) if a.drip]
    tax = settings.tax
    if (tax.prior_carryforward_short or tax.prior_carryforward_long) and not problems:
        ids = [r.id for r in returns(settings)]
        named = tax.prior_carryforward_taxpayer
        if named is not None and named not in ids:
            problems.append(("tax.prior_carryforward_taxpayer", f"no such return {named!r}; returns: "
                                                                f"{', '.join(ids)}"))
        elif named is None and len(ids) > 1:
            problems.append(("tax.prior_carryforward_taxpayer", f"required with several returns "
                                                                f"({', '.join(ids)}): name the one the "
                                                                "carry-forward belongs to"))
    return problems
