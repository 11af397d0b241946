"""A pause stops only what has not been sent: executing an already-executed plan again (a re-run, a resume of
the same run) while a pause is in force leaves the intents already at the broker as they are (they were
marked "skipped", and an order in flight became untracked). Paper broker, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brokers.paper import FillMode
from brokers.protocol import OrderRequest, OrderSide, TimeInForce
from daemon.service import orders, pause
from daemon.service.cycle import run_cycle
from daemon.service.execute import PairOrder, execute, resume, save_intents
from daemon.service.orders import Policy
from daemon.store.db import transaction
from daemon.store.models import HarvestRun, OrderIntent, PaperOrder
from tests.service.helpers import AS_OF, household, paper, seed


def _policy() -> Policy:
    return Policy(fill_timeout=0.05, poll_interval=0.01, backoff=0.0, sleep=lambda s: None, faults=set())


def _status(engine: Any) -> dict[str, str]:
    with transaction(engine) as session:
        return {i.leg: i.status for i in session.scalars(sa.select(OrderIntent))}


def _paper_orders(engine: Any) -> list[PaperOrder]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(PaperOrder)))


def _pause(engine: Any) -> None:
    with transaction(engine) as session:
        pause.pause(session, account="tax", reason="reviewing", by="ops")


def test_rerun_of_an_executed_plan_under_a_pause_keeps_the_filled_legs(tmp_path: Path, engine: Any,
                                                                       db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    result = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "paper", _policy())
    assert _status(engine) == {"sell": "filled", "buy": "filled"}
    _pause(engine)
    (again,) = execute(engine, settings, result.plan.run_id, {"paper": broker}, _policy())
    assert again.sell is None and again.buy is None
    assert _status(engine) == {"sell": "filled", "buy": "filled"}
    assert len(_paper_orders(engine)) == 2


def test_a_sell_in_flight_stays_tracked_under_a_pause_and_resume_adopts_it(tmp_path: Path, engine: Any,
                                                                           db_url: str) -> None:
    """The sell reached the broker (the process died before its fill); then `tlh pause`; the plan is executed
    again: the sell keeps its state, and the restart adopts its fill and completes the pair it began (a pause
    stops new pairs: the sale happened, and its cash buys the replacement)."""
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices, FillMode.MANUAL)
    plan = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "dry-run", _policy()).plan
    (p,) = _pairs(engine, plan.run_id)
    save_intents(engine, [p])
    assert orders.claim(engine, p.cid("sell"))
    sent = orders.submit_once(engine, broker, _sell(p), _policy())
    assert not sent.status.final
    in_flight = _status(engine)["sell"]

    _pause(engine)
    (again,) = execute(engine, settings, plan.run_id, {"paper": broker}, _policy())
    assert again.sell is None and "pause" not in again.note
    assert _status(engine) == {"sell": in_flight, "buy": "pending"}
    assert len(_paper_orders(engine)) == 1

    broker.fill_pending(p.cid("sell"))
    broker.fill_mode = FillMode.IMMEDIATE
    assert resume(engine, settings, {"paper": broker}, _policy(), AS_OF) >= 1
    assert _status(engine) == {"sell": "filled", "buy": "filled"}
    assert sorted(o.side for o in _paper_orders(engine)) == ["buy", "sell"]


def test_a_pause_still_skips_both_legs_of_a_pair_not_begun(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    plan = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "dry-run", _policy()).plan
    _pause(engine)
    (outcome,) = execute(engine, settings, plan.run_id, {"paper": broker}, _policy())
    assert "reviewing" in outcome.note and _paper_orders(engine) == []
    assert _status(engine) == {"sell": "skipped", "buy": "skipped"}
    with transaction(engine) as session:
        assert {i.error for i in session.scalars(sa.select(OrderIntent))} == {
            next(iter(pause.active(session, AS_OF))).describe()}


def _pairs(engine: Any, run_id: str) -> list[PairOrder]:
    with transaction(engine) as session:
        run = session.get(HarvestRun, run_id)
        return PairOrder.from_plan(run_id, run.as_of, run.plan)


def _sell(p: PairOrder) -> OrderRequest:
    return OrderRequest(p.cid("sell"), p.account, p.sell_symbol, OrderSide.SELL, quantity=p.sell_quantity,
                        time_in_force=TimeInForce.DAY, lot_ids=p.lot_ids)
