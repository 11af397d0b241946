"""`tlh health` (the container's HEALTHCHECK): exit 0 only when the database answers and a harvester's
heartbeat is fresh (within 2 x heartbeat_seconds + 5 s; the test configuration beats every second)."""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.service import lease
from tests.service.test_daemon_process import Daemon, tlh, write_config


def health(cfg: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(cfg), "health"])
    return result.exit_code, result.output


def test_healthy_only_with_a_fresh_heartbeat(tmp_path: Path, db_url: str, engine: Any) -> None:
    cfg = write_config(tmp_path, db_url)
    code, out = health(cfg)
    assert code == 1 and "no harvester" in out

    now = datetime.now(UTC)
    assert lease.acquire(engine, "host:1:abc", now, timedelta(seconds=5))
    code, out = health(cfg)
    assert code == 0 and "healthy: harvester host:1:abc" in out

    assert lease.renew(engine, "host:1:abc", now - timedelta(seconds=8), timedelta(seconds=5))  # 2 x 1 + 5 < 8
    code, out = health(cfg)
    # 8 s when the check runs at once; more on a loaded machine (the process start takes seconds).
    seconds = re.search(r"last heartbeat was (\d+)s ago", out)
    assert code == 1 and seconds is not None and int(seconds.group(1)) >= 8, out

    # Whoever holds it: a standby instance reports healthy while the active one beats.
    assert lease.acquire(engine, "other:2:def", datetime.now(UTC), timedelta(seconds=5))
    assert health(cfg)[0] == 0


def test_unhealthy_when_the_database_does_not_answer(tmp_path: Path, blank_db_url: str) -> None:
    # Never migrated (no leases table) ...
    code, out = health(write_config(tmp_path, blank_db_url))
    assert code == 1 and "database does not answer" in out
    # ... or not there at all.
    code, out = health(write_config(tmp_path, f"sqlite:///{tmp_path / 'missing' / 'tlh.db'}"))
    assert code == 1 and "database does not answer" in out


def test_health_follows_a_running_daemon(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    cfg = write_config(tmp_path, db_url, mode="dry-run")
    with Daemon(cfg, tmp_path / "daemon.log") as daemon:
        daemon.wait_for("schedule.next")
        ok = tlh(cfg, "health")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        daemon.proc.send_signal(signal.SIGKILL)  # no release, no more heartbeats
        daemon.proc.wait(timeout=10)
        time.sleep(8)
        stale = tlh(cfg, "health")
        assert stale.returncode == 1 and "last heartbeat was" in stale.stderr
