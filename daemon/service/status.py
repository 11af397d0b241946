"""What the daemon is doing, in one read-only query: `tlh status` prints it, the dashboard serves the same
dict as JSON (`/api/status`).

- mode, database, and whether harvesting is stopped: the TOML `halt` (the start-up default), pauses in
  force (`tlh pause`, a fill far from its quote), the circuit breaker of the last run;
- the harvester lease: holder, last heartbeat and its age, alive or not (`tlh health`'s rule);
- the last harvest run (time, pairs, outcome) and the next sync and harvest from the scheduler's own
  calendar code (`timetable.next_of_each`, what a running daemon logs as `schedule.next`);
- each configured account: type, broker, sync state (in sync, when, why not), pause;
- open alerts: the warnings and errors of the last days, and how many alerts wait for delivery;
- per household, the tax year's harvested losses and estimated tax saved so far (`tlh report`'s figures).

Nothing here writes: it only reads the store (and the exchange calendar).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from daemon.config.models import Settings
from daemon.ledger.money import cents
from daemon.store.db import read_connection
from daemon.store.tables import ACCOUNTS, ALERTS, HARVEST_RUNS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from daemon.report.data import Figures

# `tlh health`'s allowance beyond two heartbeats.
HEALTH_SLACK = timedelta(seconds=5)
OPEN_ALERT_DAYS = 7  # warnings and errors this recent count as open
RECENT_ALERTS = 5


def lease_dict(engine: Engine, settings: Settings, now: datetime) -> dict[str, Any] | None:
    from daemon.service import lease

    state = lease.current(engine)
    if state is None:
        return None
    max_age = 2 * timedelta(seconds=settings.schedule.heartbeat_seconds) + HEALTH_SLACK
    return {"holder": state.holder, "heartbeat_at": state.heartbeat_at,
            "heartbeat_age_seconds": max(0, round((now - state.heartbeat_at).total_seconds())),
            "expires_at": state.expires_at, "alive": lease.is_fresh(state, now, max_age),
            "released": state.expires_at <= state.heartbeat_at or state.expires_at <= now}


def run_outcome(run: Any) -> str:
    """One line: what the run did, or why it did nothing."""
    plan: Mapping[str, Any] = run.plan or {}
    pairs = plan.get("pairs", [])
    if run.error:
        return f"{run.status}: {run.error}"
    if plan.get("paused"):
        return f"{run.status}: no harvest ({plan['paused']})"
    if not pairs:
        note = plan.get("note")
        skipped = len(plan.get("skipped", []))
        why = note or (f"{skipped} position(s) skipped" if skipped else "nothing at a loss worth harvesting")
        return f"{run.status}: no pairs ({why})"
    loss = sum((Decimal(p["estimated_loss"]) for p in pairs), Decimal(0))
    return f"{run.status}: {len(pairs)} pair(s), estimated loss ${loss:,.2f}"


def last_run(connection: Connection) -> dict[str, Any] | None:
    run = connection.execute(sa.select(HARVEST_RUNS).order_by(HARVEST_RUNS.c.started_at.desc(),
                                                              HARVEST_RUNS.c.id.desc()).limit(1)).first()
    if run is None:
        return None
    pairs = (run.plan or {}).get("pairs", [])
    return {"id": run.id, "as_of": run.as_of, "mode": run.mode, "status": run.status,
            "started_at": run.started_at, "finished_at": run.finished_at, "pairs": len(pairs),
            "estimated_loss": cents(sum((Decimal(p["estimated_loss"]) for p in pairs), Decimal(0))),
            "outcome": run_outcome(run)}


def next_runs(settings: Settings, now: datetime) -> dict[str, datetime | None]:
    from daemon.service.timetable import HARVEST, SYNC, next_of_each

    found = next_of_each(now, settings.schedule)
    return {"sync": found.get(SYNC), "harvest": found.get(HARVEST)}


def _pause_dict(p: Any) -> dict[str, Any]:
    return {"account": p.account, "scope": p.scope, "kind": p.kind, "reason": p.reason, "until": p.until,
            "created_by": p.created_by, "created_at": p.created_at, "describe": p.describe()}


def status(engine: Engine, settings: Settings, today: date, now: datetime | None = None,
           figures: Callable[[Session | Connection], Mapping[str, Figures]] | None = None) -> dict[str, Any]:
    """The whole picture as plain values (dates and datetimes, Decimals for money); see the module doc.
    `figures`: the per-household harvested figures (`harvested_by_household` for `today`), when the caller
    keeps them between calls (the dashboard, until the store changes)."""
    from daemon.report.data import harvested_by_household
    from daemon.service import pause

    now = now or datetime.now(UTC)
    # A read transaction (never waits for a writer, a long import) on the Core tables (no ORM to load).
    with read_connection(engine) as session:
        rows = {r.id: r for r in session.execute(sa.select(ACCOUNTS))}
        paused_by_account = pause.for_accounts(session, [a.id for a in settings.accounts], today)
        in_force = pause.active(session, today)
        run = last_run(session)
        since = now - timedelta(days=OPEN_ALERT_DAYS)
        alert = ALERTS.c
        open_alerts = session.execute(sa.select(ALERTS).where(alert.created_at >= since,
                                                              alert.severity.in_(("warning", "error")))
                                      .order_by(alert.created_at.desc(), alert.id.desc())).all()
        undelivered = session.scalar(sa.select(sa.func.count()).select_from(ALERTS)
                                     .where(alert.delivered.is_(False))) or 0
        by_household = (figures(session) if figures is not None
                        else harvested_by_household(session, settings, today.year, today))
    accounts = []
    for a in settings.accounts:
        row = rows.get(a.id)
        stopped = paused_by_account.get(a.id)
        if row is None:
            sync = "never synced"
        elif not row.in_sync:
            sync = f"OUT OF SYNC: {row.sync_detail}" if row.sync_detail else "OUT OF SYNC"
        else:
            sync = "in sync"
        accounts.append({
            "id": a.id, "household": a.household, "type": a.type.value, "broker": a.broker,
            "harvested": a.type.taxable, "in_sync": bool(row.in_sync) if row is not None else None,
            "sync": sync, "sync_detail": row.sync_detail if row is not None else None,
            "synced_at": row.synced_at if row is not None else None,
            "quarantine": getattr(row, "quarantine", None) if row is not None else None,
            "paused": stopped.describe() if stopped is not None else None})
    why: list[str] = []
    if settings.harvest.halt:
        why.append("[harvest] halt = true in the configuration")
    why += [f"{p.scope}: {p.describe()}" for p in in_force]
    if run is not None and run["outcome"].endswith("no harvest (circuit_breaker)"):
        why.append(f"the circuit breaker stopped the last run ({run['as_of']})")
    daemon_wide = settings.harvest.halt or any(p.account is None for p in in_force)
    return {
        "now": now, "today": today, "mode": settings.mode, "database": engine.dialect.name,
        "halted": daemon_wide, "halt_reasons": why, "halt_config": settings.harvest.halt,
        "pauses": [_pause_dict(p) for p in in_force],
        "lease": lease_dict(engine, settings, now),
        "last_run": run,
        "next": next_runs(settings, now),
        "accounts": accounts,
        "alerts": {"open": len(open_alerts), "undelivered": undelivered, "days": OPEN_ALERT_DAYS,
                   "recent": [{"id": x.id, "created_at": x.created_at, "severity": x.severity, "kind": x.kind,
                               "where": x.account_id or x.household_id or "", "message": x.message}
                              for x in open_alerts[:RECENT_ALERTS]]},
        "households": [{"household": h, "year": today.year, "harvested": cents(f.harvested),
                        "harvested_short": cents(f.harvested_short), "harvested_long": cents(f.harvested_long),
                        "tax_saved": cents(f.tax_saved), "harvest_sales": f.harvest_sales}
                       for h, f in by_household.items()],
    }
