"""SQLite connections with the daemon's settings, with or without SQLAlchemy.

`daemon.store.db.make_engine` applies `configure` to every connection its pool opens. The ledger's own
commands (`tlh import`, `lots`, `gains` but Form 8949) and the migration check open the file directly with
`connect` and talk to it through `daemon.store.sql`: importing SQLAlchemy costs a process about a tenth of
a second, a third of what issue 14 allows the two commands together on 10,000 trades. Both paths give the
connection the same settings, and both leave transaction control to the caller (`isolation_level=None`).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from daemon import files

BUSY_TIMEOUT_MS = 30_000  # read when a connection opens (a test may shorten it)
CACHE_KB = 16_000
PAGE_SIZE = 16_384

# `sqlite:///<path>` (relative) or `sqlite:////<path>` (absolute), nothing after it: the URLs opened without
# SQLAlchemy. Anything else (memory, query options, a `file:` URI, another driver) goes through SQLAlchemy.
_PLAIN_FILE = re.compile(r"sqlite(\+pysqlite)?:///(?P<path>[^?#]+)")


def plain_file(url: object) -> Path | None:
    """The database file of a plain SQLite file URL (what SQLAlchemy's `make_url(url).database` gives), or
    None for any other URL."""
    match = _PLAIN_FILE.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        return None
    path = unquote(match["path"])
    if path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def configure(connection: sqlite3.Connection, *, foreign_keys: bool = True) -> None:
    """The settings of every connection, applied right after it opens."""
    # Take transaction control away from the sqlite3 module (it would BEGIN lazily, only before
    # writes, so reads would not share the writes' transaction); the caller emits BEGIN.
    connection.isolation_level = None
    cursor = connection.cursor()
    # PRAGMAs run outside any transaction here: foreign_keys is a no-op inside one.
    cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # 16 KB pages for a new database (an existing one keeps its own; the setting is ignored then): an
    # import writes a quarter of the pages (WAL frames, each with its checksum, then the checkpoint's
    # copies) and the B-trees of its random ids are shallower. 10k-trade import: commit 28 -> 9 ms CPU.
    cursor.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    # WAL: readers never wait for the writer (a health check during a harvest, a CLI listing).
    cursor.execute("PRAGMA journal_mode = WAL")
    # A 16 MB page cache (default 2 MB): an import's inserts land at random places of the indexes (ids are
    # digests), and with the default most of them evict a page; a third less CPU for 100k rows.
    cursor.execute(f"PRAGMA cache_size = -{CACHE_KB}")
    cursor.close()


def connect(path: Path) -> sqlite3.Connection:
    """A configured connection to the database file `path`, created private (0600) when new, as
    `make_engine` does."""
    if path.parent.is_dir():
        files.create(path)  # private before SQLite makes it (its -wal/-shm files follow its mode)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        configure(connection)
    except BaseException:
        connection.close()
        raise
    return connection
