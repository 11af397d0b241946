"""Finding 7 of issue 12: readers never wait on writers. While another process holds a write transaction
open (as a long import does), `tlh health` and `tlh orders` answer at once instead of failing after the
30 s busy timeout with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.service import lease
from daemon.store.db import make_engine
from daemon.store.migrate import upgrade
from tests.service.test_daemon_process import write_config

TLH = str(Path(sys.executable).parent / "tlh")

WRITER = textwrap.dedent("""
    import sys, time, pathlib
    from datetime import UTC, datetime
    from daemon.store.db import make_engine, transaction
    from daemon.store.models import Alert
    engine = make_engine(sys.argv[1])
    go = pathlib.Path(sys.argv[2])
    with transaction(engine) as session:  # BEGIN IMMEDIATE: the write lock, held until commit
        session.add(Alert(created_at=datetime.now(UTC), kind="import", severity="info", message="writing",
                          run_id=None, household_id=None, account_id=None, data={}))
        session.flush()
        print("holding", flush=True)
        deadline = time.monotonic() + 90
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
""")


def test_health_and_listings_answer_while_a_writer_holds_the_database(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(db_url)
    cfg = write_config(tmp_path, db_url)
    engine = make_engine(db_url)
    try:
        assert lease.acquire(engine, "host:1:abc", datetime.now(UTC), timedelta(minutes=5))
    finally:
        engine.dispose()
    go = tmp_path / "commit-now"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(go)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        started = time.monotonic()
        health = subprocess.run([TLH, "--config", str(cfg), "health"], capture_output=True, text=True, timeout=120)
        print(f"health answered in {time.monotonic() - started:.1f} s")
        orders = subprocess.run([TLH, "--config", str(cfg), "orders", "--format", "json"], capture_output=True,
                                text=True, timeout=120)
        assert writer.poll() is None, "the writer was to hold its transaction throughout"
        waited = time.monotonic() - started
    finally:
        go.touch()
        writer.wait(120)
    # It read the lease (fresh or, on a loaded machine, a few seconds too old), not "database does not answer".
    assert "harvester host:1:abc" in health.stdout or "(holder host:1:abc" in health.stderr, health.stderr
    assert orders.returncode == 0 and orders.stdout.strip() == "[]", orders.stderr
    assert "locked" not in health.stderr + orders.stderr
    print(f"health + orders answered in {waited:.1f} s while a writer held the database")
    assert writer.returncode == 0


def _hold_a_write(engine: Any) -> Any:
    """Another connection's open write transaction (BEGIN IMMEDIATE on SQLite: the write lock, as a long import
    holds it) with an uncommitted alert in it; the caller rolls it back."""
    import sqlalchemy as sa

    from daemon.store.models import Alert

    connection = engine.connect()
    connection.begin()
    connection.execute(sa.insert(Alert.__table__).values(
        created_at=datetime.now(UTC), kind="import", severity="error", message="uncommitted", data={}))
    return connection


def test_review_status_and_dashboard_reads_answer_while_another_connection_writes(
        db_url: str, tmp_path: Path, monkeypatch: Any) -> None:
    """Issue 12, finding 7, the rest of it: `tlh runs`, `alerts`, `report`, `status`, `lots`, `gains` and the
    dashboard's reads run in deferred read transactions. With a 1 s busy timeout a reader that took the write
    lock (BEGIN IMMEDIATE) would fail with "database is locked"; these answer, from the last committed state
    (the writer's alert is not seen). On PostgreSQL the same reads must not wait on the writer's row either."""
    import json

    from typer.testing import CliRunner

    from daemon.cli.main import app
    from daemon.config import load_settings
    from daemon.store import sqlite
    from daemon.web.data import Store
    from tests.cli.household import write_household

    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_MS", 1000)  # the engines' and the bare connections' (gains)
    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('database_url = "sqlite:///tlh.db"', f"database_url = {db_url!r}"))
    # The household's trades again, now into `db_url`, and a dry run: a run, its plan and alerts to list.
    for args in (["import", str(tmp_path / "trades.csv")], ["harvest", "--dry-run"]):
        result = CliRunner().invoke(app, ["--config", str(cfg), *args])
        assert result.exit_code == 0, result.output

    def tlh(*args: str) -> str:
        result = CliRunner().invoke(app, ["--config", str(cfg), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    settings = load_settings(cfg)
    engine = make_engine(settings.database_url)
    writer_engine = make_engine(settings.database_url)
    writer = _hold_a_write(writer_engine)
    try:
        started = time.monotonic()
        runs = json.loads(tlh("runs", "--format", "json"))
        alerts = json.loads(tlh("alerts", "--format", "json"))
        report = json.loads(tlh("report", "--format", "json"))
        status = json.loads(tlh("status", "--format", "json"))
        lots = json.loads(tlh("lots", "--format", "json"))
        gains = json.loads(tlh("gains", "--format", "json"))
        dashboard = Store(engine, settings)
        today = date.fromisoformat(status["today"])
        pages = {"fingerprint": dashboard.fingerprint(), "states": dashboard.states(), "runs": dashboard.runs(),
                 "run": dashboard.run(runs[0]["id"]), "orders": dashboard.orders(), "alerts": dashboard.alerts(),
                 "status": dashboard.status(today), "report": dashboard.report(today.year, today),
                 "pauses": dashboard.pauses(), "swap_backs": dashboard.swap_backs(today),
                 "form_8949": dashboard.form_8949(today.year)}
        waited = time.monotonic() - started
        assert writer.in_transaction(), "the writer was to hold its transaction throughout"
    finally:
        writer.rollback()
        writer.close()
        writer_engine.dispose()
        engine.dispose()
    print(f"six commands and eleven dashboard reads answered in {waited:.1f} s while a writer held the database")
    assert [r["mode"] for r in runs] == ["dry-run"] and pages["runs"][0]["id"] == runs[0]["id"]
    assert alerts and "uncommitted" not in {a["message"] for a in alerts + pages["alerts"]}
    assert status["last_run"]["id"] == runs[0]["id"] and status["alerts"]["open"] == pages["status"]["alerts"]["open"]
    assert [h["household"] for h in report["households"]] == ["h"] == [h["household"] for h in
                                                                      pages["report"]["households"]]
    assert {lot["symbol"] for lot in lots} == {"VTI", "SCHB"} and [g["symbol"] for g in gains] == ["ITOT"]
    assert [s.household for s in pages["states"]] == ["h"] and pages["run"]["id"] == runs[0]["id"]
