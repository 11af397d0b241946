"""`tlh location`'s shell: each household's open lots and the latest prices in; the pure engine
(`daemon.engine.location`) says which holdings sit in the wrong kind of account."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from daemon.bookkeeping import ledger_accounts
from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.engine.location import ClassIndex, Holding, LocationReport, hints, holdings
from daemon.giving import quotes_for
from daemon.prices import PriceBook
from daemon.store import ledger_repo


def location_report(session: Session, settings: Settings, prices: PriceBook, as_of: date,
                    households: Iterable[str]) -> LocationReport:
    classes = ClassIndex(settings.location.asset_classes, settings.asset_classes, identical_groups(settings))
    accounts = ledger_accounts(settings)
    held: list[Holding] = []
    notes: list[str] = []
    for household in households:
        state = ledger_repo.load_ledger(session, household)
        found, why = holdings(household, state.open_lots, accounts, quotes_for(state, prices, as_of), classes,
                              as_of)
        held += found
        notes += why
    out = hints(held, settings.tax, settings.location.min_annual_savings_usd, accounts)
    if not settings.location.asset_classes:
        notes.append("the location table is empty ([location] table = \"\"): nothing can be placed")
    return LocationReport(out.hints, out.swaps, tuple(notes))
