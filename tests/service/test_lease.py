"""The harvester lease: acquire, renew, standby, takeover, on SQLite and PostgreSQL; then two real `tlh run`
processes on one database: the second stands by and takes over once the first stops renewing."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from daemon.service import lease
from daemon.store.db import make_engine
from daemon.store.models import Lease
from tests.service.test_daemon_process import Daemon, tlh, write_config

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
TTL = timedelta(seconds=5)


def test_acquire_renew_standby_takeover_release(engine: Any) -> None:
    assert lease.current(engine) is None
    assert lease.acquire(engine, "a", T0, TTL)
    assert lease.acquire(engine, "a", T0 + timedelta(seconds=1), TTL)  # re-acquiring our own lease renews it
    assert not lease.acquire(engine, "b", T0 + timedelta(seconds=2), TTL)  # held: b stands by
    assert lease.renew(engine, "a", T0 + timedelta(seconds=3), TTL)
    state = lease.current(engine)
    assert state is not None and state.holder == "a"
    assert state.heartbeat_at == T0 + timedelta(seconds=3) and state.expires_at == T0 + timedelta(seconds=8)
    assert not lease.acquire(engine, "b", T0 + timedelta(seconds=8), TTL)  # not yet expired (expires_at == now)
    assert lease.acquire(engine, "b", T0 + timedelta(seconds=9), TTL)  # a stopped renewing: b takes over
    assert not lease.renew(engine, "a", T0 + timedelta(seconds=9), TTL)  # a finds out it lost the lease
    assert not lease.release(engine, "a", T0 + timedelta(seconds=9))  # and cannot release b's lease
    assert lease.release(engine, "b", T0 + timedelta(seconds=10))
    assert lease.acquire(engine, "a", T0 + timedelta(seconds=10, milliseconds=1), TTL)  # released: free at once


def test_only_one_of_many_racing_processes_wins(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(6)]
    barrier = threading.Barrier(len(engines))
    won: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        if lease.acquire(engines[i], f"p{i}", T0, TTL):
            won.append(f"p{i}")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(engines))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(won) == 1
        state = lease.current(engines[0])
        assert state is not None and state.holder == won[0]
    finally:
        for e in engines:
            e.dispose()


def test_heartbeat_renews_and_notices_a_takeover(engine: Any) -> None:
    clock = {"now": T0}
    assert lease.acquire(engine, "a", T0, TTL)
    beat = lease.Heartbeat(engine, "a", every=0.05, ttl=TTL, now=lambda: clock["now"])
    beat.start()
    try:
        clock["now"] = T0 + timedelta(seconds=3)
        _until(lambda: lease.current(engine).heartbeat_at == T0 + timedelta(seconds=3))  # type: ignore[union-attr]
        assert not beat.lost.is_set()
        clock["now"] = T0 + timedelta(seconds=30)
        with engine.begin() as conn:  # as if a paused "a" had let it expire and "b" had taken it
            conn.execute(sa.update(Lease).values(holder="b"))
        _until(beat.lost.is_set)
    finally:
        beat.stop()
    assert lease.current(engine).holder == "b"  # type: ignore[union-attr]


def _until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- two real processes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_second_daemon_stands_by_then_takes_over(tmp_path: Path, db_url: str, how: signal.Signals) -> None:
    cfg = write_config(tmp_path, db_url, mode="dry-run")
    with Daemon(cfg, tmp_path / "a.log") as first:
        first.wait_for("lease.acquired")
        with Daemon(cfg, tmp_path / "b.log") as second:
            _standby_then_takeover(db_url, cfg, first, second, how)


def _standby_then_takeover(db_url: str, cfg: Path, first: Daemon, second: Daemon, how: signal.Signals) -> None:
    """The second stands by while the first leads, and takes over once the first is gone."""
    second.wait_for("lease.standby")
    time.sleep(3)  # several heartbeats and standby retries later, the first still leads
    assert not second.saw("lease.acquired")
    state = lease_state(db_url)
    assert state.holder == first.event("lease.acquired")["holder"]
    if how == signal.SIGTERM:  # (once is enough) a one-off cycle is refused while a harvester holds the lease
        once = tlh(cfg, "run", "--once")
        assert once.returncode == 1 and "another harvester holds the lease" in once.stderr

    first.proc.send_signal(how)
    assert first.proc.wait(timeout=20) == (0 if how == signal.SIGTERM else -signal.SIGKILL)
    stopped = time.monotonic()
    taken = second.wait_for("lease.acquired", timeout=30)
    waited = time.monotonic() - stopped
    # SIGTERM releases the lease (taken at the next retry, every second); after SIGKILL it must expire first
    # (5 s after the last heartbeat).
    if how == signal.SIGTERM:
        assert first.saw("lease.released") and waited < 5
    else:
        assert not first.saw("lease.released") and waited < 15
    assert lease_state(db_url).holder == taken["holder"] != state.holder
    second.wait_for("schedule.next")
    second.stop()
    assert second.proc.returncode == 0


def lease_state(db_url: str) -> lease.LeaseState:
    engine = make_engine(db_url)
    try:
        state = lease.current(engine)
    finally:
        engine.dispose()
    assert state is not None
    return state
