"""`tlh pause` and `tlh resume`: stop and restart harvesting, for one account or the whole daemon.

A running daemon reads pauses from the database at every job: no restart needed either way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli.delivery import deliver_raised
from daemon.cli.main import context, fail

if TYPE_CHECKING:
    from daemon.config.models import Settings


def _account(settings: Settings, account: str | None) -> str | None:
    if account is not None and settings.account(account) is None:
        known = ", ".join(a.id for a in settings.accounts) or "none configured"
        fail(f"--account: no account {account!r} in the configuration (accounts: {known})")
    return account


def pause_cmd(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Pause this account only (default: all).")]
    = None,
    reason: Annotated[str, typer.Option("--reason", help="Why; shown in every skipped run and in status.")]
    = "paused by hand",
    until: Annotated[str | None, typer.Option("--until", help="Harvesting resumes on this day (YYYY-MM-DD); "
                                                              "default: until `tlh resume`.")] = None,
) -> None:
    """Stop harvesting (one account, or everything) until `tlh resume` or the --until day."""
    from daemon.service import pause
    from daemon.store import migrate
    from daemon.store.db import make_engine, transaction

    settings = context(ctx).settings
    scope = _account(settings, account)
    day: date | None = None
    if until is not None:
        try:
            day = date.fromisoformat(until)
        except ValueError:
            fail(f"--until: not a YYYY-MM-DD date: {until!r}")
            return
        if day <= datetime.now().date():
            fail(f"--until {day}: must be after today (harvesting resumes on that day)")
    if not reason.strip():
        fail("--reason: must not be empty")
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            made = pause.pause_and_alert(session, account=scope, reason=reason.strip(), until=day)
        deliver_raised(engine, settings)
    finally:
        engine.dispose()
    typer.echo(f"{made.scope}: {made.describe()}")


def resume_cmd(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Resume this account (default: the "
                                                                  "daemon-wide pause).")] = None,
) -> None:
    """Resume harvesting: resolve the pauses of one account (--account), or the daemon-wide pause."""
    from daemon.service import pause
    from daemon.store import migrate
    from daemon.store.db import make_engine, transaction

    settings = context(ctx).settings
    scope = _account(settings, account)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            resolved = pause.resume_and_alert(session, account=scope)
            left = pause.unresolved(session)
        deliver_raised(engine, settings)
    finally:
        engine.dispose()
    name = scope if scope is not None else "all accounts"
    if not resolved:
        typer.echo(f"{name}: nothing to resume (no pause in force)")
    for p in resolved:
        typer.echo(f"{name}: resumed ({p.kind}: {p.reason})")
    for p in left:
        typer.echo(f"still paused: {p.scope}: {p.describe()}"
                   + (f" (tlh resume --account {p.account})" if p.account else ""))


def register(app: typer.Typer) -> None:
    app.command("pause")(pause_cmd)
    app.command("resume")(resume_cmd)
