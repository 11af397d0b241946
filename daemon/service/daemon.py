"""The service (`tlh run`), as a table of contents: migrate → lease (or stand by) → resume and sync →
report missed harvests → fire each scheduled sync and harvest (APScheduler, see `scheduler`) → release the
lease on shutdown.

Shutdown is a `threading.Event` set by the signal handler; the main thread, waiting on it, shuts the
scheduler down once the running job has finished. Nothing is interrupted mid-step (see `jobs`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from daemon import bookkeeping
from daemon.alerts import deliver_pending, raise_alert
from daemon.config.models import Settings
from daemon.market_calendar import trade_date
from daemon.service import lease, scheduler
from daemon.service.clock import Clock
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.execute import resume
from daemon.service.jobs import abandon_unsent, market, price_file, release_memory
from daemon.service.orders import Policy
from daemon.service.scheduler import HARVEST, Run
from daemon.service.sync import sync
from daemon.store import migrate
from daemon.store.db import make_engine, transaction
from daemon.store.models import Alert, HarvestRun

log = structlog.get_logger(__name__)


class LeaseBusy(Exception):
    """Another harvester holds the lease (for `tlh run --once`, which does not wait)."""


class LeaseLost(Exception):
    """The lease expired and someone else took it: stop leading, stand by again."""


class Service:
    """One `tlh run` process: its clock, its stop event, its engine and its claim on the lease."""

    def __init__(self, settings: Settings, clock: Clock, stop: threading.Event):
        self.settings, self.clock, self.stop = settings, clock, stop
        self.schedule = settings.schedule
        self.holder = lease.holder_id()
        self.ttl = timedelta(seconds=self.schedule.lease_seconds)
        self.policy = Policy(fill_timeout=float(settings.brokers.alpaca.fill_timeout_seconds))
        migrate.upgrade(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.heartbeat: lease.Heartbeat | None = None
        # Whether a daemon ever held the lease on this database before this one: a first start missed nothing
        # (harvests `tlh harvest` ran by hand, e.g. the demo's dry run, do not make earlier sessions "missed").
        self.ran_before = lease.current(self.engine) is not None

    # -- the lease -------------------------------------------------------------------------------------------
    def wait_for_lease(self) -> bool:
        """Stand by until the lease is ours (True) or shutdown begins (False)."""
        leader = None
        while not self.stop.is_set():
            try:
                if lease.acquire(self.engine, self.holder, lease.wall_clock(), self.ttl):
                    log.info("lease.acquired", holder=self.holder)
                    return True
                state = lease.current(self.engine)
                if state is not None and state.holder != leader:
                    leader = state.holder
                    log.info("lease.standby", holder=self.holder, leader=leader,
                             expires_at=state.expires_at.isoformat())
            except Exception as exc:  # the database may be away for a moment: keep standing by
                log.warning("lease.unavailable", error=f"{type(exc).__name__}: {exc}")
            self.stop.wait(self.schedule.heartbeat_seconds)
        return False

    @contextmanager
    def leading(self) -> Iterator[lease.Heartbeat]:
        heartbeat = lease.Heartbeat(self.engine, self.holder, self.schedule.heartbeat_seconds, self.ttl)
        heartbeat.start()
        self.heartbeat = heartbeat
        try:
            yield heartbeat
        finally:
            heartbeat.stop()
            self.heartbeat = None
            if not heartbeat.lost.is_set() and lease.release(self.engine, self.holder, lease.wall_clock()):
                log.info("lease.released", holder=self.holder)

    # -- jobs ------------------------------------------------------------------------------------------------
    def harvested(self, day: date) -> bool:
        with transaction(self.engine) as session:
            found = session.scalar(sa.select(HarvestRun.id).where(HarvestRun.as_of == day,
                                                                  HarvestRun.mode == self.settings.mode).limit(1))
        return found is not None

    def cycle(self, as_of: date) -> CycleResult:
        """resume → sync → plan → execute (`run_cycle`) for the trading day `as_of`."""
        with market(self.settings, self.engine, as_of, self.stop) as m:
            prices = m.prices(self.engine, self.settings, as_of)
            try:
                return run_cycle(self.engine, self.settings, m.brokers, prices, as_of, self.settings.mode,
                                 self.policy)
            finally:
                abandon_unsent(self.engine)

    def sync(self, day: date) -> None:
        with market(self.settings, self.engine, day, self.stop) as m:
            if self.settings.mode != "dry-run":
                # Orders a crash left unsettled are settled before anything new is sent.
                resume(self.engine, self.settings, m.brokers, self.policy, day)
                abandon_unsent(self.engine)
            sync(self.engine, self.settings, m.brokers)

    def fire(self, run: Run) -> None:
        try:
            ours = self.heartbeat is None or self.heartbeat.beat()  # still ours, right before acting?
        except Exception as exc:  # the database is away: nobody else can take the lease either; the job says more
            log.warning("lease.heartbeat_failed", holder=self.holder, error=f"{type(exc).__name__}: {exc}")
            ours = True
        if not ours:
            raise LeaseLost(run.describe())
        try:
            if run.kind != HARVEST:
                self.sync(run.session)
            elif self.harvested(run.session):
                log.info("harvest.already_done", session=str(run.session), mode=self.settings.mode)
            else:
                self.cycle(run.session)
        except Exception as exc:  # one failed job must not end the service: say so and wait for the next
            log.exception("job.failed", kind=run.kind, session=str(run.session))
            self._safe_alert("error", "error", f"{run.describe()} failed: {type(exc).__name__}: {exc}",
                             {"job": run.kind, "session": str(run.session)})
        finally:
            self.deliver()
            release_memory()

    def missed(self, run: Run) -> None:
        """A missed harvest is an alert; a missed sync is only logged (the next harvest syncs first)."""
        if run.kind == HARVEST:
            self._safe_alert("missed_harvest", "warning",
                             f"missed {run.describe()}: the daemon was not running (or not in time); it is not "
                             f"replayed late", {"session": str(run.session), "scheduled_at": run.at.isoformat()})

    def missed_late(self, run: Run) -> None:
        self.missed(run)
        self.deliver()

    def _safe_alert(self, kind: str, severity: str, message: str, data: dict[str, str]) -> None:
        try:
            with transaction(self.engine) as session:
                raise_alert(session, kind, severity, message, data=data)
        except Exception:
            log.exception("alert.store_failed", kind=kind, message=message)

    def deliver(self) -> None:
        """Send what the last step raised to the configured channels (never raises; retries wait on `stop`)."""
        deliver_pending(self.engine, self.settings, sleep=self._pause)

    def _pause(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def report_missed(self) -> list[Run]:
        """Harvests the schedule held while no daemon ran, each reported once; none on a daemon's first start."""
        if not self.ran_before:
            return []
        with transaction(self.engine) as session:
            last = session.scalar(sa.select(sa.func.max(HarvestRun.as_of)).where(HarvestRun.mode == self.settings.mode))
            seen = session.execute(sa.select(Alert.kind, Alert.data).where(Alert.kind.in_(("missed_harvest", "error")))
                                   .order_by(Alert.id.desc()).limit(500)).all()
        # Reported before, or fired and failed (its error alert said so): not missed again.
        reported = {(d or {}).get("session") for k, d in seen
                    if k == "missed_harvest" or (d or {}).get("job") == HARVEST}
        runs = [r for r in scheduler.missed_harvests(last, self.clock.now(), self.schedule)
                if str(r.session) not in reported]
        for run in runs:
            self.missed(run)
        return runs

    # -- entry points ----------------------------------------------------------------------------------------
    def today(self) -> date:
        return trade_date(self.clock.now())

    def serve(self) -> None:
        """Run until `stop` is set: stand by for the lease, lead while it is ours."""
        log.info("daemon.starting", holder=self.holder, mode=self.settings.mode,
                 database=self.engine.dialect.name, now=self.clock.now().isoformat())
        try:
            while self.wait_for_lease():
                with self.leading():
                    try:
                        self.lead()
                    except LeaseLost as exc:
                        log.error("lease.lost_before_run", run=str(exc))
        finally:
            log.info("daemon.stopped", holder=self.holder)
            self.engine.dispose()

    def lead(self) -> None:
        try:
            bookkeeping.recompute_stale(self.engine, self.settings)  # before anything reads the ledger
            self.sync(self.today())
            self.report_missed()
        except Exception as exc:  # a broker or the database away at start-up: the schedule still runs
            log.exception("startup.failed")
            self._safe_alert("error", "error", f"start-up resume/sync failed: {type(exc).__name__}: {exc}",
                             {"job": "startup"})
        self.deliver()
        release_memory()
        scheduler.run_schedule(self.clock, self.schedule, self.stop, self.fire, self.missed_late)

    def once(self) -> CycleResult:
        """One full cycle now (`tlh run --once`): on the price file's last day when there is one (as
        `tlh harvest`: the paper broker's world is that file), else on today's trade date."""
        try:
            if not lease.acquire(self.engine, self.holder, lease.wall_clock(), self.ttl):
                state = lease.current(self.engine)
                raise LeaseBusy(f"another harvester holds the lease ({state.holder if state else '?'}); "
                                f"not running a second one on this database")
            try:
                with self.leading():
                    bookkeeping.recompute_stale(self.engine, self.settings)  # before anything reads the ledger
                    prices = price_file(self.settings)
                    as_of = (prices.last_day() if prices is not None else None) or self.today()
                    result = self.cycle(as_of)
            except Exception as exc:  # a broker away: an error alert, delivered, and the caller exits non-zero
                self._safe_alert("error", "error", f"run --once failed: {type(exc).__name__}: {exc}",
                                 {"job": "once"})
                self.deliver()
                raise
            self.deliver()
            return result
        finally:
            self.engine.dispose()


def outcome_summary(result: CycleResult) -> Mapping[str, Any]:
    return {"run_id": result.plan.run_id, "as_of": str(result.plan.as_of), "pairs": len(result.plan.pairs),
            "resumed": result.resumed, "executed": len(result.outcomes)}
