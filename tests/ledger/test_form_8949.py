"""Form 8949 boxes and covered lots (per lot: acquisition date and security kind), and each broker's view of
its own account (same security, same account washes only)."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.ledger.form_8949 import Reporting, box, broker_view, covered
from daemon.ledger.types import Term
from tests.ledger.helpers import ACCOUNTS, D, t


@pytest.mark.parametrize(("purchased", "fund", "expected"), [
    (date(2010, 12, 31), False, False), (date(2011, 1, 1), False, True),   # stock: from 2011
    (date(2011, 6, 1), True, False), (date(2012, 1, 1), True, True),      # fund shares: from 2012
])
def test_covered_by_acquisition_date_and_kind(purchased: date, fund: bool, expected: bool) -> None:
    assert covered(purchased, fund) is expected


@pytest.mark.parametrize(("term", "reporting", "is_covered", "expected"), [
    (Term.SHORT, Reporting.COVERED, True, "A"), (Term.SHORT, Reporting.COVERED, False, "B"),
    (Term.LONG, Reporting.COVERED, True, "D"), (Term.LONG, Reporting.COVERED, False, "E"),
    (Term.SHORT, Reporting.NO_BASIS, True, "B"), (Term.LONG, Reporting.NO_BASIS, True, "E"),
    (Term.SHORT, Reporting.NONE, True, "C"), (Term.LONG, Reporting.NONE, False, "F"),
])
def test_boxes(term: Term, reporting: Reporting, is_covered: bool, expected: str) -> None:
    assert box(term, reporting, is_covered) == expected


def test_the_broker_sees_only_its_account_and_symbol() -> None:
    trades = [t("2024-01-02", "tax", "buy", 10, "VOO", 100, tid="b1"), t("2024-03-01", "tax", "sell", 10, "VOO", 80,
                                                                         tid="s1"),
              t("2024-03-05", "spouse", "buy", 10, "IVV", 81, tid="b2"),   # another account: not the broker's
              t("2024-03-06", "tax", "buy", 4, "SPY", 82, tid="b3"),       # identical, other symbol: neither
              t("2024-03-07", "tax", "buy", 3, "VOO", 83, tid="b4"),       # same account and symbol: washes
              t("2024-05-01", "spouse", "sell", 10, "IVV", 90, tid="s2")]
    view = broker_view(trades, ACCOUNTS)
    voo = view[("s1", "b1")]
    assert (voo.basis, voo.proceeds, voo.wash) == (D(1000), D(800), D(60))  # 3 of 10 shares washed
    ivv = view[("s2", "b2")]
    assert (ivv.basis, ivv.acquired, ivv.term) == (D(810), date(2024, 3, 5), Term.SHORT)  # unadjusted
