"""Files the daemon creates (the SQLite database, the alerts file, reports and exports) are private to
their owner: 0600 by default, `file_mode` in the configuration otherwise. They hold a household's holdings
and tax figures."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODE = 0o600
_mode = DEFAULT_MODE  # the configured `file_mode` (set once the configuration is loaded)


def use_mode(mode: int) -> None:
    global _mode
    _mode = mode


def mode() -> int:
    return _mode


def parse_mode(text: str) -> int:
    """"0600" / "600" / "0o640" -> the mode; ValueError unless it is an octal mode without execute bits."""
    raw = text.strip().lower().removeprefix("0o")
    if not raw or any(c not in "01234567" for c in raw):
        raise ValueError(f"not an octal file mode like \"0600\", got {text!r}")
    mode = int(raw, 8)
    if mode > 0o666 or mode & 0o111:
        raise ValueError(f"must be a file mode between 0000 and 0666 without execute bits, got {text!r}")
    if not mode & 0o600 == 0o600:
        raise ValueError(f"the owner must be able to read and write (0600 at least), got {text!r}")
    return mode


def create(path: Path, mode: int | None = None) -> None:
    """Create `path` empty with `mode` (default: the configured one) if it does not exist; an existing file
    keeps its mode."""
    mode = _mode if mode is None else mode
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, mode)  # the umask may have taken bits away or, for a wider mode, must not


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write a report or export: created with `mode`; an existing file is rewritten and keeps its mode."""
    create(path, mode)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)


def cache_folder(kind: str) -> Path:
    """Where the daemon keeps what it can always rebuild (price-file indexes, exchange sessions):
    `$XDG_CACHE_HOME/tlh-daemon/<kind>`, else `~/.cache/tlh-daemon/<kind>` (the container: /data/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tlh-daemon" / kind


def sqlite_path(url: object) -> Path | None:
    """The file of a SQLite URL (None for memory or another database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(str(url)) if not hasattr(url, "get_backend_name") else url
    if parsed.get_backend_name() != "sqlite":  # type: ignore[union-attr]
        return None
    database = parsed.database  # type: ignore[union-attr]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
