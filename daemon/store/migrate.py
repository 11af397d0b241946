"""Alembic, driven from code: the migrations are the only thing that creates or changes the schema."""

from __future__ import annotations

import ast
import sqlite3
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import migrations
from daemon.store import sqlite

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import URL

# SQLAlchemy and the engines are imported by the functions that use them: `upgrade` on a store already at
# the head (every command's first step) answers without them for a SQLite file.

VERSIONS = Path(migrations.__file__).parent / "versions"


def alembic_config(url: str | URL) -> Config:
    """An Alembic config pointing at the packaged `migrations` directory; no alembic.ini needed."""
    from alembic.config import Config

    from daemon.store.db import normalize_url

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    rendered = normalize_url(url).render_as_string(hide_password=False)
    # env.py reads the URL from attributes; the main option is for Alembic's own messages and must
    # escape '%' (configparser interpolation; URL-encoded passwords contain it).
    config.attributes["url"] = rendered
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database to `revision`; a no-op when it is already there.

    Every command calls this first. The usual case, a database already at the head, is answered by one
    query and a look at the migration files, without Alembic (importing it and loading its environment
    costs a command most of a second)."""
    if revision == "head" and _at_head(url):
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head() -> str | None:
    """The newest revision the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current(url: str | URL) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from daemon.store.db import for_reading, make_engine

    engine = make_engine(url)
    try:
        with for_reading(engine).connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@cache
def file_head() -> str | None:
    """The head revision read from the migration files' `revision`/`down_revision` assignments (what Alembic
    reads too); None when that is not one clear head (a merge in progress, a file not understood)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        found: dict[str, object] = {}
        for node in _revision_statements(path.read_text(encoding="utf-8")):
            target, value = None, None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value is not None:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        rev, down = found.get("revision"), found.get("down_revision")
        if not isinstance(rev, str):
            return None
        revisions.add(rev)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _revision_statements(text: str) -> list[ast.stmt]:
    """The module-level statements that may assign `revision` / `down_revision`: those lines parsed alone (a
    migration's whole body takes most of the time of a read command to parse), or the whole file when one of
    them spans several lines."""
    lines = [line for line in text.splitlines() if line.startswith(("revision", "down_revision"))]
    try:
        return ast.parse("\n".join(lines)).body
    except SyntaxError:
        return ast.parse(text).body


def _at_head(url: str | URL) -> bool:
    wanted = file_head()
    if wanted is None:
        return False
    path = sqlite.plain_file(url)
    if path is not None:
        if not path.exists():
            return False  # a new store: Alembic creates it
        connection = sqlite.connect(path)
        try:
            found = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.Error:
            return False  # never migrated (no such table), or a problem Alembic will report
        finally:
            connection.close()
        return found == [wanted]
    import sqlalchemy as sa

    from daemon.store.db import for_reading, make_engine

    engine = make_engine(url)
    try:
        with for_reading(engine).connect() as connection:  # never waits for a writer (a long import)
            found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except sa.exc.SQLAlchemyError:
        return False  # never migrated (no such table), or a problem Alembic will report
    finally:
        engine.dispose()
    return found == [wanted]


def is_current(url: str | URL) -> bool:
    """True when the database schema matches the code: the daemon refuses to run otherwise."""
    return current(url) == head()
