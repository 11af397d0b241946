"""A database that cannot be opened or does not answer: the `tlh` script says so in one line naming the
database (its password never shown) and exits 1, instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = "import sys; from daemon.cli.main import run; sys.argv[0] = 'tlh'; run()"
ACCOUNTS = '[[accounts]]\nid = "t"\ntype = "taxable"\nhousehold = "h"\nbroker = "paper"\n'


def tlh(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN, "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize("command", [["import", "trades.csv"], ["gains", "--format", "json"], ["lots"], ["runs"]])
def test_a_sqlite_file_that_cannot_be_opened(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price\n2024-01-02,t,VTI,buy,1,200\n")
    config = tmp_path / "tlh.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/missing/folder/tlh.db"\n{ACCOUNTS}')
    done = subprocess.run([sys.executable, "-c", RUN, "--config", str(config), *command], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (f"error: database sqlite:///{tmp_path}/missing/folder/tlh.db: OperationalError: "
                                   "unable to open database file")


def test_a_postgresql_server_that_does_not_answer_never_shows_the_password(tmp_path: Path) -> None:
    import os

    config = tmp_path / "tlh.toml"
    config.write_text(f'database_url = "postgresql://tlh@127.0.0.1:1/tlh?connect_timeout=5"\n{ACCOUNTS}')
    env = {**os.environ, "TLH_DATABASE_PASSWORD": "s3cret-pw"}
    done = tlh(config, "gains", "--format", "json", env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database postgresql://****@127.0.0.1:1/tlh?****: "
                                                  "OperationalError: "), done.stderr  # user info, query hidden
    assert "s3cret-pw" not in done.stderr + done.stdout and "Traceback" not in done.stderr
