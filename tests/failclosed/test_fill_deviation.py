"""Finding 6 of issue 12: a fill far from the plan's quote ($0.01 or $1,000,000 against $230) is booked (it
happened) but raises an error alert and pauses the account until `tlh resume`. Real alpaca-py against the
fake Alpaca, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from daemon.service import pause
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.models import HarvestClaim
from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca


@pytest.mark.parametrize("absurd", ["0.01", "1000000"])
def test_absurd_sell_fill_is_booked_alerted_and_pauses_the_account(alpaca: FakeAlpaca, engine: Any, db_url: str,
                                                                   absurd: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    alpaca.absurd_fill_price("VTI", Decimal(absurd))
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    (outcome,) = result.outcomes
    assert outcome.sell is not None and outcome.sell.filled_avg_price == Decimal(absurd)
    (alert,) = hh.alerts(engine, "fill_deviation")
    assert alert.severity == "error" and alert.account_id == "tax"
    assert f"filled at {Decimal(absurd)} against the plan's quote 230" in alert.message
    assert "tlh resume --account tax" in alert.message
    with transaction(engine) as session:
        (sale,) = ledger_repo.load_ledger(session, "h").dispositions
        stopped = pause.is_paused(session, "tax", hh.TODAY)
    assert sale.proceeds == 40 * Decimal(absurd)  # booked as it happened
    assert stopped is not None and stopped.kind == "fill_deviation" and stopped.run_id == result.plan.run_id

    # The next run (another day's, say) does not harvest the paused account, and says why.
    alpaca.absurd_fill_price("VTI", None)
    with transaction(engine) as session:  # as if it were the next day: today's claim gone
        session.execute(sa.delete(HarvestClaim))
    broker = hh.broker(s)
    try:
        again = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    assert [(x.account, x.reason.value) for x in again.plan.skipped if x.symbol == "*"] == [("tax", "paused")]


def test_fill_within_the_limit_is_quiet(alpaca: FakeAlpaca, engine: Any, db_url: str) -> None:
    s = hh.settings(alpaca, db_url, max_fill_deviation_pct="0.10")
    hh.seed(engine, s)
    alpaca.absurd_fill_price("VTI", Decimal("210"))  # 8.7 % below the $230 quote
    broker = hh.broker(s)
    try:
        result = hh.cycle(engine, s, {"alpaca": broker})
    finally:
        broker.close()
    assert result.outcomes[0].sell is not None and result.outcomes[0].sell.filled_avg_price == 210
    assert hh.alerts(engine, "fill_deviation") == []
    with transaction(engine) as session:
        assert pause.active(session, hh.TODAY) == []
