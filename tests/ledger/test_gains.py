"""Gain rows, Form 8949 boxes and the year's summary (Schedule D netting, $3,000 offset, carry-forward)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon import views
from daemon.ledger import Term
from daemon.ledger.gains import GainRow, rows, summarize
from tests.ledger.helpers import ACCOUNTS, D, run, t


def _row(term: Term, gain: object, adjustment: object = 0, permanent: object = 0) -> GainRow:
    g = D(gain)
    return GainRow("x", "tax", "X", D(1), date(2024, 1, 2), date(2024, 6, 3), proceeds=max(g, D(0)) + 100,
                   cost_basis=max(-g, D(0)) + 100 + D(adjustment), adjustment=D(adjustment), code="",
                   term=term, permanent=D(permanent))


@pytest.mark.parametrize(("st", "lt", "offset", "cf_st", "cf_lt"), [
    (-1000, 0, 1000, 0, 0),            # small loss: all deducted
    (-5000, 0, 3000, 2000, 0),         # short loss over the limit
    (-2000, -4000, 3000, 0, 3000),     # short used first for the offset
    (-5000, -4000, 3000, 2000, 4000),
    (-6000, 2000, 3000, 1000, 0),      # long gain absorbs part of the short loss
    (1000, -6000, 3000, 0, 2000),
    (5000, -1000, 0, 0, 0),            # net gain: nothing carried
])
def test_summary_netting_offset_and_carryforward(st: int, lt: int, offset: int, cf_st: int, cf_lt: int) -> None:
    s = summarize([_row(Term.SHORT, st), _row(Term.LONG, lt)])
    assert (s.short_term_net, s.long_term_net) == (D(st), D(lt))
    assert (s.ordinary_income_offset, s.carryforward_short, s.carryforward_long) == (D(offset), D(cf_st), D(cf_lt))


def test_summary_uses_prior_carryforward_and_limit() -> None:
    s = summarize([_row(Term.SHORT, 500)], offset_limit=D(1500), prior_carryforward_short=D(2500),
                  prior_carryforward_long=D(1000))
    assert (s.short_term_net, s.long_term_net, s.net) == (D(-2000), D(-1000), D(-3000))
    assert (s.ordinary_income_offset, s.carryforward_short, s.carryforward_long) == (D(1500), D(500), D(1000))


def test_summary_reports_disallowed_and_permanent() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100), t("2024-05-01", "tax", "sell", 10, "X", 80),
            t("2024-05-02", "ira", "buy", 4, "X", 80), t("2024-05-03", "spouse", "buy", 2, "X", 80))
    summary = summarize(rows(s.dispositions))
    assert summary.disallowed == D(120) and summary.permanently_disallowed == D(80)
    assert summary.short_term_net == D(-80)


def test_ira_sales_are_not_reported() -> None:
    s = run(t("2024-01-02", "ira", "buy", 10, "X", 100), t("2024-05-01", "ira", "sell", 10, "X", 80))
    assert rows(s.dispositions) == []


def test_form_8949_boxes_columns_and_totals_tie_out() -> None:
    s = run(t("2022-01-03", "tax", "buy", 3, "X", "33.333"), t("2024-01-02", "tax", "buy", 7, "Y", "10.01"),
            t("2024-03-01", "tax", "sell", 3, "X", "30.111", fees="0.35"),
            t("2024-03-01", "tax", "sell", 7, "Y", "9.337", fees="0.35"),
            t("2024-03-05", "spouse", "buy", 2, "Y", 9))
    lines = views.form_8949(rows(s.dispositions), ACCOUNTS)
    boxes = {(x["part"], x["box"]) for x in lines}
    assert boxes == {("I", "A"), ("II", "D")}
    for box in ("A", "D"):
        members = [x for x in lines if x["box"] == box and not x["(a) description"].startswith("Totals")]
        total = next(x for x in lines if x["box"] == box and x["(a) description"].startswith("Totals"))
        for col in ("(d) proceeds", "(e) cost basis", "(h) gain or loss"):
            assert sum((x[col] for x in members), Decimal(0)) == total[col]
        for x in members:
            g = x["(g) adjustment"] or Decimal(0)
            assert x["(h) gain or loss"] == x["(d) proceeds"] - x["(e) cost basis"] + g
    washed = [x for x in lines if x.get("(f) code") == "W"]
    assert len(washed) == 1 and washed[0]["box"] == "A" and washed[0]["(a) description"] == "2 sh. Y"


def test_partly_washed_sale_splits_into_two_rows_that_sum_to_the_sale() -> None:
    s = run(t("2024-01-02", "tax", "buy", 3, "X", "10.07"), t("2024-02-01", "tax", "sell", 3, "X", "9.01"),
            t("2024-02-02", "tax", "buy", 1, "X", 9))
    (d,) = s.dispositions
    washed, allowed = rows(s.dispositions)
    assert washed.proceeds + allowed.proceeds == d.proceeds
    assert washed.cost_basis + allowed.cost_basis == d.cost_basis
    assert washed.gain == 0 and allowed.gain == d.gain
