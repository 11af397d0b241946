"""`tlh`: the command line. Each command group lives in its own module; this one wires them up."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from daemon.config import Settings

# Start-up time is what a person waits for on every command (and `tlh --help`): this module and the command
# modules import only typer and the standard library at the top. SQLAlchemy, pandas, exchange_calendars,
# the broker SDKs, Apprise and structlog are imported inside the commands that use them
# (tests/cli/test_startup.py holds that line).

# `app` (module __getattr__ below) is this one with every command registered.
_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                   help="tlh-daemon: tax-loss harvesting with household-wide wash-sale accounting.")


@dataclass
class Context:
    config_path: Path
    _settings: Settings | None = field(default=None)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from daemon.config import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                fail(str(exc))
            from daemon import files

            assert self._settings is not None
            global _database_url
            _database_url = self._settings.database_url  # named by `run` if the database fails
            files.use_mode(files.parse_mode(self._settings.file_mode))
            startup_done()
        assert self._settings is not None
        return self._settings


_collector_paused = False
_database_url: str | None = None  # the loaded configuration's


def run() -> None:
    """The `tlh` console script: `app()` with the cyclic garbage collector paused while the command starts,
    and only the commands of the module of the command named registered (`COMMANDS`).

    Start-up allocates a few hundred thousand objects (modules, classes, SQLAlchemy's and pydantic's structures)
    and none of them is garbage, yet the collector would walk them all several times over: about a sixth of a
    read command's CPU time. It resumes once the command has imported what it needs and read its configuration
    (or when a command without one starts its work), with those objects frozen out of its sight.

    When the command is done, whatever is left is frozen too: the interpreter's shutdown collections would
    walk every object still alive (after an import, whose bulk work unfreezes the start-up's objects: a tenth
    of its CPU time) only to free them, which reference counting does anyway. A cycle left at exit goes
    uncollected, its memory back to the system with the process's (every command disposes of its engines and
    closes its files itself)."""
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True
    module = _module_of(sys.argv[1:])
    try:
        _register(None if module is None else (module,))()
    except Exception as exc:
        price_index = sys.modules.get("daemon.price_index")
        if price_index is not None and isinstance(exc, price_index.CorruptIndex):
            typer.echo(f"error: {exc}", err=True)  # a cache, not the store: says which file and what to do
            raise SystemExit(1) from None
        problem = database_problem(exc)
        if problem is None:
            raise
        # A store that cannot be opened or answer (a wrong database_url, a full disk, a server down): one
        # line saying so, not a traceback. The transaction that failed was rolled back (a command that
        # committed an earlier one, e.g. an import before quarantining a broker file's leftovers, keeps it).
        from daemon.config.urls import redact

        where = f" {redact(_database_url)}" if _database_url else ""
        typer.echo(f"error: database{where}: {problem}", err=True)
        raise SystemExit(1) from None
    finally:
        gc.freeze()


def database_problem(exc: BaseException) -> str | None:
    """What a database error says (the driver's message, any URL in it redacted), or None for any other
    exception. The drivers' and SQLAlchemy's classes are looked up only if something loaded them."""
    import sqlite3

    from daemon.config.urls import redact

    orig: BaseException | None = None
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.DBAPIError):
        orig = exc.orig
    elif isinstance(exc, sqlite3.Error):
        orig = exc
    elif (psycopg := sys.modules.get("psycopg")) is not None and isinstance(exc, psycopg.Error):
        orig = exc
    if orig is None:
        return None
    return f"{type(orig).__name__}: {redact(' '.join(str(orig).split()))}"  # one line (psycopg's has several)


def startup_done() -> None:
    """Resume the collector paused by `run` (a no-op otherwise, e.g. when `app` is called in-process)."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


@_app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", "-c", envvar="TLH_CONFIG",
                                         help="Configuration file (TOML).")] = Path("tlh.toml"),
    log_json: Annotated[bool, typer.Option("--log-json", help="Logs as JSON lines, even on a terminal.")]
    = False,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
) -> None:
    from daemon import logs

    # structlog is configured when a module that logs first imports it: commands that never log (lots,
    # gains, a command's --help) do not load it.
    logs.configure_on_import(json=True if log_json else None, level=log_level)
    ctx.obj = Context(config_path=config)


# The command modules in the order `tlh --help` lists their commands, and the top-level commands each adds
# (a group's module adds its `app` under the group's name). `run` imports and registers only the module of
# the command its command line names: building typer's parsers for every command took 25 ms of each command's
# start. tests/cli/test_startup.py holds this table to what the modules register.
COMMANDS: dict[str, tuple[str, ...]] = {
    "config_cmd": ("config",),
    "db_cmd": ("db",),
    "substitutes_cmd": ("substitutes",),
    "ledger_cmd": ("reconcile-1099b", "import", "lots", "gains"),
    "harvest_cmd": ("harvest", "restrictions"),
    "orders_cmd": ("sync", "quarantine", "orders"),
    "pause_cmd": ("pause", "resume"),
    "service_cmd": ("run", "health"),
    "backtest_cmd": ("backtest",),
    "review_cmd": ("runs", "alerts", "report"),
    "giving_cmd": ("donate", "location"),
    "serve_cmd": ("serve",),
    "status_cmd": ("status",),
}
GROUPS = {"config": "Check the configuration.", "db": "Database schema (Alembic migrations).",
          "substitutes": "Check the asset classes' substitutes."}
_registered: set[str] = set()


def add_commands(target: typer.Typer, module_name: str) -> None:
    """Add the commands of the command module `module_name` (e.g. "ledger_cmd") to `target`."""
    module = importlib.import_module(f"daemon.cli.{module_name}")
    group = module_name.removesuffix("_cmd")
    if group in GROUPS:
        target.add_typer(module.app, name=group, help=GROUPS[group])
    else:
        module.register(target)


def _register(modules: Collection[str] | None = None) -> typer.Typer:
    """The app with the commands of `modules` registered (None: every command)."""
    if modules is None and len(_registered) < len(COMMANDS):
        # Every command in the table's order (`tlh --help` lists them so), whatever was registered before.
        _app.registered_commands.clear()
        _app.registered_groups.clear()
        _registered.clear()
    for name in COMMANDS if modules is None else modules:
        if name not in _registered:
            _registered.add(name)
            add_commands(_app, name)
    return _app


def _module_of(args: Sequence[str]) -> str | None:
    """The module of the command `args` (a command line without the program) names; None when they name
    none, or ask for the top-level help, or hold an option this scan does not know: every command then."""
    rest = iter(args)
    for arg in rest:
        if arg in ("--config", "-c", "--log-level"):
            next(rest, None)  # the option's value
        elif arg == "--log-json" or arg.startswith(("--config=", "--log-level=")) or (
                arg.startswith("-c") and not arg.startswith("--")):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return next((module for module, names in COMMANDS.items() if arg in names), None)
    return None


def __getattr__(name: str) -> Any:
    # `app` with every command (tests, the dashboard, `python -m`): registered on first use, not at import.
    if name == "app":
        app = _register()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    run()
