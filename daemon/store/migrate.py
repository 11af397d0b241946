"""Alembic, driven from code: the migrations are the only thing that creates or changes the schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

import migrations
from daemon.store.db import make_engine, normalize_url


def alembic_config(url: str | URL) -> Config:
    """An Alembic config pointing at the packaged `migrations` directory; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    rendered = normalize_url(url).render_as_string(hide_password=False)
    # env.py reads the URL from attributes; the main option is for Alembic's own messages and must
    # escape '%' (configparser interpolation; URL-encoded passwords contain it).
    config.attributes["url"] = rendered
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database to `revision`; a no-op when it is already there."""
    command.upgrade(alembic_config(url), revision)


def head() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current(url: str | URL) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def is_current(url: str | URL) -> bool:
    """True when the database schema matches the code: the daemon refuses to run otherwise."""
    return current(url) == head()
