"""Finding 7 of issue 12: readers never wait on writers. While another process holds a write transaction
open (as a long import does), `tlh health` and `tlh orders` answer at once instead of failing after the
30 s busy timeout with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.service import lease
from daemon.store.db import make_engine
from daemon.store.migrate import upgrade
from tests.service.test_daemon_process import write_config

TLH = str(Path(sys.executable).parent / "tlh")

WRITER = textwrap.dedent("""
    import sys, time, pathlib
    from datetime import UTC, datetime
    from daemon.store.db import make_engine, transaction
    from daemon.store.models import Alert
    engine = make_engine(sys.argv[1])
    go = pathlib.Path(sys.argv[2])
    with transaction(engine) as session:  # BEGIN IMMEDIATE: the write lock, held until commit
        session.add(Alert(created_at=datetime.now(UTC), kind="import", severity="info", message="writing",
                          run_id=None, household_id=None, account_id=None, data={}))
        session.flush()
        print("holding", flush=True)
        deadline = time.monotonic() + 90
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
""")


def test_health_and_listings_answer_while_a_writer_holds_the_database(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(db_url)
    cfg = write_config(tmp_path, db_url)
    engine = make_engine(db_url)
    try:
        assert lease.acquire(engine, "host:1:abc", datetime.now(UTC), timedelta(minutes=5))
    finally:
        engine.dispose()
    go = tmp_path / "commit-now"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(go)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        started = time.monotonic()
        health = subprocess.run([TLH, "--config", str(cfg), "health"], capture_output=True, text=True, timeout=120)
        print(f"health answered in {time.monotonic() - started:.1f} s")
        orders = subprocess.run([TLH, "--config", str(cfg), "orders", "--format", "json"], capture_output=True,
                                text=True, timeout=120)
        assert writer.poll() is None, "the writer was to hold its transaction throughout"
        waited = time.monotonic() - started
    finally:
        go.touch()
        writer.wait(120)
    # It read the lease (fresh or, on a loaded machine, a few seconds too old), not "database does not answer".
    assert "harvester host:1:abc" in health.stdout or "(holder host:1:abc" in health.stderr, health.stderr
    assert orders.returncode == 0 and orders.stdout.strip() == "[]", orders.stderr
    assert "locked" not in health.stderr + orders.stderr
    print(f"health + orders answered in {waited:.1f} s while a writer held the database")
    assert writer.returncode == 0
