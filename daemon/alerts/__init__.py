"""Alerts: raised (stored and logged) by every step of a run, then delivered to the configured channels.

- `raise_alert(session, kind, severity, message, ...)` stores one alert in the caller's transaction and logs it.
- `deliver_pending(engine, settings)` sends every undelivered alert at or above `[alerts] min_severity` to
  each configured channel (a JSON-lines file, a webhook, e-mail); a failing channel is retried with backoff
  and never raises: the alert stays undelivered and the next call tries again.
"""

from daemon.alerts.deliver import DeliveryReport, deliver_pending
from daemon.alerts.store import SEVERITIES, AlertRecord, raise_alert

__all__ = ["SEVERITIES", "AlertRecord", "DeliveryReport", "deliver_pending", "raise_alert"]
