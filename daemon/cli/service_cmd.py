"""`tlh run` and `tlh health`: the service entry points (the scheduler arrives with the daemon issue)."""

from __future__ import annotations

from typing import Annotated

import structlog
import typer
from sqlalchemy import text

from daemon.cli.main import context, fail
from daemon.store import ledger_repo, migrate
from daemon.store.db import make_engine, transaction

log = structlog.get_logger(__name__)


def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One full cycle now, then exit.")] = False,
) -> None:
    """Run the daemon: migrate, check the configuration, run the main job."""
    settings = context(ctx).settings
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            ledger_repo.sync_accounts(session, settings)
            for household in sorted({a.household for a in settings.accounts}):
                state = ledger_repo.load_ledger(session, household)
                log.info("run.household", household=household, open_lots=len(state.open_lots),
                         through=str(state.through))
    finally:
        engine.dispose()
    if not once:
        fail("the scheduled service is not built yet; use `tlh run --once`")
    log.info("run.complete", mode=settings.mode)


def health(ctx: typer.Context) -> None:
    """Exit 0 when the database answers (for a container HEALTHCHECK)."""
    settings = context(ctx).settings
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is "unhealthy"; say which
        fail(f"database does not answer: {type(exc).__name__}", code=1)
    finally:
        engine.dispose()
    typer.echo("healthy")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("health")(health)
