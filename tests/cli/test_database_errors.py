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


def test_a_damaged_price_index_is_named_as_the_cache_not_the_database(tmp_path: Path) -> None:
    (tmp_path / "trades.csv").write_text("date,account,symbol,side,quantity,price\n2024-01-02,t,VTI,buy,1,200\n")
    (tmp_path / "prices.csv").write_text("date,VTI\n2024-01-02,200\n2024-01-03,201\n")
    config = tmp_path / "tlh.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/tlh.db"\n{ACCOUNTS}'
                      '[brokers.paper]\nprices = "prices.csv"\n')
    for command in (["import", str(tmp_path / "trades.csv")], ["lots"]):  # the second builds the index
        assert tlh(config, *command).returncode == 0
    with (tmp_path / "prices.csv.tlh-index").open("r+b") as fh:  # the series table's page
        fh.seek(3 * 4096)
        fh.write(b"\xff" * 4096)
    done = tlh(config, "lots")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: price index {tmp_path}/prices.csv.tlh-index: DatabaseError: "), done.stderr
    assert "delete it" in done.stderr and "error: database" not in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "prices.csv.tlh-index").unlink()  # what it says to do
    assert tlh(config, "lots").returncode == 0
