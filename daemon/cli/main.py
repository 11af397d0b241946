"""`tlh`: the command line. Each command group lives in its own module; this one wires them up."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from daemon.config import Settings

# Start-up time is what a person waits for on every command (and `tlh --help`): this module and the command
# modules import only typer and the standard library at the top. SQLAlchemy, pandas, exchange_calendars,
# the broker SDKs, Apprise and structlog are imported inside the commands that use them
# (tests/cli/test_startup.py holds that line).

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
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
            files.use_mode(files.parse_mode(self._settings.file_mode))
            startup_done()
        assert self._settings is not None
        return self._settings


_collector_paused = False


def run() -> None:
    """The `tlh` console script: `app()` with the cyclic garbage collector paused while the command starts.

    Start-up allocates a few hundred thousand objects (modules, classes, SQLAlchemy's and pydantic's structures)
    and none of them is garbage, yet the collector would walk them all several times over: about a sixth of a
    read command's CPU time. It resumes once the command has imported what it needs and read its configuration
    (or when a command without one starts its work), with those objects frozen out of its sight."""
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True
    app()


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


@app.callback()
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


def _register() -> None:
    from daemon.cli import (
        backtest_cmd,
        config_cmd,
        db_cmd,
        giving_cmd,
        harvest_cmd,
        ledger_cmd,
        orders_cmd,
        pause_cmd,
        review_cmd,
        serve_cmd,
        service_cmd,
        status_cmd,
        substitutes_cmd,
    )

    app.add_typer(config_cmd.app, name="config", help="Check the configuration.")
    app.add_typer(db_cmd.app, name="db", help="Database schema (Alembic migrations).")
    app.add_typer(substitutes_cmd.app, name="substitutes", help="Check the asset classes' substitutes.")
    ledger_cmd.register(app)
    harvest_cmd.register(app)
    orders_cmd.register(app)
    pause_cmd.register(app)
    service_cmd.register(app)
    backtest_cmd.register(app)
    review_cmd.register(app)
    giving_cmd.register(app)
    serve_cmd.register(app)
    status_cmd.register(app)


_register()

if __name__ == "__main__":
    run()
