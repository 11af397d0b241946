"""Finding 4 of issue 12: a sale the daemon gave up on (its cancel failed) fills later; the next run adopts
the fill, and now also buys the replacement the pair meant to buy with the idle cash (the engine decides,
`daemon.engine.reinvest`), or explains in an alert why it cannot. Real alpaca-py against the fake Alpaca's
late-fill switch, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from daemon.service import pause
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.market import book_from_brokers
from daemon.store.db import transaction
from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca


def _cycle(engine: Any, s: Any, day: Any, fill_timeout: float = 1.0) -> CycleResult:
    broker = hh.broker(s)
    try:
        prices = book_from_brokers({"alpaca": broker}, {"VTI", "ITOT", "SCHB"}, s, day)
        return run_cycle(engine, s, {"alpaca": broker}, prices, day, "paper", hh.policy(fill_timeout))
    finally:
        broker.close()


def _late_sale(alpaca: FakeAlpaca, engine: Any, s: Any) -> CycleResult:
    alpaca.late_fills(True)
    first = _cycle(engine, s, hh.TODAY, fill_timeout=0.3)
    (outcome,) = first.outcomes
    assert outcome.note == "sell not filled" and outcome.buy is None  # gave up; the cancel failed
    alpaca.fill(f"tlh-{first.plan.run_id}-p1-sell")  # ... and it filled after all
    alpaca.late_fills(False)
    return first


def test_next_run_buys_the_replacement_with_the_late_sales_cash(alpaca: FakeAlpaca, engine: Any,
                                                                 db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    first = _late_sale(alpaca, engine, s)
    meant = first.plan.pairs[0].buy_symbol
    assert hh.alerts(engine, "uninvested_cash") == []

    nxt = _cycle(engine, s, hh.TODAY + timedelta(days=1))
    (r,) = nxt.plan.reinvestments
    assert (r.account, r.symbol, r.sold_symbol) == ("tax", meant, "VTI")
    assert r.source == f"tlh-{first.plan.run_id}-p1-buy" and r.notional == Decimal("9200.00")  # 40 x 230
    buys = [q.body for q in alpaca.received("POST", "/v2/orders") if q.body["side"] == "buy"]
    assert [(b["symbol"], Decimal(str(b["notional"])), b["client_order_id"]) for b in buys] == [
        (meant, Decimal("9200"), f"tlh-{nxt.plan.run_id}-r1-buy")]
    assert alpaca.accounts[hh.KEY].positions[meant] > 0 and hh.in_sync(engine)

    # Invested: a later run has nothing left to reinvest.
    later = _cycle(engine, s, hh.TODAY + timedelta(days=2))
    assert later.plan.reinvestments == ()
    assert len([q for q in alpaca.received("POST", "/v2/orders") if q.body["side"] == "buy"]) == 1


def test_idle_cash_that_cannot_be_invested_is_explained(alpaca: FakeAlpaca, engine: Any, db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    first = _late_sale(alpaca, engine, s)
    with transaction(engine) as session:
        pause.pause(session, account="tax", reason="looking into the late fill", by="ops")
    nxt = _cycle(engine, s, hh.TODAY + timedelta(days=1))
    assert nxt.plan.reinvestments == ()
    (alert,) = hh.alerts(engine, "uninvested_cash")
    assert f"$9,200.00 from the sale of VTI on {hh.TODAY} (tlh-{first.plan.run_id}-p1-buy) stays in cash" \
        in alert.message
    assert "paused" in alert.message and "looking into the late fill" in alert.message


def test_the_harvest_table_lists_the_reinvestment(alpaca: FakeAlpaca, engine: Any, db_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import daemon.cli.main  # noqa: F401 - the CLI package wires its command modules on import
    from daemon.cli.harvest_cmd import show_plan

    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    _late_sale(alpaca, engine, s)
    nxt = _cycle(engine, s, hh.TODAY + timedelta(days=1))
    show_plan(nxt.plan)
    out = capsys.readouterr().out
    table = out[out.index("Idle cash reinvested"):]
    assert "r1" in table and "ITOT" in table and "$9,200.00" in table and "reinvests" in table, table
