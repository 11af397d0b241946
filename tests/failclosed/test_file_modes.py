"""Finding 10 of issue 12: the files the daemon creates (the SQLite database, the alerts file, reports) are
0600, or `file_mode` when configured; they were created world-readable (0644)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app
from tests.cli.household import write_household


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_alerts_and_report_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which made them 0644
    try:
        cfg = write_household(tmp_path)  # imports the trades: creates tlh.db
        cfg.write_text(cfg.read_text().replace('substitutes = ""', 'substitutes = ""\nmode = "paper"'))
        assert CliRunner().invoke(app, ["--config", str(cfg), "harvest"]).exit_code == 0
        assert CliRunner().invoke(app, ["--config", str(cfg), "alerts", "--deliver"]).exit_code == 0
        report = tmp_path / "out" / "report.html"
        result = CliRunner().invoke(app, ["--config", str(cfg), "report", "--format", "html", "--output",
                                          str(report)])
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    assert _mode(tmp_path / "tlh.db") == 0o600
    assert (tmp_path / "alerts.jsonl").exists() and _mode(tmp_path / "alerts.jsonl") == 0o600
    assert _mode(report) == 0o600
    wal = tmp_path / "tlh.db-wal"
    assert not wal.exists() or _mode(wal) == 0o600


def test_configured_file_mode(tmp_path: Path) -> None:
    (tmp_path / "tlh.toml").write_text('file_mode = "0640"\ndatabase_url = "sqlite:///tlh.db"\nsubstitutes = ""\n'
                                       '[[accounts]]\nid = "tax"\nhousehold = "h"\n')
    old = os.umask(0o077)
    try:
        result = CliRunner().invoke(app, ["--config", str(tmp_path / "tlh.toml"), "lots"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert _mode(tmp_path / "tlh.db") == 0o640
