"""Findings 8-10 of issue 12: every input accepted is meant. Locale-ambiguous numbers, absurd quantities and
future dates in CSV and Flex files; unknown time zones and calendars, a heartbeat longer than the lease, a
missing price file, one IB account in two households, identical funds in one asset class, case-variant
symbols, a non-UTF-8 or directory config path; an [[identical]] edit that splits a shipped group; secrets in
URLs. Each is an error or warning naming the file and line or key, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.config.urls import redact
from tests.importers.test_ibkr_flex import _error, _report, _trade

BASE = """
database_url = "sqlite:///tlh.db"
substitutes = ""
[[accounts]]
id = "tax"
household = "h"
"""


def _tlh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _check(tmp_path: Path, extra: str, base: str = BASE) -> tuple[int, str]:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(base + extra)
    return _tlh("--config", str(cfg), "config", "check")


# -- finding 8: numbers and dates in imported files --------------------------------------------------------

@pytest.mark.parametrize(("row", "message"), [
    ("2024-01-02,tax,VTI,buy,\"1,5\",250", "quantity: ambiguous number '1,5'"),
    ("2024-01-02,tax,VTI,buy,\"1,50\",250", "quantity: ambiguous number '1,50'"),
    ("2024-01-02,tax,VTI,buy,1e30,250", "quantity: '1e30' is out of range"),
    ("2024-01-02,tax,VTI,buy,10,1e30", "price: '1e30' is out of range"),
    ("2999-01-02,tax,VTI,buy,10,250", "date: 2999-01-02 is in the future"),
])
def test_csv_refuses_what_it_cannot_mean(tmp_path: Path, row: str, message: str) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(BASE)
    trades = tmp_path / "trades.csv"
    trades.write_text(f"date,account,symbol,side,quantity,price\n2024-01-02,tax,BND,buy,1,70\n{row}\n")
    code, out = _tlh("--config", str(cfg), "import", str(trades))
    assert code != 0 and f"{trades}:3:" in out and message in out, out
    code, out = _tlh("--config", str(cfg), "lots", "--format", "json")
    assert code == 0 and "BND" not in out  # all or nothing


def test_csv_reads_unambiguous_grouping(tmp_path: Path) -> None:
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(BASE)
    trades = tmp_path / "trades.csv"
    trades.write_text('date,account,symbol,side,quantity,price\n2024-01-02,tax,VTI,buy,"1,500.5","$1,234,567"\n')
    code, out = _tlh("--config", str(cfg), "import", str(trades))
    assert code == 0, out
    code, out = _tlh("--config", str(cfg), "lots", "--format", "json")
    assert '"quantity": "1500.5"' in out


@pytest.mark.parametrize(("attrs", "message"), [
    ({"quantity": "1,5"}, "quantity: ambiguous number '1,5'"),
    ({"quantity": "1e30"}, "quantity: '1e30' is out of range"),
    ({"tradeDate": "29990105"}, "tradeDate: 2999-01-05 is in the future"),
])
def test_flex_refuses_what_it_cannot_mean(tmp_path: Path, attrs: dict[str, str], message: str) -> None:
    text = _report(_trade(ibExecID="ok.1"), _trade(**{"ibExecID": "bad.1", "description": "BAD", **attrs}))
    err = _error(tmp_path, text, 'description="BAD"')
    assert message in err.reason


# -- finding 8: the configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "key", "message"), [
    ('[schedule]\ntimezone = "Mars/Olympus"\n', "schedule.timezone", "unknown time zone"),
    ('[schedule]\ncalendar = "NOPE"\n', "schedule.calendar", "unknown exchange calendar"),
    ('[schedule]\nheartbeat_seconds = 90\nlease_seconds = 60\n', "schedule",
     "heartbeat_seconds (90) must be less than lease_seconds (60)"),
    ('[brokers.paper]\nprices = "missing.csv"\n', "brokers.paper.prices", "cannot read"),
    ('[[accounts]]\nid = "ib1"\nhousehold = "h"\nbroker = "ibkr"\nbroker_account = "U1"\n'
     '[[accounts]]\nid = "ib2"\nhousehold = "other"\nbroker = "ibkr"\nbroker_account = "U1"\n', "accounts",
     "name the same IB broker_account 'U1'"),
    ('[[asset_classes]]\nname = "us"\nmembers = ["voo ", "VOO", "VTI"]\n', "asset_classes[0].members",
     "VOO is listed twice ('voo ', 'VOO')"),
    ('[[identical]]\nsymbols = ["VOO", "ivv", "IVV"]\n', "identical[0].symbols", "IVV is listed twice"),
    ('file_mode = "0777"\n', "file_mode", "without execute bits"),
])
def test_config_check_names_the_key(tmp_path: Path, extra: str, key: str, message: str) -> None:
    code, out = _check(tmp_path, extra) if not extra.startswith("file_mode") else _check(tmp_path, "", extra + BASE)
    assert code == 2, out
    assert f"{tmp_path / 'tlh.toml'}: {key}" in out and message in out, out


def test_identical_funds_in_one_asset_class_warn(tmp_path: Path) -> None:
    code, out = _check(tmp_path, '[[identical]]\nsymbols = ["VOO", "IVV"]\n'
                                 '[[asset_classes]]\nname = "sp"\nmembers = ["VOO", "IVV", "VTI"]\n')
    assert code == 0, out
    assert f"warning: {tmp_path / 'tlh.toml'}: asset_classes[0].members: VOO and IVV are identical" in out


def test_unreadable_config_files_are_errors_not_tracebacks(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(BASE.encode() + b'[[accounts]]\nid = "caf\xe9"\nhousehold = "h"\n')
    code, out = _tlh("--config", str(latin), "config", "check")
    assert code == 2 and f"{latin}: line 8: not UTF-8 text (byte 0xe9)" in out, out
    folder = tmp_path / "conf.d"
    folder.mkdir()
    code, out = _tlh("--config", str(folder), "config", "check")
    assert code == 2 and f"{folder}: is a directory" in out, out


# -- finding 9: an [[identical]] edit that splits a shipped group ---------------------------------------------

def test_moving_a_fund_out_of_a_shipped_group_warns(tmp_path: Path) -> None:
    base = BASE.replace('substitutes = ""\n', "")  # the shipped groups
    code, out = _check(tmp_path, '[[identical]]\nsymbols = ["VOO", "VFIAX"]\n', base=base)
    assert code == 0, out
    assert "warning:" in out and "identical[0]: takes VOO out of the shipped identical group " \
                                 "[VOO, IVV, SPY, SPLG]" in out
    assert "no longer detected as a wash sale" in out
    code, out = _check(tmp_path, '[[identical]]\nsymbols = ["VOO", "IVV", "SPY", "SPLG", "VFIAX"]\n', base=base)
    assert code == 0 and "warning:" not in out, out


# -- finding 10: secrets in URLs -------------------------------------------------------------------------------

@pytest.mark.parametrize(("top", "alpaca", "key", "variable"), [
    ('database_url = "postgresql://tlh@db/tlh?password=hunter2"', "", "database_url", "TLH_DATABASE_PASSWORD"),
    ('database_url = "postgresql://tlh@db/tlh?sslmode=require&Token=hunter2"', "", "database_url",
     "TLH_DATABASE_PASSWORD"),
    ("", 'base_url = "https://PKKEY:hunter2@paper-api.alpaca.markets"', "brokers.alpaca.base_url", "ALPACA_API_KEY"),
    ("", 'data_url = "https://data.alpaca.markets/?apiKey=hunter2"', "brokers.alpaca.data_url", "ALPACA_API_KEY"),
])
def test_credentials_in_urls_are_refused_naming_the_variable(tmp_path: Path, top: str, alpaca: str, key: str,
                                                             variable: str) -> None:
    base = (top + "\n" + BASE.replace('database_url = "sqlite:///tlh.db"\n', "")) if top else BASE
    code, out = _check(tmp_path, f"[brokers.alpaca]\n{alpaca}\n" if alpaca else "", base=base)
    assert code == 2, out
    assert f"{key}: holds a credential" in out and variable in out
    assert "hunter2" not in out


def test_a_user_name_alone_and_tls_paths_are_fine(tmp_path: Path) -> None:
    extra = 'database_url = "postgresql://tlh@db/tlh?sslmode=verify-full&sslkey=/run/secrets/key"\n'
    code, out = _check(tmp_path, "", base=extra + BASE.replace('database_url = "sqlite:///tlh.db"\n', ""))
    assert code == 0, out


def test_logged_errors_lose_query_strings_and_user_info() -> None:
    text = ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
            "/v2/account?token=hunter2 (Caused by NewConnectionError)")
    assert redact(text) == ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
                            "/v2/account?**** (Caused by NewConnectionError)")
    assert "hunter2" not in redact("could not connect to postgresql://tlh:hunter2@db:5432/tlh")
