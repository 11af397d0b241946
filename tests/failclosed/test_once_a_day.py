"""Finding 5 of issue 12: one harvest per account per trading day whatever starts it, and each order intent
sent at most once even when two runs execute the same plan at the same moment (paper broker and IB through
real ib_async against the fake TWS). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brokers.ibkr import IbkrBroker
from daemon import bookkeeping, harvest
from daemon.config.models import IbkrBrokerConfig, Settings
from daemon.importers.csv_trades import parse
from daemon.prices import PriceBook
from daemon.service.brokers import facts_from
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.execute import execute
from daemon.service.orders import Policy
from daemon.store.db import make_engine, transaction
from daemon.store.models import AccountRow, HarvestClaim, OrderIntent, PaperOrder
from tests.fakes.tws_server import FakeTws
from tests.service.helpers import AS_OF, household, paper, seed


def _policy() -> Policy:
    return Policy(fill_timeout=2, poll_interval=0.02, backoff=0.0, sleep=lambda s: None, faults=set())


def _paper_orders(engine: Any) -> list[PaperOrder]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(PaperOrder)))


def _together(*jobs: Any) -> list[Any]:
    """Run the jobs on threads released at the same instant; their results (or exceptions) in order."""
    barrier, results = threading.Barrier(len(jobs)), [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_second_run_the_same_day_reports_the_first_and_trades_nothing(tmp_path: Path, engine: Any,
                                                                     db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    first = run_cycle(engine, settings, {"paper": paper(engine, settings, prices)}, prices, AS_OF, "paper",
                      _policy())
    assert [p.sell_symbol for p in first.plan.pairs] == ["VTI"]
    second = run_cycle(engine, settings, {"paper": paper(engine, settings, prices)}, prices, AS_OF, "paper",
                       _policy())
    assert second.plan.pairs == () and second.outcomes == []
    assert second.already_harvested == {"tax": first.plan.run_id}
    assert len(_paper_orders(engine)) == 2
    with transaction(engine) as session:
        assert session.scalars(sa.select(HarvestClaim.run_id)).all() == [first.plan.run_id]


def test_a_run_that_sees_the_account_out_of_sync_still_names_the_run_that_harvested_it(
        tmp_path: Path, engine: Any, db_url: str) -> None:
    # Two runs at once: the loser may read the broker after the winner's sale and the ledger before it, so
    # its sync marks the account out of sync; it must still say which run harvested the account today.
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    brokers = {"paper": paper(engine, settings, prices)}
    first = run_cycle(engine, settings, brokers, prices, AS_OF, "paper", _policy())
    assert first.plan.pairs
    with transaction(engine) as session:
        session.execute(sa.update(AccountRow).where(AccountRow.id == "tax").values(in_sync=False))
    with transaction(engine) as session:
        second = harvest.plan_and_record(session, settings, prices, AS_OF, "paper", facts_from(brokers, settings, {}))
    assert second.pairs == ()
    assert [(s.account, s.reason.value, s.detail.rsplit(" ", 1)[-1]) for s in second.skipped
            if s.account == "tax"] == [("tax", "already_harvested", first.plan.run_id)]


def test_two_runs_at_once_trade_once(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    engines = [make_engine(db_url), make_engine(db_url)]  # two processes, as far as the database can tell
    try:
        results: list[CycleResult] = _together(*(
            (lambda e=e: run_cycle(e, settings, {"paper": paper(e, settings, prices)}, prices, AS_OF, "paper",
                                   _policy())) for e in engines))
    finally:
        for e in engines:
            e.dispose()
    assert all(isinstance(r, CycleResult) for r in results), results
    assert sorted(len(r.plan.pairs) for r in results) == [0, 1]
    winner = next(r for r in results if r.plan.pairs)
    loser = next(r for r in results if not r.plan.pairs)
    assert loser.already_harvested == {"tax": winner.plan.run_id}
    assert Counter(o.side for o in _paper_orders(engine)) == {"sell": 1, "buy": 1}


def test_two_processes_executing_one_plan_send_each_intent_once(tmp_path: Path, engine: Any,
                                                                db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    plan = run_cycle(engine, settings, {"paper": paper(engine, settings, prices)}, prices, AS_OF, "dry-run",
                     _policy()).plan
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        results = _together(*((lambda e=e: execute(e, settings, plan.run_id, {"paper": paper(e, settings, prices)},
                                                   _policy())) for e in engines))
    finally:
        for e in engines:
            e.dispose()
    assert not any(isinstance(r, Exception) for r in results), results
    assert Counter(o.client_order_id for o in _paper_orders(engine)) == {
        f"tlh-{plan.run_id}-p1-sell": 1, f"tlh-{plan.run_id}-p1-buy": 1}
    notes = sorted(o.note for r in results for o in r)
    assert notes == ["", "another run is carrying out this pair"]


IB_CODE = "DU1111111"


def test_ib_lookup_then_place_cannot_send_twice(engine: Any) -> None:
    today = date(2024, 6, 5)
    with FakeTws() as tws:
        tws.add_account(IB_CODE, 1_000, {"VTI": (40, "250.00")})
        for symbol, price in {"VTI": "230", "SCHB": "50"}.items():
            tws.set_price(symbol, price)
        settings = Settings.model_validate({
            "mode": "paper", "substitutes": "",
            "accounts": [{"id": "tax", "household": "h", "broker": "ibkr", "broker_account": IB_CODE}],
            "asset_classes": [{"name": "us_total_market", "members": ["VTI", "SCHB"]}],
            "harvest": {"circuit_breaker": False, "max_turnover_pct": 1},
            "brokers": {"ibkr": {"port": tws.port, "timeout_seconds": 5}},
        })
        bookkeeping.book(engine, settings, parse(f"date,account,symbol,side,quantity,price,fees,lot_id\n"
                                                 f"{today - timedelta(days=200)},tax,VTI,buy,40,250,,vti-1\n",
                                                 "t.csv", {"tax"}))
        prices = PriceBook()
        for symbol, close in {"VTI": "230", "SCHB": "50"}.items():
            prices.add(symbol, today, close)
        brokers = [IbkrBroker(IbkrBrokerConfig(port=tws.port, client_id=cid, timeout_seconds=5), settings.accounts)
                   for cid in (31, 32)]
        try:
            plan = run_cycle(engine, settings, {"ibkr": brokers[0]}, prices, today, "dry-run", _policy()).plan
            assert [(p.sell_symbol, p.sell_quantity) for p in plan.pairs] == [("VTI", Decimal(40))]
            results = _together(*((lambda b=b: execute(engine, settings, plan.run_id, {"ibkr": b}, _policy()))
                                  for b in brokers))
        finally:
            for b in brokers:
                b.close()
        assert not any(isinstance(r, Exception) for r in results), results
        placed = Counter(o.order_ref for o in tws.received)
        assert placed == {f"tlh-{plan.run_id}-p1-sell": 1, f"tlh-{plan.run_id}-p1-buy": 1}
    with transaction(engine) as session:
        assert {i.status for i in session.scalars(sa.select(OrderIntent))} == {"filled"}


def test_tlh_harvest_takes_the_lease_and_reports_the_first_run(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from daemon.cli.main import app
    from daemon.config import load_settings
    from daemon.service import lease
    from tests.cli.household import write_household

    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
    db = make_engine(load_settings(cfg).database_url)
    try:
        assert lease.acquire(db, "daemon-host:1:abc", datetime.now(UTC), timedelta(seconds=60))
        busy = CliRunner().invoke(app, ["--config", str(cfg), "harvest"])
        assert busy.exit_code == 1 and "another harvester holds the lease (daemon-host:1:abc" in busy.output
        assert _paper_orders(db) == []
        assert lease.release(db, "daemon-host:1:abc", datetime.now(UTC))
        first = CliRunner().invoke(app, ["--config", str(cfg), "harvest", "--format", "json"])
        assert first.exit_code == 0, first.output
        run_id = json.loads(first.stdout)["run_id"]
        again = CliRunner().invoke(app, ["--config", str(cfg), "harvest", "--format", "json"])
        assert again.exit_code == 0, again.output
        assert f"tax: already harvested on 2024-05-29 by run {run_id}; not traded again today" in again.output
        assert json.loads(again.stdout)["pairs"] == []
        assert len(_paper_orders(db)) == 2
    finally:
        db.dispose()


def test_a_killed_holder_on_this_host_does_not_block_the_restart(engine: Any) -> None:
    import os
    import socket
    import subprocess
    from datetime import UTC, datetime

    from daemon.service import lease

    child = subprocess.Popen(["true"])
    child.wait()  # a pid that existed, exited and was reaped
    dead = f"{socket.gethostname()}:{child.pid}:aaa"
    now, ttl = datetime.now(UTC), timedelta(seconds=60)
    assert lease.acquire(engine, dead, now, ttl)
    assert lease.acquire(engine, "me:1:bbb", now, ttl)  # taken over at once, long before it expires
    alive = f"{socket.gethostname()}:{os.getppid()}:ccc"
    assert lease.acquire(engine, alive, now + 2 * ttl, ttl)
    assert not lease.acquire(engine, "me:1:bbb", now + 2 * ttl, ttl)  # a live process keeps it
    assert not lease.acquire(engine, "elsewhere:1:ddd", now + 2 * ttl, ttl)
