"""`tlh run` as a real process: the paper broker, an accelerated clock started just before the 15:45 harvest
of 2026-11-25, a harvest that fires and fills, then SIGTERM and a clean exit with nothing half-written.
Also, in-process: a shutdown during a harvest starts no new pair and leaves every intent final.

The `Daemon` and `tlh` helpers here are shared with the lease and health tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from brokers.paper import PaperBroker
from daemon import bookkeeping
from daemon.config import load_settings
from daemon.importers.csv_trades import parse
from daemon.service import lease
from daemon.service.clock import SystemClock
from daemon.service.daemon import Service
from daemon.service.jobs import SHUTDOWN
from daemon.service.orders import FINAL
from daemon.store.db import make_engine, transaction
from daemon.store.models import Alert, HarvestRun, OrderIntent, PaperOrder
from tests.service.helpers import AS_OF, household, seed

TLH = str(Path(sys.executable).parent / "tlh")

CONFIG = """
database_url = "{db}"
mode = "{mode}"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
lot_method = "specific"
[[asset_classes]]
name = "us_total_market"
members = ["VTI", "ITOT", "SCHB"]
[harvest]
circuit_breaker = false
max_turnover_pct = 1
[schedule]
heartbeat_seconds = 1
lease_seconds = 5
[alerts]
jsonl_path = "alerts.jsonl"
[brokers.paper]
prices = "prices.csv"
starting_cash = 100
spread_bps = 0
"""
# The price file's last day is the day the clock starts on.
PRICES = """date,symbol,close
2026-11-24,VTI,250
2026-11-24,ITOT,110
2026-11-24,SCHB,55
2026-11-25,VTI,230
2026-11-25,ITOT,101
2026-11-25,SCHB,50
"""
TRADES = """date,account,symbol,side,quantity,price,fees,lot_id
2026-06-01,tax,VTI,buy,40,250,,vti-1
"""


def write_config(tmp_path: Path, db_url: str, mode: str = "paper") -> Path:
    (tmp_path / "prices.csv").write_text(PRICES)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url, mode=mode))
    return cfg


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TLH_", "ALPACA_"))}
    return env | extra


def tlh(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TLH, "--config", str(cfg), *args], env=_env(), capture_output=True, text=True,
                          timeout=120)


class Daemon:
    """A `tlh run` process whose JSON-lines log (stderr) is read back event by event."""

    def __init__(self, cfg: Path, log_path: Path, clock_start: str | None = None, speed: float | None = None):
        extra = {"TLH_CLOCK_START": clock_start} if clock_start else {}
        if speed:
            extra["TLH_CLOCK_SPEED"] = str(speed)
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([TLH, "--config", str(cfg), "--log-json", "run"], env=_env(**extra),
                                     stdout=subprocess.DEVNULL, stderr=self._log)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"event": "<text>", "line": line})
        return out

    def find(self, name: str, **match: Any) -> dict[str, Any] | None:
        return next((e for e in self.events()
                     if e.get("event") == name and all(e.get(k) == v for k, v in match.items())), None)

    def event(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        assert found is not None, f"no {name} in the log:\n{self.log_path.read_text()[-3000:]}"
        return found

    def saw(self, name: str) -> bool:
        return self.find(name) is not None

    def wait_for(self, name: str, timeout: float = 60, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (found := self.find(name, **match)) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {name} {match} (exit {self.proc.poll()}); log:\n{self.log_path.read_text()[-4000:]}")
            time.sleep(0.1)
        return found

    def stop(self, timeout: float = 15) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *_: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def test_daemon_fires_the_harvest_then_stops_cleanly(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    engine = make_engine(db_url)
    bookkeeping.book(engine, load_settings(cfg), parse(TRADES, "t.csv", {"tax"}))

    with Daemon(cfg, tmp_path / "daemon.log", clock_start="2026-11-25T15:44:30-05:00", speed=10) as daemon:
        first = daemon.wait_for("schedule.next")
        assert first["next_harvest"] == "2026-11-25T15:45:00-05:00"
        assert first["next_sync"] == "2026-11-27T10:00:00-05:00"  # Thanksgiving has no session
        fired = daemon.wait_for("schedule.fire", kind="harvest")
        assert fired["at"] == "2026-11-25T15:45:00-05:00" and fired["session"] == "2026-11-25"
        done = daemon.wait_for("cycle.done")
        assert (done["mode"], done["pairs"], done["filled"]) == ("paper", 1, 1)
        # The next harvest is the day after Thanksgiving's, 15 minutes before its 13:00 close.
        daemon.wait_for("schedule.next", next_harvest="2026-11-27T12:45:00-05:00")

        orders = json.loads(tlh(cfg, "orders", "--format", "json").stdout)
        assert [(o["leg"], o["symbol"], o["status"]) for o in orders] == [("sell", "VTI", "filled"),
                                                                           ("buy", "ITOT", "filled")]
        assert orders[0]["filled_quantity"] == "40"

        stopping = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - stopping < 5  # idle: out within a few seconds
        holder = daemon.event("lease.acquired")["holder"]
        assert daemon.saw("lease.released") and daemon.saw("daemon.stopped")
        assert not [e for e in daemon.events() if e.get("level") in ("error", "critical")]
        assert not daemon.saw("sqlite.gate_timeout") and not daemon.saw("lease.heartbeat_failed")

    with transaction(engine) as session:
        intents = session.scalars(sa.select(OrderIntent)).all()
        venue = session.scalars(sa.select(PaperOrder)).all()
        runs = session.scalars(sa.select(HarvestRun)).all()
        alerts = session.scalars(sa.select(Alert).where(Alert.kind == "orders_filled")).all()
    # Nothing half-written: every intent final, the venue's orders filled, the run recorded as executed.
    assert {i.status for i in intents} == {"filled"} and all(i.status in FINAL for i in intents)
    assert sorted((o.side, o.symbol, o.status) for o in venue) == [("buy", "ITOT", "filled"),
                                                                   ("sell", "VTI", "filled")]
    assert [(r.as_of, r.mode, r.status) for r in runs] == [(date(2026, 11, 25), "paper", "executed")]
    assert len(alerts) == 1 and "sold 40 VTI" in alerts[0].message and "ITOT" in alerts[0].message
    state = lease.current(engine)
    assert state is not None and state.holder == holder and state.expires_at <= datetime.now(UTC)
    engine.dispose()
    # Delivered to the JSON-lines channel right after the harvest, and marked so.
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [a["message"] for a in lines if a["kind"] == "orders_filled"] == [alerts[0].message]
    assert alerts[0].delivered


def test_run_once_harvests_on_the_price_files_last_day(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    engine = make_engine(db_url)
    bookkeeping.book(engine, load_settings(cfg), parse(TRADES, "t.csv", {"tax"}))
    ran = tlh(cfg, "--log-json", "run", "--once")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert '"event": "run.complete"' in ran.stderr
    with transaction(engine) as session:
        assert [(r.as_of, r.status) for r in session.scalars(sa.select(HarvestRun))] == [
            (date(2026, 11, 25), "executed")]
        assert {i.status for i in session.scalars(sa.select(OrderIntent))} == {"filled"}
    engine.dispose()


def test_run_once_recomputes_a_ledger_of_an_earlier_edition_of_the_rules_first(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.store import ledger_repo

    cfg = write_config(tmp_path, db_url, mode="dry-run")
    engine = make_engine(db_url)
    with monkeypatch.context() as m:
        m.setattr(ledger_repo, "RULES", 1)  # stored as an earlier edition would have
        bookkeeping.book(engine, load_settings(cfg), parse(TRADES, "t.csv", {"tax"}))
    ran = tlh(cfg, "--log-json", "run", "--once")
    assert ran.returncode == 0, ran.stderr[-3000:]
    events = [json.loads(line)["event"] for line in ran.stderr.splitlines() if line.startswith("{")]
    assert "ledger.recomputed" in events and "run.complete" in events
    assert events.index("ledger.recomputed") < events.index("run.complete")
    with transaction(engine) as session:
        assert not ledger_repo.stale_rules(session, "h")
    engine.dispose()


# --- shutdown during a harvest, in-process --------------------------------------------------------------

def _service(tmp_path: Path, db_url: str, stop: threading.Event) -> Service:
    settings, _, _ = household(tmp_path, db_url)
    service = Service(settings, SystemClock(), stop)
    seed(service.engine, settings)
    return service


def test_stopping_before_a_pair_sends_nothing_and_leaves_every_intent_final(tmp_path: Path, db_url: str) -> None:
    stop = threading.Event()
    service = _service(tmp_path, db_url, stop)
    stop.set()  # SIGTERM arrived as the harvest began
    try:
        result = service.cycle(AS_OF)
        assert len(result.plan.pairs) == 1 and result.outcomes[0].sell is None
        with transaction(service.engine) as session:
            intents = session.scalars(sa.select(OrderIntent)).all()
            assert session.scalar(sa.select(sa.func.count()).select_from(PaperOrder)) == 0
        assert sorted((i.leg, i.status) for i in intents) == [("buy", "abandoned"), ("sell", "abandoned")]
        assert all(i.error == SHUTDOWN for i in intents)
    finally:
        service.engine.dispose()


def test_stopping_after_a_sell_still_places_its_buy(tmp_path: Path, db_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    service = _service(tmp_path, db_url, stop)
    submit = PaperBroker.submit

    def submit_then_signal(self: PaperBroker, order: Any) -> Any:
        state = submit(self, order)
        stop.set()  # SIGTERM right after the sell went out
        return state

    monkeypatch.setattr(PaperBroker, "submit", submit_then_signal)
    try:
        service.cycle(AS_OF)
        with transaction(service.engine) as session:
            intents = session.scalars(sa.select(OrderIntent)).all()
            venue = session.scalars(sa.select(PaperOrder)).all()
        assert sorted((i.leg, i.status) for i in intents) == [("buy", "filled"), ("sell", "filled")]
        assert sorted(o.side for o in venue) == ["buy", "sell"]
    finally:
        service.engine.dispose()
