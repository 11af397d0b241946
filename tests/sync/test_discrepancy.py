"""Reconciliation that explains: per symbol, by how much, and the likeliest cause."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.service.discrepancy import explain

TOL = Decimal("0.000001")


@pytest.mark.parametrize(("ledger", "broker", "expected"), [
    ({"AAPL": "100"}, {"AAPL": "400"},
     ["AAPL: ledger 100 broker 400 (broker +300; broker holds 4.0x the ledger's shares: an unrecorded split "
      "(4:1)?)"]),
    ({"XYZ": "100"}, {"XYZ": "10"},
     ["XYZ: ledger 100 broker 10 (broker -90; broker holds 1/10 the ledger's shares: an unrecorded reverse "
      "split (1:10)?)"]),
    ({"ABC": "100"}, {"ABC": "150"},
     ["ABC: ledger 100 broker 150 (broker +50; broker holds 1.5x the ledger's shares: an unrecorded split "
      "(3:2)?)"]),
    ({"VTI": "10"}, {"VTI": "10.5"},
     ["VTI: ledger 10 broker 10.5 (broker +0.5; broker holds 0.5 more: a purchase or transfer in the ledger "
      "never saw?)"]),
    ({"VTI": "10"}, {"VTI": "9.3"},
     ["VTI: ledger 10 broker 9.3 (broker -0.7; broker holds 0.7 fewer: a sale or transfer out the ledger "
      "never saw?)"]),
    ({"FB": "10"}, {"META": "10"},
     ["FB: ledger 10 broker 0 (broker -10; the broker holds META instead: an unrecorded symbol change or "
      "merger FB -> META?)",
      "META: ledger 0 broker 10 (broker +10; the ledger holds as many FB instead: an unrecorded symbol change "
      "FB -> META?)"]),
    ({"OLD": "30"}, {"NEW": "15"},
     ["NEW: ledger 0 broker 15 (broker +15; the ledger holds 30 OLD instead: an unrecorded merger of OLD into "
      "NEW (0.5 per share) or spin-off?)",
      "OLD: ledger 30 broker 0 (broker -30; the broker holds NEW instead: an unrecorded symbol change or "
      "merger OLD -> NEW?)"]),
    ({"VTI": "10", "BND": "5"}, {"VTI": "10"},
     ["BND: ledger 5 broker 0 (broker -5; the broker holds none: a sale, transfer out, cash merger or "
      "worthless removal never recorded?)"]),
    ({}, {"SCHB": "3"},
     ["SCHB: ledger 0 broker 3 (broker +3; the ledger has no such shares: a purchase, transfer in or spin-off "
      "never recorded?)"]),
    ({"VTI": "10"}, {"VTI": "10.0000001"}, []),  # within the fractional-share tolerance
])
def test_explain(ledger: dict[str, str], broker: dict[str, str], expected: list[str]) -> None:
    got = explain({k: Decimal(v) for k, v in ledger.items()}, {k: Decimal(v) for k, v in broker.items()}, TOL)
    assert got == expected
