"""`tlh db upgrade`: run the Alembic migrations (the only way the schema is made)."""

from __future__ import annotations

import typer

from daemon.cli.main import context

app = typer.Typer(no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the configured database to the newest schema."""
    from daemon.store import migrate

    url = context(ctx).settings.database_url
    migrate.upgrade(url)
    typer.echo(f"database at revision {migrate.current(url)}")
