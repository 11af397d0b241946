"""Exactly one active harvester per database: a lease row (`leases`, name "harvester") renewed by a heartbeat.

Acquiring is one conditional UPDATE (`holder = me OR expires_at < now`) whose row count says who won, or,
when there is no row yet, an INSERT whose primary key lets only one of two racing processes in. Both are
atomic on SQLite (one writer at a time) and on PostgreSQL (the losing UPDATE re-checks its WHERE against
the winner's committed row). A standby reads first and writes only when the lease looks free, so waiting
instances do not contend for SQLite's write lock every few seconds.

Times are the wall clock (UTC) of the process writing them: the hosts sharing a database are assumed to
keep their clocks in sync (NTP); `lease_seconds` (at least 5) absorbs small differences.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from daemon import logs
from daemon.store.db import for_reading
from daemon.store.tables import LEASES

log = logs.get_logger(__name__)  # structlog loaded when it logs

HARVESTER = "harvester"


def holder_id() -> str:
    """`host:pid:random`: the host and pid say who holds the lease, the random part tells restarts apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    heartbeat_at: datetime
    expires_at: datetime


def current(engine: Engine, name: str = HARVESTER) -> LeaseState | None:
    with for_reading(engine).connect() as conn:  # `tlh health` and standbys never wait for a writer
        row = conn.execute(sa.select(LEASES.c.name, LEASES.c.holder, LEASES.c.heartbeat_at, LEASES.c.expires_at)
                           .where(LEASES.c.name == name)).first()
        conn.rollback()
    return LeaseState(*row) if row is not None else None


def _update(engine: Engine, condition: Any, values: dict[str, datetime | str], name: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(sa.update(LEASES).where(LEASES.c.name == name, condition).values(**values))
        return result.rowcount == 1


def holder_is_dead(holder: str) -> bool:
    """True only when the holder is a process of this very host that no longer exists; anything else
    (another host, a live or unknown pid) is left to the lease's expiry."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, as someone else's
        return False
    return False


def acquire(engine: Engine, holder: str, now: datetime, ttl: timedelta, name: str = HARVESTER) -> bool:
    """Take the lease if it is free, expired or already ours; True when we hold it afterwards."""
    seen = current(engine, name)
    takeover = LEASES.c.holder == holder
    if seen is not None and seen.holder != holder and seen.expires_at >= now:
        if not holder_is_dead(seen.holder):
            return False  # held and alive: no write at all
        # A killed process on this host (`tlh harvest` SIGKILLed): its lease need not run out first.
        log.warning("lease.holder_dead", holder=seen.holder)
        takeover = sa.or_(takeover, LEASES.c.holder == seen.holder)
    values: dict[str, datetime | str] = {"holder": holder, "heartbeat_at": now, "expires_at": now + ttl}
    if _update(engine, sa.or_(takeover, LEASES.c.expires_at < now), values, name):
        return True
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(LEASES).values(name=name, **values))
    except IntegrityError:
        return False  # the row exists (another process inserted or renewed it first)
    return True


def renew(engine: Engine, holder: str, now: datetime, ttl: timedelta, name: str = HARVESTER) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and someone else took it)."""
    return _update(engine, LEASES.c.holder == holder, {"heartbeat_at": now, "expires_at": now + ttl}, name)


def release(engine: Engine, holder: str, now: datetime, name: str = HARVESTER) -> bool:
    """Let the lease expire now, so a standby takes over at once. The row (with its last heartbeat) stays:
    `tlh health` right after `tlh run --once` still sees that a harvester ran."""
    return _update(engine, LEASES.c.holder == holder, {"expires_at": now}, name)


def is_fresh(state: LeaseState | None, now: datetime, max_age: timedelta) -> bool:
    return state is not None and now - state.heartbeat_at <= max_age


class Heartbeat:
    """Renews the lease every `every` seconds on a thread of its own, so that a long step (waiting for a
    fill, a slow broker) never lets the lease lapse. `lost` is set once the lease turns out to be someone
    else's: the daemon then stops starting new work."""

    def __init__(self, engine: Engine, holder: str, every: float, ttl: timedelta,
                 now: Callable[[], datetime] = wall_clock, name: str = HARVESTER):
        self.engine, self.holder, self.every, self.ttl, self.now, self.name = engine, holder, every, ttl, now, name
        self.lost = threading.Event()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def beat(self) -> bool:
        """One renewal now; False (and `lost` set) when the lease is gone."""
        if renew(self.engine, self.holder, self.now(), self.ttl, self.name):
            return True
        if not self.lost.is_set():
            log.error("lease.lost", holder=self.holder, lease=self.name)
        self.lost.set()
        return False

    def _run(self) -> None:
        while not self._halt.wait(self.every):
            try:
                if not self.beat():
                    return
            except Exception as exc:  # the database may be briefly away: keep trying until the lease expires
                log.warning("lease.heartbeat_failed", holder=self.holder, error=f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 35)


class Busy(Exception):
    """Another harvester holds the lease: a second one does not run on this database."""


@contextmanager
def held(engine: Engine, heartbeat_seconds: float, lease_seconds: float,
         name: str = HARVESTER) -> Iterator[Heartbeat]:
    """Hold the lease for one step (`tlh harvest`), renewed by a heartbeat, released afterwards; Busy when
    someone else (a running `tlh run`, another `tlh harvest`) holds it."""
    holder, ttl = holder_id(), timedelta(seconds=lease_seconds)
    if not acquire(engine, holder, wall_clock(), ttl, name):
        state = current(engine, name)
        who = f"{state.holder}, last heartbeat {state.heartbeat_at:%H:%M:%S} UTC" if state else "?"
        raise Busy(f"another harvester holds the lease ({who}); not running a second one on this database")
    heartbeat = Heartbeat(engine, holder, heartbeat_seconds, ttl, name=name)
    heartbeat.start()
    try:
        yield heartbeat
    finally:
        heartbeat.stop()
        if not heartbeat.lost.is_set():
            release(engine, holder, wall_clock(), name)
