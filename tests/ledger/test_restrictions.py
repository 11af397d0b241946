from __future__ import annotations

from datetime import date

from daemon.ledger.restrictions import from_ledger
from tests.ledger.helpers import IDENTICAL, run, t


def test_open_loss_restricts_its_identical_group_until_day_31() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "VOO", 400), t("2024-05-01", "tax", "sell", 10, "VOO", 380))
    got = from_ledger(s, IDENTICAL, date(2024, 5, 31))
    assert sorted(r.symbol for r in got) == ["IVV", "SPLG", "SPY", "VOO"]
    assert {r.until for r in got} == {date(2024, 6, 1)}
    assert from_ledger(s, IDENTICAL, date(2024, 6, 1)) == []
    assert from_ledger(s, IDENTICAL, date(2024, 4, 30)) == []


def test_gains_ira_sales_and_fully_washed_losses_restrict_nothing() -> None:
    s = run(t("2024-01-02", "tax", "buy", 10, "X", 100), t("2024-01-02", "ira", "buy", 10, "Y", 100),
            t("2024-03-01", "tax", "sell", 5, "X", 120), t("2024-03-01", "ira", "sell", 10, "Y", 80),
            t("2024-03-02", "tax", "sell", 5, "X", 90), t("2024-03-03", "spouse", "buy", 5, "X", 90))
    assert from_ledger(s, IDENTICAL, date(2024, 3, 10)) == []
