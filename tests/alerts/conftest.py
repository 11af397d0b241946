"""Settings and alerts for the delivery tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from daemon.alerts import raise_alert
from daemon.config.models import AlertsConfig, Settings
from daemon.store.db import transaction


def settings(**alerts: Any) -> Settings:
    return Settings(alerts=AlertsConfig(**alerts))


def seed(engine: Engine, *specs: tuple[str, str, str]) -> None:
    """Alerts as (kind, severity, message)."""
    with transaction(engine) as session:
        for kind, severity, message in specs:
            raise_alert(session, kind, severity, message, run_id="r20240529-abc123", household="h",
                        account="tax", data={"pairs": "1"})


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
