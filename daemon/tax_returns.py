"""Each return's Schedule D figures, year by year, from the ledger's dispositions and the configuration: what
`tlh gains --summary` prints and `tlh report` shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from daemon.config import taxpayers
from daemon.config.models import Settings
from daemon.ledger import LedgerState, Trade, gains
from daemon.ledger import form_8949 as form
from daemon.ledger.money import cents
from daemon.ledger.tax_years import TaxYear, tax_years
from daemon.ledger.types import Disposition
from daemon.views import F8949_1099B_COLUMNS

SUMMARY_COLUMNS = ["taxpayer", "year", "carryforward_in_short", "carryforward_in_long", "short_term_net",
                   "long_term_net", "net", "ordinary_income_offset", "carryforward_short", "carryforward_long",
                   "disallowed", "permanently_disallowed"]


def schedule(settings: Settings, dispositions: Iterable[Disposition], through: int | None = None) -> list[TaxYear]:
    """Every return's years, from its first year (of sales or of the prior carry-forward) to its last year
    of sales or `through`; ordered by household, return, year."""
    by_account = taxpayers.returns_by_account(settings)
    rows = gains.rows(sorted(dispositions, key=lambda d: (d.sold, d.seq)))
    results = gains.returns_by_year(rows, {a: r.id for a, r in by_account.items()})
    out: list[TaxYear] = []
    for ret in taxpayers.returns(settings):
        years = results.get(ret.id, {})
        prior = taxpayers.prior_carryforward(settings, ret, min(years) if years else through)
        out += tax_years(years, offset_limit=ret.offset_limit, prior=prior, through=through if years or prior
                         else None, taxpayer=ret.id)
    return out


def provisional_years(settings: Settings, years: Iterable[int], today: date) -> set[int]:
    """Years whose figures can still change: until 30 days after the year's last trading day, a purchase can
    wash one of its December losses."""
    from daemon import market_calendar

    out = set()
    for year in set(years):
        if today > date(year, 12, 31) + timedelta(days=30):
            continue  # past any last trading day's 30 days: no calendar needed (it loads pandas)
        try:
            days = market_calendar.sessions(date(year, 12, 1), date(year, 12, 31), settings.schedule.calendar)
            last = days[-1].day if days else date(year, 12, 31)
        except Exception:  # noqa: BLE001 - beyond the calendar's range: the year's last day
            last = date(year, 12, 31)
        if today <= last + timedelta(days=30):
            out.add(year)
    return out


def summary_dict(y: TaxYear) -> dict[str, Any]:
    """The JSON contract of `tlh gains --summary --format json`, one object per return and year."""
    out: dict[str, Any] = {"taxpayer": y.taxpayer, "year": y.year}
    for key in ("short_term_net", "long_term_net", "net", "ordinary_income_offset", "carryforward_short",
                "carryforward_long", "disallowed", "permanently_disallowed", "carryforward_in_short",
                "carryforward_in_long"):
        out[key] = cents(getattr(y, key))
    return out


def returns_of(settings: Settings, taxpayer: str) -> set[str] | None:
    """The accounts whose sales go on `taxpayer`'s forms: a return id, or an owner's name (a joint
    return's owner: only that owner's accounts). None when no return or owner has that name."""
    by_account = taxpayers.returns_by_account(settings)
    accounts = {a for a, r in by_account.items() if r.id == taxpayer}
    if not accounts:
        accounts = {a.id for a in settings.accounts if (a.owner or a.household) == taxpayer}
    return accounts or None


def taxpayer_names(settings: Settings) -> list[str]:
    names = {r.id for r in taxpayers.returns(settings)} | {a.owner or a.household for a in settings.accounts}
    return sorted(names)


def form_8949(settings: Settings, states: Iterable[LedgerState], trades: Iterable[Trade], year: int | None,
              accounts: set[str] | None) -> list[form.Line]:
    """The Form 8949 lines of the year's sales (of `accounts`, or all), against each broker's 1099-B."""
    from daemon.bookkeeping import ledger_accounts

    ledger = ledger_accounts(settings)
    dispositions = [d for s in states for d in s.dispositions
                    if (year is None or d.sold.year == year) and (accounts is None or d.account in accounts)]
    rows = gains.rows(sorted(dispositions, key=lambda d: (d.sold, d.seq)))
    reporting = {a.id: form.Reporting.NONE if a.basis_reported == "none" else
                 form.Reporting.COVERED if a.basis_reported else form.Reporting.NO_BASIS
                 for a in settings.accounts}
    funds = frozenset(s for g in settings.identical for s in g.symbols)
    funds |= frozenset(m for c in settings.asset_classes for m in c.members)
    return form.lines(rows, form.broker_view(trades, ledger), reporting, funds)


F8949_COLUMNS = F8949_1099B_COLUMNS


def form_8949_rows(lines: list[form.Line]) -> list[dict[str, Any]]:
    """The lines as the form's columns, each box closed by its totals (the sums of its lines)."""
    out: list[dict[str, Any]] = []
    for total in form.totals(lines):
        for x in (x for x in lines if x.box == total.box):
            out.append({"part": x.part, "box": x.box, "(a) description": x.description,
                        "(b) date acquired": x.acquired, "(c) date sold": x.sold, "(d) proceeds": x.proceeds,
                        "(e) cost basis": x.basis, "(f) code": x.code,
                        "(g) adjustment": x.adjustment if x.adjustment or x.code else "",
                        "(h) gain or loss": x.gain, "account": x.account,
                        "covered": "yes" if x.covered else "no", "our basis": x.our_basis,
                        "1099-B basis": "" if x.reported_basis is None else x.reported_basis})
        out.append({"part": total.part, "box": total.box, "(a) description": f"Totals, box {total.box}",
                    "(d) proceeds": total.proceeds, "(e) cost basis": total.basis,
                    "(g) adjustment": total.adjustment, "(h) gain or loss": total.gain})
    return out
