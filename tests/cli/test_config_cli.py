"""`tlh config check`: the shipped example passes; errors name file and key; secrets never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_checks_out() -> None:
    result = CliRunner().invoke(app, ["config", "check", str(ROOT / "config" / "example.toml")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "joint-taxable" in result.output
    assert "[giving] agi_usd=(not set), agi_limit_pct=0.3, whole_shares=true" in result.output
    assert "circuit_breaker_benchmarks=[\"SPY\", \"VTI\"]" in result.output and "['" not in result.output
    assert "location classes: 14 (table: " in result.output and "asset_location.toml" in result.output


def test_unknown_key_fails_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[accounts]]\nid = "a"\nhousehold = "h"\nlot_methd = "fifo"\n')
    result = CliRunner().invoke(app, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert f"{bad}: accounts[0].lot_methd: unknown key" in result.output


def test_secrets_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text('[[accounts]]\nid = "a"\nhousehold = "h"\nbroker = "alpaca"\ncredentials = "JANE"\n')
    monkeypatch.setenv("ALPACA_JANE_API_KEY", "PKTESTKEY123456")
    key_file = tmp_path / "secret"
    key_file.write_text("very-secret-value-999\n")
    monkeypatch.setenv("ALPACA_JANE_SECRET_KEY_FILE", str(key_file))
    for fmt in ("table", "json"):
        result = CliRunner().invoke(app, ["config", "check", str(cfg), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "PKTESTKEY123456" not in result.output and "very-secret-value" not in result.output
    secrets = json.loads(result.output)["secrets"]
    assert secrets["ALPACA_JANE_API_KEY"] == "****56"
    assert secrets["ALPACA_JANE_SECRET_KEY"] == "****99"
