"""`deliver_pending`: every undelivered alert to every configured channel, retried, never raising.

Each channel remembers what it already got (in the alert's data, key `_delivered_to`), so a channel that
failed is retried on the next call without the others getting the alert a second time; an alert is
`delivered` once every configured channel has it. Alerts below `[alerts] min_severity` are stored and
logged but never sent; alerts older than MAX_AGE are no longer sent (a channel enabled or repaired after a
long time does not flood its owner with history: `tlh alerts` shows them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon import logs
from daemon.alerts.channels import Channel, ChannelConfigError, build_channels, redact
from daemon.alerts.store import AlertRecord, mark_sent, pending
from daemon.config.models import Settings
from daemon.store.db import transaction
from daemon.store.tables import ALERTS

log = logs.get_logger("daemon.alerts")  # structlog loaded when it logs

ATTEMPTS = 3  # per channel and call: the first try and two retries
BACKOFF_SECONDS = 1.0  # before the first retry; doubled each time
MAX_AGE = timedelta(days=7)
BATCH = 500  # alerts read per call; the rest wait for the next one
PER_MESSAGE = 50  # alerts per webhook post, e-mail or file write; each one marked as soon as it is sent


@dataclass
class DeliveryReport:
    pending: int = 0  # alerts considered
    delivered: int = 0  # alerts that reached their last channel in this call
    sent: dict[str, int] = field(default_factory=dict)  # per channel: alerts it accepted
    failed: dict[str, str] = field(default_factory=dict)  # per channel: the last error (no secrets)

    @property
    def ok(self) -> bool:
        return not self.failed


def _send(channel: Channel, alerts: Sequence[AlertRecord], attempts: int, backoff: float,
          sleep: Callable[[float], None]) -> str | None:
    """Send with retries; None on success, else the last error, redacted."""
    error = "not attempted"
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            channel.send(alerts)
        except Exception as exc:  # any failure of a channel is retried, then reported, never raised
            error = redact(f"{type(exc).__name__}: {exc}", channel.secrets)
            log.warning("alerts.channel_failed", channel=channel.name, attempt=attempt, attempts=attempts,
                        alerts=len(alerts), error=error)
            if not channel.retryable or isinstance(exc, ChannelConfigError) or attempt >= attempts:
                break
            sleep(backoff * 2 ** (attempt - 1))
            continue
        log.info("alerts.sent", channel=channel.name, alerts=len(alerts), attempt=attempt)
        return None
    return error


def deliver_pending(engine: Engine, settings: Settings, *, channels: Sequence[Channel] | None = None,
                    environ: Mapping[str, str] | None = None, attempts: int = ATTEMPTS,
                    backoff: float = BACKOFF_SECONDS, sleep: Callable[[float], None] = time.sleep,
                    now: datetime | None = None) -> DeliveryReport:
    """Deliver what is pending; safe to call after every step of a run (it never raises)."""
    report = DeliveryReport()
    try:
        if channels is None:
            channels = build_channels(settings.alerts, environ)
        if not channels:
            return report
        since = (now or datetime.now(UTC)) - MAX_AGE
        with transaction(engine) as session:
            alerts = pending(session, settings.alerts.min_severity, since, BATCH)
        report.pending = len(alerts)
        names = [c.name for c in channels]
        finished = [a.id for a in alerts if set(names) <= set(a.delivered_to)]  # e.g. a channel was removed
        for channel in channels:
            todo = [a for a in alerts if channel.name not in a.delivered_to]
            if not todo:
                continue
            for start in range(0, len(todo), PER_MESSAGE):
                chunk = todo[start:start + PER_MESSAGE]
                error = _send(channel, chunk, attempts, backoff, sleep)
                if error is not None:
                    report.failed[channel.name] = error
                    break  # the rest waits for the next call
                report.sent[channel.name] = report.sent.get(channel.name, 0) + len(chunk)
                with transaction(engine) as session:
                    report.delivered += mark_sent(session, [a.id for a in chunk], channel.name, names)
        if finished:
            with transaction(engine) as session:
                session.execute(sa.update(ALERTS).where(ALERTS.c.id.in_(finished)).values(delivered=True))
            report.delivered += len(finished)
    except Exception as exc:  # delivery must never stop a run: say what happened and carry on
        secrets = [s for c in channels or () for s in c.secrets]
        log.error("alerts.delivery_error", error=redact(f"{type(exc).__name__}: {exc}", secrets))
        report.failed.setdefault("*", type(exc).__name__)
    if report.pending:
        log.info("alerts.delivery", pending=report.pending, delivered=report.delivered, sent=report.sent,
                 failed=sorted(report.failed))
    return report
