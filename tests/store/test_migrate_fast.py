"""`migrate.upgrade` answers "already at the head" without Alembic, and still migrates everything else."""

from __future__ import annotations

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
