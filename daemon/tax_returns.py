"""Each return's Schedule D figures, year by year, from the ledger's dispositions and the configuration: what
`tlh gains --summary` prints and `tlh report` shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from daemon.config import taxpayers
from daemon.config.models import Settings
from daemon.ledger import gains
from daemon.ledger.money import cents
from daemon.ledger.tax_years import TaxYear, tax_years
from daemon.ledger.types import Disposition

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


def summary_dict(y: TaxYear) -> dict[str, Any]:
    """The JSON contract of `tlh gains --summary --format json`, one object per return and year."""
    out: dict[str, Any] = {"taxpayer": y.taxpayer, "year": y.year}
    for key in ("short_term_net", "long_term_net", "net", "ordinary_income_offset", "carryforward_short",
                "carryforward_long", "disallowed", "permanently_disallowed", "carryforward_in_short",
                "carryforward_in_long"):
        out[key] = cents(getattr(y, key))
    return out
