"""Configuration errors name the file and the dotted key; paths resolve against the file's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigError, load_settings
from daemon.config.secrets import read_secret

BASE = """
database_url = "sqlite:///data/tlh.db"
[[accounts]]
id = "joint-taxable"
type = "taxable"
household = "smith"
broker = "paper"
lot_method = "fifo"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "tlh.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("extra", "message"), [
    ("[harvest]\nmin_loss_pct = 5\n", "harvest.min_loss_pct: must be between 0 and 1, got 5"),
    ("[harvest]\nmin_los_pct = 0.1\n", "harvest.min_los_pct: unknown key"),
    ("bogus = 1\n", "bogus: unknown key"),
    ('mode = "yolo"\n', "mode: input should be 'dry-run', 'paper' or 'live'"),
    ('[[accounts]]\nid = "b"\nhousehold = "smith"\ntype = "ira"\n', "accounts[1].type:"),
    ('[[accounts]]\nid = "b"\nhousehold = "s"\nbroker = "alpaca"\nlot_method = "hifo"\n',
     "accounts[1].lot_method: Alpaca relieves lots FIFO"),
    ('[[accounts]]\nid = "joint-taxable"\nhousehold = "s"\n', "duplicate account id 'joint-taxable'"),
    ("[brokers.ibkr]\nport = 0\n", "brokers.ibkr.port:"),
    ('[[identical]]\nsymbols = ["A", "B"]\n[[identical]]\nsymbols = ["B", "C"]\n', "B is in two identical groups"),
])
def test_errors_name_file_and_key(tmp_path: Path, extra: str, message: str) -> None:
    path = _write(tmp_path, BASE + extra if extra.startswith("[") else extra + BASE)
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert str(path) in str(exc.value)
    assert message in str(exc.value)


def test_relative_paths_resolve_against_the_files_folder(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, BASE + '[brokers.paper]\nprices = "p/prices.csv"\n'))
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'tlh.db'}"
    assert s.brokers.paper.prices == tmp_path / "p" / "prices.csv"


def test_user_identical_groups_override_shipped_ones(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, BASE + '[[identical]]\nsymbols = ["VOO", "MYFUND"]\n'))
    owners = [g.symbols for g in s.identical if "VOO" in g.symbols]
    assert owners == [["VOO", "MYFUND"]]
    assert s.asset_classes, "the shipped asset classes are merged in"


def test_no_shipped_substitutes_when_disabled(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path, 'substitutes = ""\n' + BASE))
    assert s.identical == [] and s.asset_classes == []


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "mode = \n"))


def test_secret_from_env_or_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("s3cret\n")
    assert read_secret("K", {"K": "direct"}) == "direct"
    assert read_secret("K", {"K_FILE": str(secret_file)}) == "s3cret"
    assert read_secret("K", {}) is None


def test_a_password_in_database_url_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'database_url = "postgresql+psycopg://tlh:hunter2@db:5432/tlh"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "database_url: holds a password" in str(exc.value) and "TLH_DATABASE_PASSWORD" in str(exc.value)
    assert "hunter2" not in str(exc.value)


def test_database_password_comes_from_a_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.store.db import normalize_url

    secret = tmp_path / "pw"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("TLH_DATABASE_PASSWORD_FILE", str(secret))
    assert normalize_url("postgresql://tlh@db/tlh").password == "s3cr3t"
    assert normalize_url("sqlite:///x.db").password is None


@pytest.mark.parametrize(("extra", "warned"), [
    ("", False),  # the defaults: 5 bps estimated, 2 charged
    ("[harvest]\ndefault_spread_bps = 1\n", True),
    ("[brokers.paper]\nspread_bps = 8\n", True),
    ("[harvest]\ndefault_spread_bps = 8\n[brokers.paper]\nspread_bps = 8\n", False),
])
def test_a_spread_estimate_below_what_the_paper_broker_charges_is_warned_about(tmp_path: Path, extra: str,
                                                                               warned: bool) -> None:
    settings = load_settings(_write(tmp_path, BASE + extra))
    found = [w for w in settings.warnings if w.startswith("harvest.default_spread_bps:")]
    assert bool(found) is warned
    if warned:
        assert "brokers.paper.spread_bps" in found[0]
    # No paper account: the paper broker's spread charges nothing the household pays.
    other = load_settings(_write(tmp_path, BASE.replace('broker = "paper"', 'broker = "alpaca"') + extra))
    assert not [w for w in other.warnings if w.startswith("harvest.default_spread_bps:")]
