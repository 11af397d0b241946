"""Run inside a throwaway container on the daemon's data volume: the SQLite file is intact and migrated.
Prints one line; exits non-zero on any problem."""

from __future__ import annotations

import os
import sqlite3
import sys

from daemon.store import migrate

PATH = "/data/tlh.db"


def main() -> int:
    if not os.path.exists(PATH):
        print(f"no database at {PATH}")
        return 1
    with sqlite3.connect(PATH) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        trades = conn.execute("SELECT count(*) FROM trades").fetchone()[0]
        leases = conn.execute("SELECT count(*) FROM leases").fetchone()[0]
    current, head = migrate.current(f"sqlite:///{PATH}"), migrate.head()
    print(f"integrity_check={integrity} alembic={current} head={head} trades={trades} leases={leases}")
    return 0 if integrity == "ok" and current == head and trades > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
