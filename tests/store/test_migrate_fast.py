"""`migrate.upgrade` answers "already at the head" without Alembic, and still migrates everything else."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from daemon.store import migrate


def test_the_files_head_is_alembics_head() -> None:
    assert migrate.file_head() is not None
    assert migrate.file_head() == migrate.head()


def test_an_older_database_is_still_brought_to_the_head(blank_db_url: str) -> None:
    first = min(p.name.split("_")[0] for p in migrate.VERSIONS.glob("*.py"))
    migrate.upgrade(blank_db_url, first)
    assert migrate.current(blank_db_url) == first != migrate.head()
    migrate.upgrade(blank_db_url)
    assert migrate.current(blank_db_url) == migrate.head()


PROBE = """
import json, sys
from daemon.store import migrate
migrate.upgrade(sys.argv[1])
used_alembic = "alembic" in sys.modules
print(json.dumps({"alembic": used_alembic, "current": migrate.current(sys.argv[1])}))
"""


def test_a_database_at_the_head_is_left_alone_without_loading_alembic(blank_db_url: str) -> None:
    def run() -> dict[str, object]:
        done = subprocess.run([sys.executable, "-c", PROBE, blank_db_url], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    assert run() == {"alembic": True, "current": migrate.head()}  # a new database: migrated by Alembic
    assert run() == {"alembic": False, "current": migrate.head()}


def test_revision_lines_are_read_alone_and_a_merge_spanning_lines_from_the_whole_file() -> None:
    from daemon.store.migrate import _revision_statements

    body = "import sqlalchemy as sa\n\ndef upgrade() -> None:\n    revision_note = 1\n"
    one = _revision_statements(f'revision: str = "0007"\ndown_revision: str | None = "0006"\n{body}')
    assert [ast.unparse(s) for s in one] == ["revision: str = '0007'", "down_revision: str | None = '0006'"]
    merge = _revision_statements(f'revision = "0008"\ndown_revision = (\n    "0006",\n    "0007",\n)\n{body}')
    assigned = {s.targets[0].id: ast.literal_eval(s.value) for s in merge
                if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)}
    assert assigned == {"revision": "0008", "down_revision": ("0006", "0007")}
