"""`tlh pause` and `tlh resume` against a running `tlh run` (a real process, the paper broker, an accelerated
clock): the pause stops the next harvest without a restart, the resume lets the one after it trade, and
both are alerts delivered to the configured channel."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from daemon import bookkeeping
from daemon.cli.main import app
from daemon.config import load_settings
from daemon.importers.csv_trades import parse
from daemon.store.db import make_engine, transaction
from daemon.store.models import HarvestRun
from tests.service.test_daemon_process import CONFIG, TRADES, Daemon

# Two sessions with VTI 8 % below its basis: Monday 2026-11-23 and Tuesday 2026-11-24.
PRICES = """date,symbol,close
2026-11-20,VTI,250
2026-11-20,ITOT,110
2026-11-20,SCHB,55
2026-11-23,VTI,230
2026-11-23,ITOT,101
2026-11-23,SCHB,50
2026-11-24,VTI,230
2026-11-24,ITOT,101
2026-11-24,SCHB,50
"""
# At 1800x: Monday's 15:45 harvest is about 11 s of real time after the start, Tuesday's 48 s later.
START, SPEED = "2026-11-23T09:59:00-05:00", 1800


def cli(cfg: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_pause_stops_the_next_harvest_of_a_running_daemon_and_resume_lets_the_one_after_trade(
        tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    (tmp_path / "prices.csv").write_text(PRICES)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.format(db=db_url, mode="paper"))
    cli(cfg, "db", "upgrade")
    engine = make_engine(db_url)
    bookkeeping.book(engine, load_settings(cfg), parse(TRADES, "t.csv", {"tax"}))

    with Daemon(cfg, tmp_path / "daemon.log", clock_start=START, speed=SPEED) as daemon:
        daemon.wait_for("schedule.next", next_harvest="2026-11-23T15:45:00-05:00")
        assert "paused" in cli(cfg, "pause", "--reason", "checking the statements")
        status = json.loads(cli(cfg, "status", "--format", "json", "--as-of", "2026-11-23"))
        assert status["halted"] and "checking the statements" in status["halt_reasons"][0]
        assert status["lease"]["alive"]  # the running daemon's heartbeat

        monday = daemon.wait_for("cycle.done", timeout=90)
        assert (monday["pairs"], monday["filled"]) == (0, 0)
        cli(cfg, "resume")
        tuesday = daemon.wait_for("cycle.done", timeout=150, pairs=1)
        assert tuesday["filled"] == 1
        assert daemon.stop() == 0

    with transaction(engine) as session:
        runs = {r.as_of.isoformat(): r for r in session.scalars(sa.select(HarvestRun))}
    engine.dispose()
    assert set(runs) == {"2026-11-23", "2026-11-24"}
    skipped = runs["2026-11-23"].plan["skipped"]
    assert [(s["account"], s["reason"]) for s in skipped] == [("tax", "paused")]
    assert "checking the statements" in skipped[0]["detail"]
    assert runs["2026-11-23"].plan["pairs"] == []
    assert [p["sell_symbol"] for p in runs["2026-11-24"].plan["pairs"]] == ["VTI"]
    orders = json.loads(cli(cfg, "orders", "--format", "json"))
    assert [(o["leg"], o["symbol"], o["status"]) for o in orders] == [("sell", "VTI", "filled"),
                                                                       ("buy", "ITOT", "filled")]
    # The pause and the resume are alerts, delivered to the channel like the daemon's own.
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert "paused" in kinds and "resumed" in kinds and kinds.index("paused") < kinds.index("resumed")
