"""`tlh db upgrade`: run the Alembic migrations (the only way the schema is made)."""

from __future__ import annotations

import typer

from daemon.cli.main import context

app = typer.Typer(no_args_is_help=True)


# Revisions after which the stored ledger (a cache of the pure ledger's output) must be recomputed, because
# the ledger's rules changed with them: 0005 replays events in execution-time order.
RECOMPUTE_AFTER = ("0005",)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the configured database to the newest schema."""
    from daemon.store import migrate

    settings = context(ctx).settings
    url = settings.database_url
    before = migrate.current(url)
    migrate.upgrade(url)
    after = migrate.current(url)
    typer.echo(f"database at revision {after}")
    if before is not None and before != after and any(before < rev <= (after or "") for rev in RECOMPUTE_AFTER):
        from daemon import bookkeeping
        from daemon.store.db import make_engine

        engine = make_engine(url)
        try:
            states = bookkeeping.recompute(engine, settings)
        finally:
            engine.dispose()
        typer.echo(f"ledger recomputed for {len(states)} household(s): the rules changed in this upgrade")
        return
    from daemon import bookkeeping
    from daemon.store.db import make_engine

    engine = make_engine(url)
    try:
        stale = bookkeeping.recompute_stale(engine, settings)
    finally:
        engine.dispose()
    if stale:
        typer.echo(f"ledger recomputed for {', '.join(stale)}: computed under an earlier edition of the rules")
