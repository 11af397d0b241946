"""`tlh pause` / `tlh resume`: a paused account (or the whole daemon) is skipped with reason `paused` until
resumed; the pause lives in the database, so the next command sees it without any restart."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app
from tests.cli.household import write_household


def _tlh(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(cfg), *args])
    return result.exit_code, result.output


def _plan(cfg: Path) -> dict:
    result = CliRunner().invoke(app, ["--config", str(cfg), "harvest", "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_paused_account_is_skipped_until_resumed(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    assert [p["sell_symbol"] for p in _plan(cfg)["pairs"]] == ["VTI"]
    code, out = _tlh(cfg, "pause", "--account", "tax", "--reason", "checking the broker's statement")
    assert code == 0, out
    assert "tax: paused (manual) until `tlh resume`" in out and "checking the broker's statement" in out
    plan = _plan(cfg)
    assert plan["pairs"] == []
    (skip,) = [s for s in plan["skipped"] if s["account"] == "tax"]
    assert skip["reason"] == "paused" and skip["symbol"] == "*"
    assert "checking the broker's statement" in skip["detail"]
    code, out = _tlh(cfg, "resume", "--account", "tax")
    assert code == 0 and "tax: resumed" in out
    assert [p["sell_symbol"] for p in _plan(cfg)["pairs"]] == ["VTI"]


def test_daemon_wide_pause_with_until_day_and_resume(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    until = (date.today() + timedelta(days=3)).isoformat()
    code, out = _tlh(cfg, "pause", "--until", until)
    assert code == 0, out
    assert f"all accounts: paused (manual) until {until}" in out
    assert [s["reason"] for s in _plan(cfg)["skipped"] if s["account"] == "tax"] == ["paused"]
    # Resuming one account does not lift the daemon-wide pause, and says what is still paused.
    code, out = _tlh(cfg, "resume", "--account", "tax")
    assert "nothing to resume" in out and "still paused: all accounts" in out
    code, out = _tlh(cfg, "resume")
    assert code == 0 and "all accounts: resumed" in out
    assert _plan(cfg)["pairs"]


def test_pause_rejects_unknown_account_bad_and_past_until(tmp_path: Path) -> None:
    cfg = write_household(tmp_path)
    code, out = _tlh(cfg, "pause", "--account", "nope")
    assert code == 2 and "no account 'nope'" in out and "tax, ira" in out
    code, out = _tlh(cfg, "pause", "--until", "next week")
    assert code == 2 and "--until: not a YYYY-MM-DD date" in out
    code, out = _tlh(cfg, "pause", "--until", "2020-01-01")
    assert code == 2 and "must be after today" in out
    assert [p["sell_symbol"] for p in _plan(cfg)["pairs"]] == ["VTI"]  # nothing was paused
