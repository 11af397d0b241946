"""Finding 3 as a person meets it: with the broker down, `tlh harvest` and `tlh run --once` store an error
alert and exit non-zero (they exited 0, silently). On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.store.db import make_engine
from tests.failclosed import alpaca_household as hh


@pytest.mark.parametrize("command", [["harvest"], ["run", "--once"]])
def test_outage_exits_non_zero_with_an_error_alert(tmp_path: Path, db_url: str, command: list[str]) -> None:
    alpaca = hh.fake()
    try:
        cfg = hh.write_config(tmp_path, alpaca, db_url)
        runner = CliRunner(env=hh.ENVIRON)
        imported = runner.invoke(app, ["--config", str(cfg), "import", str(tmp_path / "history.csv")])
        assert imported.exit_code == 0, imported.output
        alpaca.outage(500)
        result = runner.invoke(app, ["--config", str(cfg), *command])
    finally:
        alpaca.stop()
    assert result.exit_code == 1, result.output
    assert "broker unavailable, not traded: tax" in result.output
    assert alpaca.received("POST", "/v2/orders") == []
    engine = make_engine(db_url)
    try:
        (alert,) = hh.alerts(engine, "broker_unavailable")
    finally:
        engine.dispose()
    assert alert.severity == "error" and alert.account_id == "tax"
