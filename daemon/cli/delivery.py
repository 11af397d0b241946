"""Alerts raised by a command go out before it exits, as the daemon sends them after each job."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from daemon.config.models import Settings


def has_channels(settings: Settings) -> bool:
    a = settings.alerts
    return a.jsonl_path is not None or a.webhook or bool(a.email_to)


def deliver_raised(engine: Engine, settings: Settings) -> None:
    """Send what is pending to the configured channels (none configured: nothing to do). A failing channel
    never fails the command: it is named on stderr and the alerts wait for the next delivery."""
    if not has_channels(settings):
        return
    from daemon.alerts import deliver_pending

    report = deliver_pending(engine, settings)
    if report.failed:
        failed = "; ".join(f"{k}: {v}" for k, v in sorted(report.failed.items()))
        typer.echo(f"alerts: {report.delivered} of {report.pending} delivered; failed: {failed} "
                   f"(retried by the next delivery: `tlh alerts --deliver` or the daemon)", err=True)
