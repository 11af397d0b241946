"""Pauses in the service: read from the database at every cycle (a running daemon honours a pause without a
restart), a pause made after planning stops the pairs not yet started; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from daemon.service import pause
from daemon.service.cycle import run_cycle
from daemon.service.execute import execute
from daemon.service.orders import Policy
from daemon.store.db import make_engine, transaction
from daemon.store.models import OrderIntent, PaperOrder
from tests.service.helpers import AS_OF, household, paper, seed


def _policy() -> Policy:
    return Policy(fill_timeout=0.05, poll_interval=0.01, backoff=0.0, sleep=lambda s: None, faults=set())


def test_cycle_reads_pauses_each_time(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    other = make_engine(db_url)  # another process: `tlh pause` while the daemon runs
    try:
        with transaction(other) as session:
            pause.pause(session, account="tax", reason="statement check", by="ops@host")
    finally:
        other.dispose()
    result = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "dry-run", _policy())
    assert result.plan.pairs == ()
    (skip,) = [s for s in result.plan.skipped if s.account == "tax"]
    assert skip.reason.value == "paused" and "statement check" in skip.detail and "ops@host" in skip.detail
    with transaction(engine) as session:
        assert [p.reason for p in pause.resume(session, account="tax", by="ops@host")] == ["statement check"]
        assert pause.active(session, AS_OF) == []
    result = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "dry-run", _policy())
    assert [p.sell_symbol for p in result.plan.pairs] == ["VTI"]


def test_until_day_ends_the_pause_and_daemon_wide_pause_covers_every_account(engine: Any) -> None:
    with transaction(engine) as session:
        pause.pause(session, account=None, reason="vacation", until=AS_OF + timedelta(days=2), by="me")
        assert set(pause.for_accounts(session, ["tax", "ira"], AS_OF)) == {"tax", "ira"}
        assert pause.for_accounts(session, ["tax"], AS_OF + timedelta(days=1))["tax"].reason == "vacation"
        assert pause.for_accounts(session, ["tax"], AS_OF + timedelta(days=2)) == {}
        assert [p.reason for p in pause.unresolved(session)] == ["vacation"]


def test_pause_after_planning_stops_the_pairs_not_started(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    plan = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "dry-run", _policy()).plan
    with transaction(engine) as session:
        pause.pause(session, account="tax", reason="stop now", by="me")
    (outcome,) = execute(engine, settings, plan.run_id, {"paper": broker}, _policy())
    assert outcome.sell is None and "stop now" in outcome.note
    with transaction(engine) as session:
        assert session.scalars(sa.select(PaperOrder)).all() == []
        assert {i.status for i in session.scalars(sa.select(OrderIntent))} == {"skipped"}
