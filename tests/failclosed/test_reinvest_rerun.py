"""Reinvestments of idle cash (finding 4) behave as purchases do when a plan is carried out again or resumed:
a pause stops only a reinvestment not sent (a filled one was overwritten "skipped", and its cash counted
idle again); a reinvestment of today that never reached the broker is placed on restart, once (it was
abandoned), an older one is abandoned with an alert; no buy without the cash read right before it. Real
alpaca-py against the fake Alpaca, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from daemon.service import orders, pause
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.execute import ReinvestOrder, execute, resume, save_reinvestments
from daemon.service.market import book_from_brokers
from daemon.store.db import make_engine, transaction
from daemon.store.migrate import upgrade
from daemon.store.models import HarvestRun, OrderIntent
from tests.failclosed import alpaca_household as hh
from tests.fakes.alpaca_server import FakeAlpaca

NEXT = hh.TODAY + timedelta(days=1)
TLH = str(Path(sys.executable).parent / "tlh")


def _cycle(engine: Any, s: Any, day: Any, mode: str = "paper", fill_timeout: float = 1.0) -> CycleResult:
    broker = hh.broker(s)
    try:
        prices = book_from_brokers({"alpaca": broker}, {"VTI", "ITOT", "SCHB"}, s, day)
        return run_cycle(engine, s, {"alpaca": broker}, prices, day, mode, hh.policy(fill_timeout))
    finally:
        broker.close()


def _late_sale(alpaca: FakeAlpaca, engine: Any, s: Any) -> None:
    """A sale whose buy was never placed (the daemon gave up on the sell, which filled later): idle cash."""
    alpaca.late_fills(True)
    first = _cycle(engine, s, hh.TODAY, fill_timeout=0.3)
    alpaca.fill(f"tlh-{first.plan.run_id}-p1-sell")
    alpaca.late_fills(False)


def _buys(alpaca: FakeAlpaca) -> list[str]:
    return [q.body["client_order_id"] for q in alpaca.received("POST", "/v2/orders") if q.body["side"] == "buy"]


def _intent(engine: Any, cid: str) -> OrderIntent:
    with transaction(engine) as session:
        row = session.get(OrderIntent, cid)
        assert row is not None
        session.expunge(row)
        return row


def _with_broker(s: Any, work: Any) -> Any:
    broker = hh.broker(s)
    try:
        return work({"alpaca": broker})
    finally:
        broker.close()


def test_rerun_under_a_pause_keeps_a_filled_reinvestment(alpaca: FakeAlpaca, engine: Any, db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    _late_sale(alpaca, engine, s)
    nxt = _cycle(engine, s, NEXT)
    (r,) = nxt.plan.reinvestments
    cid = f"tlh-{nxt.plan.run_id}-r1-buy"
    assert _buys(alpaca) == [cid] and _intent(engine, cid).status == "filled"

    with transaction(engine) as session:
        pause.pause(session, account="tax", reason="reviewing", by="ops")
    (again,) = _with_broker(s, lambda b: execute(engine, s, nxt.plan.run_id, b, hh.policy()))
    assert again.buy is None
    assert _intent(engine, cid).status == "filled"  # not overwritten "skipped": still counts as invested
    assert _buys(alpaca) == [cid]
    assert _cycle(engine, s, NEXT + timedelta(days=1)).plan.reinvestments == ()


def _planned(alpaca: FakeAlpaca, engine: Any, s: Any) -> ReinvestOrder:
    """Tomorrow's run planned the reinvestment and stored its intent, then the process died before sending
    it (`after_intents`): the plan recorded as a trading run records it, its intent pending."""
    _late_sale(alpaca, engine, s)
    assert _with_broker(s, lambda b: resume(engine, s, b, hh.policy(), NEXT)) == 1  # adopts the late sale
    plan = _cycle(engine, s, NEXT, mode="dry-run").plan
    assert len(plan.reinvestments) == 1
    with transaction(engine) as session:
        run = session.get(HarvestRun, plan.run_id)
        run.mode = "paper"
        (r,) = ReinvestOrder.from_plan(run.id, run.as_of, run.plan)
    save_reinvestments(engine, [r])
    return r


@pytest.mark.parametrize("died", ["after_intents", "after_claim"])
def test_todays_unsent_reinvestment_is_placed_on_restart_once(alpaca: FakeAlpaca, engine: Any, db_url: str,
                                                              died: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    r = _planned(alpaca, engine, s)
    if died == "after_claim":  # claimed (submitting), killed before the broker heard of it
        assert orders.claim(engine, r.cid)
    assert _buys(alpaca) == []

    assert _with_broker(s, lambda b: resume(engine, s, b, hh.policy(), NEXT)) == 1
    assert _buys(alpaca) == [r.cid]
    assert _intent(engine, r.cid).status == "filled"
    (alert,) = [a for a in hh.alerts(engine, "orders_filled") if a.run_id == r.run_id]
    assert f"with the idle cash of {r.source}" in alert.message and r.symbol in alert.message
    assert alpaca.accounts[hh.KEY].positions[r.symbol] > 0

    # Never twice: another restart, and the plan carried out again, send nothing more.
    assert _with_broker(s, lambda b: resume(engine, s, b, hh.policy(), NEXT)) == 0
    _with_broker(s, lambda b: execute(engine, s, r.run_id, b, hh.policy()))
    assert _buys(alpaca) == [r.cid] and hh.alerts(engine, "order_abandoned") == []


def test_an_older_unsent_reinvestment_is_abandoned_with_an_alert(alpaca: FakeAlpaca, engine: Any,
                                                                 db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    r = _planned(alpaca, engine, s)
    assert _with_broker(s, lambda b: resume(engine, s, b, hh.policy(), NEXT + timedelta(days=1))) == 1
    assert _buys(alpaca) == [] and _intent(engine, r.cid).status == "abandoned"
    (alert,) = hh.alerts(engine, "order_abandoned")
    assert alert.account_id == "tax" and r.cid in alert.message
    assert f"the idle cash of {r.source} stays uninvested until the next run" in alert.message
    with transaction(engine) as session:  # the next run may plan it again: the cash is not counted invested
        assert session.scalars(sa.select(OrderIntent.status).where(OrderIntent.leg == "buy")).all().count(
            "abandoned") >= 1
    later = _cycle(engine, s, NEXT + timedelta(days=1))
    assert [x.source for x in later.plan.reinvestments] == [r.source]


def test_a_reinvestment_whose_cash_cannot_be_read_buys_nothing(alpaca: FakeAlpaca, engine: Any,
                                                              db_url: str) -> None:
    s = hh.settings(alpaca, db_url)
    hh.seed(engine, s)
    r = _planned(alpaca, engine, s)
    alpaca.account_fault("truncated")
    _with_broker(s, lambda b: resume(engine, s, b, hh.policy(), NEXT))
    alpaca.account_fault(None)
    assert _buys(alpaca) == [] and _intent(engine, r.cid).status == "skipped"
    (alert,) = hh.alerts(engine, "uninvested_cash")
    assert alert.severity == "error" and "its cash could not be read" in alert.message and r.source in alert.message
    later = _cycle(engine, s, NEXT + timedelta(days=1))  # planned again, and bought
    assert [x.source for x in later.plan.reinvestments] == [r.source]
    assert _buys(alpaca) == [f"tlh-{later.plan.run_id}-r1-buy"]


@pytest.mark.parametrize("point", ["after_intents", "after_reinvest_submit"])
def test_killed_then_restarted_reinvests_once(alpaca: FakeAlpaca, tmp_path: Path, point: str) -> None:
    """`tlh harvest` the day after the late sale, SIGKILLed after the reinvestment's intent is stored, or
    right after its buy reached the broker; the restart places it, or adopts it, exactly once."""
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(db_url)
    cfg = hh.write_config(tmp_path, alpaca, db_url)
    s = hh.settings(alpaca, db_url)
    engine = make_engine(db_url)
    try:
        hh.seed(engine, s)
        _late_sale(alpaca, engine, s)
        env = {**{k: v for k, v in os.environ.items() if k != "TLH_FAULT"}, **hh.ENVIRON}
        harvest = [TLH, "--config", str(cfg), "harvest", "--as-of", str(NEXT)]
        crashed = subprocess.run(harvest, env={**env, "TLH_FAULT": point}, capture_output=True, text=True,
                                 timeout=120)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
        assert len(_buys(alpaca)) == (0 if point == "after_intents" else 1)
        restarted = subprocess.run(harvest, env=env, capture_output=True, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stdout[-2000:] + restarted.stderr[-2000:]
        with transaction(engine) as session:
            (run_id,) = session.scalars(sa.select(HarvestRun.id).where(HarvestRun.as_of == NEXT)
                                        .order_by(HarvestRun.started_at).limit(1)).all()  # the killed run
        cid = f"tlh-{run_id}-r1-buy"
        assert _buys(alpaca) == [cid] and _intent(engine, cid).status == "filled"
        assert alpaca.accounts[hh.KEY].positions["ITOT"] > 0
    finally:
        engine.dispose()
