"""A throwaway PostgreSQL server for the test session.

initdb a temporary data directory, start `postgres` on a free 127.0.0.1 port (its unix socket inside the
temporary directory, trust authentication), hand out databases, stop it and delete everything at the end.
PostgreSQL refuses to run as root, and CI runs as root: then the server runs as an unprivileged system
user created for the purpose. `TLH_TEST_POSTGRES_URL` (an admin URL of an existing server) skips all that.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SERVICE_USER = "tlhpg"
EXTERNAL_URL_ENV = "TLH_TEST_POSTGRES_URL"
START_TIMEOUT_S = 30
_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries on this machine: the caller skips the PostgreSQL tests."""


def find_bindir() -> Path:
    on_path = [shutil.which(name) for name in _BINARIES]
    if all(on_path):
        return Path(on_path[0]).parent  # type: ignore[arg-type]
    # Debian/Ubuntu keep the server binaries off PATH; prefer the newest major version.
    candidates = sorted(
        (Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda d: _major(d.parent.name),
        reverse=True,
    )
    for bindir in candidates:
        if all((bindir / name).is_file() for name in _BINARIES):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        f"/usr/lib/postgresql/*/bin; install postgresql or set {EXTERNAL_URL_ENV}"
    )


def _major(version: str) -> int:
    return int(version) if version.isdigit() else -1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_service_user(name: str = SERVICE_USER) -> None:
    """Create (once) the unprivileged user the server runs as when the tests run as root."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    # 9: the user appeared meanwhile (a parallel test run) - that is what we wanted.
    if result.returncode not in (0, 9):
        raise RuntimeError(f"useradd {name} failed: {result.stderr.strip()}")


@dataclass
class PostgresServer:
    bindir: Path
    root: Path  # temporary directory: data/, sock/, server.log
    port: int = 0
    run_as: str | None = None  # the service user when we are root
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def _conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=5"

    def _run(self, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # cwd inside our directory: the service user may not be allowed to read the caller's cwd.
        return subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _checked(self, args: Sequence[str], timeout: float = 60) -> None:
        result = self._run(args, timeout)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def start(self) -> None:
        if self.run_as:
            ensure_service_user(self.run_as)
            shutil.chown(self.root, user=self.run_as, group=None)
        data, sock = self.root / "data", self.root / "sock"
        sock.mkdir()
        if self.run_as:
            shutil.chown(sock, user=self.run_as)
        # --no-sync and the settings below trade durability for speed: this data is thrown away.
        self._checked(
            [
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ]
        )
        for attempt in range(3):  # a port picked free can be taken before the server binds it
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sock} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            )
            result = self._run(
                [
                    "pg_ctl",
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-o",
                    options,
                ],
                timeout=START_TIMEOUT_S + 10,
            )
            if result.returncode == 0:
                break
            if attempt == 2:
                raise RuntimeError(f"pg_ctl start failed:\n{result.stderr}\n{self._log_tail()}")
        self._wait_ready()

    def _wait_ready(self) -> None:
        # pg_ctl -w already waited; this also proves TCP + auth work, bounded by START_TIMEOUT_S.
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self._conninfo) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL not ready: {error}\n{self._log_tail()}") from error
                time.sleep(0.1)

    def stop(self) -> None:
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            self._run(["pg_ctl", "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"], timeout=40)
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, prefix: str = "tlh") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        return create_database(self.admin_url, name)


def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE on the server behind `admin_url`; returns the new database's URL."""
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname=url.database or "postgres",
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # FILE_COPY (PostgreSQL 15+): a plain copy of template1, faster than WAL_LOG for a tiny database.
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template1{strategy}')
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def start_server() -> PostgresServer:
    """Start a private server (raises PostgresUnavailable when there are no binaries)."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="tlh-pg-"))
    server = PostgresServer(bindir=bindir, root=root)
    if os.geteuid() == 0:
        server.run_as = SERVICE_USER
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
