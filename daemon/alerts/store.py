"""Raising alerts (one helper instead of hand-built `Alert(...)` rows) and reading them back for delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from daemon import logs

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from daemon.store.models import Alert

# The ORM class is imported by the functions that write or deliver: reading alerts back (AlertRecord.of,
# `tlh alerts`) works on the Core table's rows and does not load the ORM.

log = logs.get_logger("daemon.alerts")  # structlog loaded when an alert is raised, not when one is read

SEVERITIES = ("info", "warning", "error")  # in increasing order
# alert.data key holding the channels an alert already reached (so a retry never sends it there twice)
DELIVERED_TO = "_delivered_to"


def rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}") from None


def at_least(minimum: str) -> tuple[str, ...]:
    return SEVERITIES[rank(minimum):]


def raise_alert(session: Session, kind: str, severity: str, message: str, *, run_id: str | None = None,
                household: str | None = None, account: str | None = None,
                data: Mapping[str, Any] | None = None) -> Alert:
    """Store an alert in the caller's transaction and log it. Delivery happens later (`deliver_pending`)."""
    from daemon.store.models import Alert

    rank(severity)
    row = Alert(created_at=datetime.now(UTC), run_id=run_id, kind=kind, severity=severity,
                household_id=household, account_id=account, message=message,
                data=dict(data) if data is not None else {}, delivered=False)
    session.add(row)
    level = {"info": log.info, "warning": log.warning, "error": log.error}[severity]
    level(f"alert.{kind}", severity=severity, run_id=run_id, household=household, account=account,
          message=message)
    return row


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert, detached from its session: what the channels format and send."""

    id: int
    created_at: datetime
    kind: str
    severity: str
    message: str
    run_id: str | None = None
    household: str | None = None
    account: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    delivered_to: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: Alert) -> AlertRecord:
        data = dict(row.data or {})
        sent = data.pop(DELIVERED_TO, None) or []
        return cls(id=row.id, created_at=row.created_at, kind=row.kind, severity=row.severity,
                   message=row.message, run_id=row.run_id, household=row.household_id, account=row.account_id,
                   data={k: v for k, v in data.items() if not str(k).startswith("_")},
                   delivered_to=tuple(sent))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at.isoformat(), "severity": self.severity,
                "kind": self.kind, "run_id": self.run_id, "household": self.household, "account": self.account,
                "message": self.message, "data": dict(self.data)}

    def line(self) -> str:
        """One line for people: `[WARNING] wash_sale (tax) 2026-11-20 21:45Z: ... (run r2026...)`."""
        where = f" ({self.account})" if self.account else (f" ({self.household})" if self.household else "")
        run = f" (run {self.run_id})" if self.run_id else ""
        return (f"[{self.severity.upper()}] {self.kind}{where} {self.created_at.astimezone(UTC):%Y-%m-%d %H:%M}Z: "
                f"{self.message}{run}")


def pending(session: Session, min_severity: str, since: datetime | None, limit: int) -> list[AlertRecord]:
    """Undelivered alerts at or above `min_severity`, created at or after `since`, oldest first."""
    from daemon.store.models import Alert

    query = sa.select(Alert).where(Alert.delivered.is_(False), Alert.severity.in_(at_least(min_severity)))
    if since is not None:
        query = query.where(Alert.created_at >= since)
    return [AlertRecord.of(r) for r in session.scalars(query.order_by(Alert.id).limit(limit))]


def mark_sent(session: Session, ids: Sequence[int], channel: str, channels: Sequence[str]) -> int:
    """Record that `channel` got these alerts; an alert every channel in `channels` got is delivered.
    Returns how many became delivered."""
    from daemon.store.models import Alert

    done = 0
    for row in session.scalars(sa.select(Alert).where(Alert.id.in_(list(ids)))):
        data = dict(row.data or {})
        sent = sorted(set(data.get(DELIVERED_TO) or []) | {channel})
        data[DELIVERED_TO] = sent
        row.data = data  # a new dict: the JSON column is not mutation-tracked
        if set(channels) <= set(sent):
            row.delivered = True
            done += 1
    return done
