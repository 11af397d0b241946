"""`tlh status` on the CLI household: after a paper harvest, with a pause, and its JSON contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.config import load_settings
from daemon.service import lease
from daemon.store.db import make_engine
from tests.cli.household import write_household


def tlh(cfg: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args], env={"COLUMNS": "120"})
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def test_status_after_a_paper_harvest(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
    tlh(cfg, "harvest")
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert set(s) >= {"mode", "halted", "halt_reasons", "pauses", "lease", "last_run", "next", "accounts", "alerts",
                      "households", "today"}
    assert (s["mode"], s["today"], s["halted"], s["halt_reasons"]) == ("paper", "2024-05-29", False, [])
    assert s["lease"]["released"] is True  # `tlh harvest` held the harvester lease while trading (issue 12)
    run = s["last_run"]
    assert (run["mode"], run["status"], run["pairs"], run["estimated_loss"]) == ("paper", "executed", 1, "800.00")
    assert run["outcome"] == "executed: 1 pair(s), estimated loss $800.00"
    # The next sync and harvest come from the exchange calendar, after now, sync at 10:00 and harvest 15:45
    # (or 12:45 on an early close) New York time.
    now = datetime.fromisoformat(s["now"])
    nxt = {k: datetime.fromisoformat(v) for k, v in s["next"].items()}
    assert now < nxt["sync"] and now < nxt["harvest"]
    assert nxt["sync"].strftime("%H:%M") == "10:00" and nxt["harvest"].strftime("%H:%M") in ("15:45", "12:45")
    accounts = {a["id"]: a for a in s["accounts"]}
    assert accounts["tax"]["sync"] == "in sync" and accounts["tax"]["harvested"] is True
    assert accounts["ira"]["harvested"] is False
    # The filled sale's short-term loss (800 planned, 800.92 at the paper broker's bid) at 37 % + 3.8 % NIIT,
    # the figures of `tlh report`.
    (household,) = s["households"]
    assert (household["household"], household["year"], household["harvested"]) == ("h", 2024, "800.92")
    assert Decimal(household["tax_saved"]) == (Decimal("800.92") * Decimal("0.408")).quantize(Decimal("0.01"))
    assert household["harvest_sales"] == 1
    (reported,) = json.loads(tlh(cfg, "report", "--format", "json"))["households"]
    assert (reported["harvested"], reported["tax_saved"]) == (household["harvested"], household["tax_saved"])
    table = tlh(cfg, "status")
    for text in ("tlh-daemon status", "harvesting", "on", "executed: 1 pair(s)",
                 "next harvest", "Accounts", "in sync", "not harvested", "$800.92", "$326.78",
                 "none running:"):  # the harvest's own lease, released
        assert text in table, text


def test_status_shows_pauses_halt_and_the_harvester(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    tlh(cfg, "harvest", "--dry-run")
    tlh(cfg, "pause", "--account", "tax", "--reason", "checking the 1099")
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert not s["halted"] and [p["account"] for p in s["pauses"]] == ["tax"]
    assert "checking the 1099" in next(a for a in s["accounts"] if a["id"] == "tax")["paused"]
    tlh(cfg, "pause", "--reason", "market closed early")
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert s["halted"] and any("market closed early" in r for r in s["halt_reasons"])
    assert "HALTED" in tlh(cfg, "status")
    tlh(cfg, "resume")
    tlh(cfg, "resume", "--account", "tax")
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert not s["halted"] and s["pauses"] == [] and s["halt_reasons"] == []
    # A harvester holding the lease: its holder and heartbeat age.
    settings = load_settings(cfg)
    engine = make_engine(settings.database_url)
    try:
        from datetime import timedelta

        assert lease.acquire(engine, "host:1:abc", datetime.now(UTC), timedelta(seconds=60))
    finally:
        engine.dispose()
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert s["lease"]["holder"] == "host:1:abc" and s["lease"]["alive"] and s["lease"]["heartbeat_age_seconds"] < 60
    assert "host:1:abc, last heartbeat" in tlh(cfg, "status")
    # The configuration's halt is the start-up default, shown as such.
    cfg.write_text(cfg.read_text().replace("[harvest]\n", "[harvest]\nhalt = true\n"))
    s = json.loads(tlh(cfg, "status", "--format", "json"))
    assert s["halted"] and s["halt_reasons"] == ["[harvest] halt = true in the configuration"]


def test_status_on_a_database_never_created(tmp_path: Path) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text('database_url = "sqlite:///nothing.db"\n[[accounts]]\nid = "a"\nhousehold = "h"\n')
    out = tlh(cfg, "status", code=1)
    assert "cannot read the database" in out and "tlh db upgrade" in out
