"""`tlh config check`: validate a file and show the effective settings, secrets masked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_json

app = typer.Typer(no_args_is_help=True)


def _toml(value: object) -> str:
    """A setting as it would be written in the TOML file: not set, true/false, ["SPY", "VTI"], no Python repr."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _toml(v) for v in value) + "]"
    return str(value)


def secrets_status(settings: Any) -> dict[str, str]:
    from daemon.config.secrets import SecretError, alpaca_key_names, mask, read_secret

    names = ["TLH_WEBHOOK_URL", "TLH_SMTP_PASSWORD"]
    if settings.database_url.startswith("postgres"):
        names.append("TLH_DATABASE_PASSWORD")
    for account in settings.accounts:
        if account.broker == "alpaca":
            names += list(alpaca_key_names(account.credentials))
    out = {}
    for name in dict.fromkeys(names):
        try:
            out[name] = mask(read_secret(name))
        except SecretError as exc:
            out[name] = f"error: {exc}"
    return out


def _deeper_checks(settings: Any, path: Path) -> None:
    """What loading does not check (it would slow every command): the exchange calendar exists, the price
    file can be read. The same checks `tlh run` makes before starting."""
    from daemon.config import ConfigError
    from daemon.prices import PriceFileError
    from daemon.service import scheduler
    from daemon.service.jobs import price_file

    problems = [p for p in scheduler.check_calendar(settings.schedule)]
    try:
        price_file(settings)
    except PriceFileError as exc:
        problems.append(("brokers.paper.prices", str(exc)))
    except OSError as exc:
        problems.append(("brokers.paper.prices", f"cannot read {settings.brokers.paper.prices}: {exc.strerror}"))
    if problems:
        raise ConfigError(path, problems)


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="File to check (default: --config).")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Validate a configuration file and print the effective settings (secrets masked)."""
    if fmt is Format.CSV:
        fail("--format csv: the settings are not a listing; use table or json")
    from daemon.config import ConfigError, load_settings

    path = file or context(ctx).config_path
    try:
        settings = load_settings(path)
        _deeper_checks(settings, path)
    except ConfigError as exc:
        fail(str(exc))
        return
    effective = settings.model_dump(mode="json")
    effective["secrets"] = secrets_status(settings)
    effective["warnings"] = settings.warnings
    for warning in settings.warnings:
        typer.echo(f"warning: {path}: {warning}", err=True)
    if fmt is Format.JSON:
        print_json(effective)
        return
    typer.echo(f"{path}: OK")
    typer.echo(f"  mode: {settings.mode}")
    typer.echo(f"  database_url: {settings.database_url}")
    for a in settings.accounts:
        typer.echo(f"  account {a.id}: {a.type.value}, household {a.household}, broker {a.broker}, "
                   f"lot_method {a.lot_method.value}")
    typer.echo(f"  identical groups: {len(settings.identical)}, asset classes: {len(settings.asset_classes)}"
               f" (substitutes: {settings.substitutes or 'none'})")
    for section in ("tax", "harvest", "schedule", "alerts"):
        typer.echo(f"  [{section}] " + ", ".join(f"{k}={_toml(v)}" for k, v in effective[section].items()))
    for name, value in effective["brokers"].items():
        typer.echo(f"  [brokers.{name}] " + ", ".join(f"{k}={_toml(v)}" for k, v in value.items()))
    typer.echo("  [giving] " + ", ".join(f"{k}={_toml(v)}" for k, v in effective["giving"].items()))
    typer.echo(f"  location classes: {len(settings.location.asset_classes)} (table: "
               f"{settings.location.table or 'none'}), min_annual_savings_usd="
               f"{settings.location.min_annual_savings_usd}")
    typer.echo("  secrets: " + ", ".join(f"{k}={v}" for k, v in effective["secrets"].items()))
