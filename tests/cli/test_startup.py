"""Start-up: `tlh --help` (and a command's --help) must not pull in the heavy libraries. They are imported by
the commands that use them; importing them at the top of a command module costs every command, even
`--help`, about two seconds (benchmarks/startup.py measures the time; this test only checks what is loaded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Heavy at import (pandas and numpy alone take ~0.5 s and 50 MB) and needed by a few commands only.
HEAVY = ("pandas", "numpy", "exchange_calendars", "alpaca", "ib_async", "apprise", "sqlalchemy", "alembic",
         "structlog", "pydantic", "psycopg", "apscheduler")

PROBE = """
import json, sys
from daemon.cli.main import app
try:
    app(sys.argv[1:], prog_name="tlh")
except SystemExit as exc:
    code = exc.code
with open({out!r}, "w") as fh:
    json.dump({{"code": code, "modules": sorted(sys.modules)}}, fh)
"""


def loaded_by(tmp_path, *args: str) -> tuple[str, list[str]]:
    out = tmp_path / "modules.json"
    result = subprocess.run([sys.executable, "-c", PROBE.format(out=str(out)), *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["code"] in (0, None), result.stdout + result.stderr
    return result.stdout, data["modules"]


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


HOW = ("a command module imports these at its top: import them inside the command function that needs them "
       "(annotations under `if TYPE_CHECKING:`), see daemon/cli/main.py")


def test_help_lists_the_commands_without_loading_heavy_libraries(tmp_path) -> None:
    output, modules = loaded_by(tmp_path, "--help")
    for command in ("import", "lots", "gains", "harvest", "restrictions", "sync", "orders", "run", "health",
                    "backtest", "runs", "alerts", "report", "config", "db", "substitutes", "pause", "resume",
                    "donate", "location", "status", "serve"):
        assert f" {command} " in output, command
    assert sorted({m.split(".")[0] for m in heavy(modules)}) == [], HOW
    assert "rich" in {m.split(".")[0] for m in modules}  # the probe saw typer's help formatting at all


@pytest.mark.parametrize("command", ["harvest", "import", "lots", "report", "run", "backtest", "pause", "donate",
                                     "status", "serve"])
def test_a_commands_help_does_not_load_its_libraries(tmp_path, command: str) -> None:
    output, modules = loaded_by(tmp_path, command, "--help")
    assert "Usage:" in output and command in output
    # typer itself builds its option parsers with pydantic.
    assert sorted({m.split(".")[0] for m in heavy(modules)} - {"pydantic"}) == [], HOW


READ_ONLY_HEAVY = ("pandas", "numpy", "exchange_calendars", "alpaca", "ib_async", "apprise", "alembic",
                   "structlog", "apscheduler")


def test_read_commands_load_only_the_database_layer(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from daemon.cli.main import app

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "prices.csv").write_text((root / "config" / "demo" / "prices.csv").read_text())
    config = tmp_path / "tlh.toml"
    config.write_text((root / "config" / "demo.toml").read_text()
                      .replace("sqlite:///../var/demo.db", f"sqlite:///{tmp_path / 'tlh.db'}")
                      .replace('prices = "demo/prices.csv"', 'prices = "prices.csv"'))
    imported = CliRunner().invoke(app, ["--config", str(config), "import",
                                        str(root / "config" / "demo" / "trades.csv")])
    assert imported.exit_code == 0, imported.output
    # `status` computes the next sync and harvest from the exchange's sessions, which the first call keeps in
    # the cache folder (daemon.market_calendar): later ones do not load exchange_calendars and pandas.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _, first = loaded_by(tmp_path, "--config", str(config), "status")
    assert "exchange_calendars" in first and list((tmp_path / "cache" / "tlh-daemon" / "calendars").iterdir())
    for command in (["lots"], ["gains"], ["orders"], ["runs"], ["alerts"], ["restrictions"], ["status"]):
        output, modules = loaded_by(tmp_path, "--config", str(config), *command)
        assert sorted({m.split(".")[0] for m in modules} & set(READ_ONLY_HEAVY)) == [], (command, HOW)
        # The ledger's listings read a SQLite file through the driver (daemon.store.sql), the others with Core.
        assert ("sqlalchemy" in modules) is (command[0] not in ("lots", "gains")), command
        assert output.strip(), command  # it did read the database
    output, _ = loaded_by(tmp_path, "--config", str(config), "lots")
    assert "demo-taxable" in output and "Open lots as of 2022-12-30" in output


GC_PROBE = """
import gc, json, sys
import daemon.cli.main as main
seen = {{}}
resume = main.startup_done
def spy():
    seen.setdefault("paused_until_then", not gc.isenabled())
    resume()
main.startup_done = spy
sys.argv = ["tlh", *sys.argv[1:]]
try:
    main.run()
except SystemExit:
    pass
seen["enabled_at_exit"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count()
with open({out!r}, "w") as fh:
    json.dump(seen, fh)
"""


def test_the_console_script_pauses_the_collector_only_while_a_command_starts(tmp_path) -> None:
    """`tlh` (daemon.cli.main:run) starts with the cyclic GC off and turns it back on, the start-up's objects
    frozen, once the command has its configuration: the command's own work is collected as usual."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]["tlh"] == "daemon.cli.main:run"
    (tmp_path / "prices.csv").write_text((root / "config" / "demo" / "prices.csv").read_text())
    config = tmp_path / "tlh.toml"
    config.write_text((root / "config" / "demo.toml").read_text()
                      .replace("sqlite:///../var/demo.db", f"sqlite:///{tmp_path / 'tlh.db'}")
                      .replace('prices = "demo/prices.csv"', 'prices = "prices.csv"'))
    out = tmp_path / "gc.json"
    result = subprocess.run([sys.executable, "-c", GC_PROBE.format(out=str(out)), "--config", str(config), "runs"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(out.read_text())
    assert seen["paused_until_then"] is True and seen["enabled_at_exit"] is True and seen["frozen"] > 10_000
    # Called in-process (tests, `python -m`), `app` leaves the collector alone.
    import gc

    from typer.testing import CliRunner

    from daemon.cli.main import app

    assert gc.isenabled()
    assert CliRunner().invoke(app, ["--config", str(config), "runs"]).exit_code == 0
    assert gc.isenabled()


RUN_PROBE = """
import json, sys
import daemon.cli.main as main
sys.argv = ["tlh", *sys.argv[1:]]
try:
    main.run()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open({out!r}, "w") as fh:
    json.dump({{"code": code, "modules": sorted(sys.modules)}}, fh)
"""


def test_import_and_gains_json_load_neither_sqlalchemy_nor_rich(tmp_path) -> None:
    """`tlh import` and `gains --format json|csv` talk to a SQLite file through the driver (daemon.store.sql:
    importing SQLAlchemy would cost each a tenth of a second, issue 14; no quarantine unless a broker file has
    unmapped activities); `gains` draws no table (no rich); neither logs below the level asked for (no
    structlog)."""
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "tlh.toml"
    config.write_text((root / "config" / "demo.toml").read_text()
                      .replace("sqlite:///../var/demo.db", f"sqlite:///{tmp_path / 'tlh.db'}"))
    out = tmp_path / "modules.json"
    # A new store is migrated first (Alembic's environment loads the ORM models); then the import is timed.
    assert subprocess.run([sys.executable, "-c", RUN_PROBE.format(out=str(out)), "--config", str(config), "db",
                           "upgrade"], capture_output=True, timeout=60).returncode == 0
    trades = str(root / "config" / "demo" / "trades.csv")
    for command in (["import", trades], ["import", trades], ["gains", "--format", "csv", "--year", "2022"],
                    ["gains", "--format", "json"]):
        result = subprocess.run([sys.executable, "-c", RUN_PROBE.format(out=str(out)), "--config", str(config),
                                 "--log-level", "warning", *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        data = json.loads(out.read_text())
        assert data["code"] in (0, None), result.stdout + result.stderr
        modules = set(data["modules"])
        assert "daemon.store.sql" in modules and result.stdout.strip()  # it did use the database
        assert sorted(m for m in modules if m.split(".")[0] in ("sqlalchemy", "alembic", "rich", "structlog")
                      or m == "daemon.store.models") == [], command
        # The console script registers the one command module it needs (main.COMMANDS).
        assert sorted(m for m in modules if m.endswith("_cmd")) == ["daemon.cli.ledger_cmd"], command
    gains = json.loads(result.stdout)
    assert gains and {"account", "symbol", "gain", "term"} <= set(gains[0])  # the imported trades' sales


def test_the_command_table_names_what_each_module_registers() -> None:
    """`run` registers only the module `main.COMMANDS` gives for the command named: the table must say what
    each module adds, every command once."""
    import typer

    import daemon.cli.main as main

    for module, names in main.COMMANDS.items():
        target = typer.Typer()
        main.add_commands(target, module)
        added = [c.name for c in target.registered_commands] + [g.name for g in target.registered_groups]
        assert sorted(added) == sorted(names), module
    every = [name for names in main.COMMANDS.values() for name in names]
    assert len(every) == len(set(every))
    assert set(typer.main.get_command(main.app).commands) == set(every)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("args", "module"), [
    (["--config", "x.toml", "gains", "--format", "json"], "ledger_cmd"),
    (["-c", "x.toml", "--log-level", "warning", "import", "t.csv"], "ledger_cmd"),
    (["-cx.toml", "--log-json", "--config=y.toml", "--log-level=debug", "status"], "status_cmd"),
    (["db", "upgrade"], "db_cmd"),
    (["quarantine", "list"], "orders_cmd"),
    (["--help", "gains"], None),  # the top-level help lists every command
    (["--bogus", "gains"], None),
    (["gain"], None),  # "did you mean" needs every name
    ([], None),
])
def test_the_console_script_finds_the_module_of_the_command_named(args: list[str], module: str | None) -> None:
    import daemon.cli.main as main

    assert main._module_of(args) == module


HELP_PROBE = """
import sys
import daemon.cli.main as main
sys.argv = ["tlh", *sys.argv[2:]]
if sys.argv[1:2] == ["--full"]:
    del sys.argv[1]
    main.app(sys.argv[1:], prog_name="tlh")
main.run()
"""


@pytest.mark.parametrize("args", [["gains", "--help"], ["--config", "x.toml", "import"], ["db", "--help"],
                                  ["quarantine", "resolve", "--help"], ["--help"], ["gain"]])
def test_the_console_script_prints_what_the_whole_app_prints(args: list[str]) -> None:
    """Registering one module answers a command line as registering all of them does: help, usage errors."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("TLH_CONFIG", None)

    def tlh(*extra: str) -> tuple[int, str, str]:
        result = subprocess.run([sys.executable, "-c", HELP_PROBE, "-", *extra, *args], capture_output=True,
                                text=True, timeout=60, env=env)
        return result.returncode, result.stdout, result.stderr

    alone, whole = tlh(), tlh("--full")
    assert alone == whole
    assert "Usage: tlh" in alone[1] + alone[2]


def test_gains_summary_of_years_long_closed_asks_no_exchange_calendar(tmp_path, monkeypatch) -> None:
    """A year is provisional until 30 days after its last trading day: for a year whose Dec 31 is more than 30
    days past, no calendar is asked (exchange_calendars loads pandas, half a second), even with none cached."""
    from typer.testing import CliRunner

    from daemon.cli.main import app

    config = tmp_path / "tlh.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "tlh.db"}"\nsubstitutes = ""\n'
                      '[[accounts]]\nid = "tax"\nhousehold = "h"\n')
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price\n"
                                         "2023-03-01,tax,VOO,buy,10,400\n2023-06-01,tax,VOO,sell,10,380\n")
    imported = CliRunner().invoke(app, ["--config", str(config), "import", str(tmp_path / "trades.csv")])
    assert imported.exit_code == 0, imported.output
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing cached
    monkeypatch.setenv("TLH_AS_OF", "2024-03-01")  # 2023 closed more than 30 days ago
    output, modules = loaded_by(tmp_path, "--config", str(config), "gains", "--summary", "--format", "json")
    assert json.loads(output)[0]["year"] == 2023 and json.loads(output)[0]["provisional"] is False
    assert "exchange_calendars" not in modules and "pandas" not in modules
