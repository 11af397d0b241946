"""The report's part on the two tax moves besides harvesting: the lots best given to charity first (per
household, `[giving] report_lots` of them) and the asset-location hints. Both value holdings at the latest
closes of the price file; without one they are left out with a note."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from daemon.config.models import Settings
from daemon.ledger.types import ZERO
from daemon.store.db import reading


@dataclass
class TaxMoves:
    as_of: date | None = None
    giving: list[dict[str, Any]] = field(default_factory=list)  # per household: a Gift's dict of its best lots
    location: dict[str, Any] = field(default_factory=lambda: {"hints": [], "estimated_annual_savings": None,
                                                              "notes": []})


def tax_moves(engine: Engine, settings: Settings, households: list[str], today: date,
              notes: list[str]) -> TaxMoves:
    """As of `today`, or the price file's last day when that is earlier."""
    from daemon.asset_location import location_report
    from daemon.engine.donation import Gift
    from daemon.giving import ranking
    from daemon.prices import PriceFileError
    from daemon.prices import load as load_prices

    path = settings.brokers.paper.prices
    if path is None:
        notes.append("giving and asset location: not shown without a price file ([brokers.paper] prices)")
        return TaxMoves()
    try:
        prices = load_prices(path)
    except PriceFileError as exc:
        notes.append(f"giving and asset location: {exc}")
        return TaxMoves()
    last = prices.last_day()
    if last is None:
        return TaxMoves()
    as_of = min(today, last)
    out = TaxMoves(as_of)
    tax = settings.tax
    rate = tax.long_term_rate + tax.niit_rate + tax.state_rate
    with reading(engine) as session:
        for household in households:
            found = ranking(session, settings, prices, household, as_of)
            best = found.lots[:settings.giving.report_lots]
            gift = Gift(household, as_of, sum((lot.value for lot in best), ZERO), best, rate, found.notes)
            out.giving.append(gift.to_dict())
        out.location = location_report(session, settings, prices, as_of, households).to_dict()
    notes.append(f"giving and asset location: holdings valued at the {as_of} closes")
    return out
