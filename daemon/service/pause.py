"""Pauses: harvesting stopped for one account or for the whole daemon until someone resumes it.

A pause is a row in `pauses` (`account_id` NULL: the whole daemon). `tlh pause` and the daemon itself (a fill
far from its quote) create them; `tlh resume` resolves them. A pause with an `until` day ends on its own on
that day (harvesting resumes on `until`). The service reads them from the database at every job, so a
running daemon honours a pause without a restart. These small queries are shared by the CLI commands
(`tlh pause`, `tlh resume`, `tlh status`) and the service.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from daemon import logs
from daemon.store.db import connection_of
from daemon.store.tables import PAUSES

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

log = logs.get_logger(__name__)  # structlog loaded when it logs

MANUAL, FILL_DEVIATION = "manual", "fill_deviation"


@dataclass(frozen=True)
class PauseInfo:
    """A pause as the CLI, the status page and the engine's skip detail show it."""

    id: int
    account: str | None  # None: the whole daemon
    kind: str
    reason: str
    until: date | None
    run_id: str | None
    created_by: str
    created_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def scope(self) -> str:
        return self.account if self.account is not None else "all accounts"

    def describe(self) -> str:
        until = f" until {self.until}" if self.until else " until `tlh resume`"
        by = f"{self.created_by} at {self.created_at:%Y-%m-%d %H:%M} UTC"
        return f"paused ({self.kind}){until} by {by}: {self.reason}"


def _info(row: Any) -> PauseInfo:
    return PauseInfo(id=row.id, account=row.account_id, kind=row.kind, reason=row.reason, until=row.until,
                     run_id=row.run_id, created_by=row.created_by, created_at=row.created_at,
                     resolved_by=row.resolved_by, resolved_at=row.resolved_at)


def who() -> str:
    """`user@host`, for the record of who paused or resumed."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def active(session: Session | Connection, today: date) -> list[PauseInfo]:
    """Every pause in force on `today`: not resolved, and its `until` (if any) not reached."""
    p = PAUSES.c
    rows = connection_of(session).execute(sa.select(PAUSES).where(p.resolved_at.is_(None),
                                                                  sa.or_(p.until.is_(None), p.until > today))
                                          .order_by(p.created_at, p.id))
    return [_info(r) for r in rows]


def for_accounts(session: Session | Connection, accounts: Iterable[str], today: date) -> dict[str, PauseInfo]:
    """Per account, the pause that stops it today (a daemon-wide pause stops every account); the first one
    created wins when several apply."""
    pauses = active(session, today)
    stopped: dict[str, PauseInfo] = {}
    for account in accounts:
        found = next((p for p in pauses if p.account is None or p.account == account), None)
        if found is not None:
            stopped[account] = found
    return stopped


def is_paused(session: Session | Connection, account: str, today: date) -> PauseInfo | None:
    return for_accounts(session, [account], today).get(account)


def pause(session: Session, *, account: str | None, reason: str, until: date | None = None,
          kind: str = MANUAL, by: str | None = None, run_id: str | None = None) -> PauseInfo:
    from daemon.store.models import Pause

    row = Pause(account_id=account, kind=kind, reason=reason, until=until, run_id=run_id,
                created_by=by or who(), created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    log.warning("harvest.paused", account=account or "*", kind=kind, reason=reason,
                until=str(until) if until else None)
    return _info(row)


def resume(session: Session, *, account: str | None, by: str | None = None) -> list[PauseInfo]:
    """Resolve the unresolved pauses of that scope (one account, or the daemon-wide ones); returns them."""
    from daemon.store.models import Pause

    scope = Pause.account_id.is_(None) if account is None else Pause.account_id == account
    rows = list(session.scalars(sa.select(Pause).where(Pause.resolved_at.is_(None), scope).order_by(Pause.id)))
    now, by = datetime.now(UTC), by or who()
    for row in rows:
        row.resolved_at, row.resolved_by = now, by
    if rows:
        log.info("harvest.resumed", account=account or "*", pauses=len(rows))
    return [_info(r) for r in rows]


def unresolved(session: Session | Connection) -> list[PauseInfo]:
    """Every pause nobody resolved yet, expired `until` ones included (for `tlh status` and the listing)."""
    p = PAUSES.c
    rows = connection_of(session).execute(sa.select(PAUSES).where(p.resolved_at.is_(None))
                                          .order_by(p.created_at, p.id))
    return [_info(r) for r in rows]


def pause_and_alert(session: Session, *, account: str | None, reason: str, until: date | None = None,
                    by: str | None = None) -> PauseInfo:
    """A pause by a person (`tlh pause`, the dashboard), and the warning alert that says so."""
    from daemon.alerts import raise_alert

    made = pause(session, account=account, reason=reason, until=until, by=by)
    raise_alert(session, "paused", "warning", f"harvesting {made.scope}: {made.describe()}",
                account=account, data={"pause_id": str(made.id), "until": str(until) if until else ""})
    return made


def resume_and_alert(session: Session, *, account: str | None, by: str | None = None) -> list[PauseInfo]:
    """A resume by a person (`tlh resume`, the dashboard), and the alert that says so when anything resumed."""
    from daemon.alerts import raise_alert

    resolved = resume(session, account=account, by=by)
    if resolved:
        raise_alert(session, "resumed", "info",
                    f"harvesting resumed for {account or 'all accounts'} by {resolved[0].resolved_by} "
                    f"({'; '.join(p.reason for p in resolved)})", account=account)
    return resolved
