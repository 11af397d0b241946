"""The report as plain dicts (JSON, tables): money rounded to cents here only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from daemon.ledger.money import cents
from daemon.ledger.types import Term
from daemon.report.data import AccountReport, Figures, HouseholdReport, Report, rates
from daemon.tax_returns import summary_dict

FIGURE_COLUMNS = ["harvested_short", "harvested_long", "harvested", "tax_saved", "realized_short",
                  "realized_long", "disallowed_deferred", "disallowed_permanent"]
ACCOUNT_COLUMNS = ["account", "household", "type", "broker", *FIGURE_COLUMNS, "cash", "cash_pct", "excess_cash"]
HOUSEHOLD_COLUMNS = ["household", *FIGURE_COLUMNS, "ordinary_income_offset", "carryforward_short",
                     "carryforward_long"]
LABELS = {
    "harvested_short": "Harvested short-term loss", "harvested_long": "Harvested long-term loss",
    "harvested": "Harvested loss", "tax_saved": "Estimated tax saved",
    "realized_short": "Realized short-term gain", "realized_long": "Realized long-term gain",
    "disallowed_deferred": "Disallowed (deferred)", "disallowed_permanent": "Disallowed (permanent)",
    "ordinary_income_offset": "Deducted from ordinary income", "carryforward_short": "Carry-forward short",
    "carryforward_long": "Carry-forward long",
    "carryforward_in_short": "Carried in short", "carryforward_in_long": "Carried in long",
    "short_term_net": "Short-term net", "long_term_net": "Long-term net", "net": "Net",
    "cash": "Cash", "cash_pct": "Cash %", "excess_cash": "Cash drag",
    # giving and asset location (money columns)
    "price": "Price", "value": "Value", "cost_basis": "Cost basis", "gain": "Gain",
    "annual_tax_drag": "Tax drag a year", "estimated_annual_savings": "Saving a year",
}


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else (value * 100).quantize(Decimal("0.1"))


def figures_dict(f: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {c: cents(getattr(f, c)) for c in FIGURE_COLUMNS}
    out["harvest_sales"] = f.harvest_sales
    return out


def account_dict(a: AccountReport) -> dict[str, Any]:
    return {"account": a.account, "household": a.household, "type": a.type, "broker": a.broker,
            **figures_dict(a.figures),
            "cash": None if a.cash is None else cents(a.cash),
            "equity": None if a.equity is None else cents(a.equity),
            "cash_pct": _pct(a.cash_pct), "cash_limit_pct": _pct(a.cash_limit_pct),
            "excess_cash": None if a.excess_cash is None else cents(a.excess_cash)}


def timeline_dicts(timeline: list[tuple[date, Decimal, Decimal]]) -> list[dict[str, Any]]:
    return [{"date": d, "harvested_loss": cents(loss), "tax_saved": cents(saved)} for d, loss, saved in timeline]


def household_dict(h: HouseholdReport) -> dict[str, Any]:
    s = h.summary
    return {"household": h.household, **figures_dict(h.figures),
            "short_term_net": cents(s.short_term_net), "long_term_net": cents(s.long_term_net),
            "net": cents(s.net), "ordinary_income_offset": cents(s.ordinary_income_offset),
            "carryforward_short": cents(s.carryforward_short), "carryforward_long": cents(s.carryforward_long),
            "restrictions": h.restrictions,
            "returns": [summary_dict(y) for y in h.returns], "timeline": timeline_dicts(h.timeline)}


def report_dict(r: Report) -> dict[str, Any]:
    rate = rates(r.tax)
    return {
        "year": r.year, "as_of": r.as_of,
        "rates": {"short_term": rate[Term.SHORT], "long_term": rate[Term.LONG]},
        "households": [household_dict(h) for h in r.households],
        "accounts": [account_dict(a) for a in r.accounts],
        "timeline": timeline_dicts(r.timeline),
        "notes": list(r.notes),
        "giving": r.moves.giving,
        "location": r.moves.location,
    }
