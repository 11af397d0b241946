"""One harvest cycle, as a table of contents: resume → sync → reconcile → plan → execute → record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import structlog
from sqlalchemy.engine import Engine

from brokers.protocol import Broker
from daemon import harvest
from daemon.config.models import Settings
from daemon.engine.types import HarvestPlan
from daemon.prices import PriceBook
from daemon.service.brokers import facts_from
from daemon.service.execute import PairOutcome, execute, resume
from daemon.service.orders import Policy
from daemon.service.sync import SyncReport, sync
from daemon.store.db import transaction

log = structlog.get_logger(__name__)


class ModeMismatch(Exception):
    """The configured mode and a broker's own paper/live setting disagree: refuse to trade."""


def check_mode(settings: Settings, brokers: Mapping[str, Broker]) -> None:
    if settings.mode == "dry-run":
        return
    for kind, broker in brokers.items():
        paper = bool(getattr(broker, "paper", True))
        if settings.mode == "live" and paper:
            raise ModeMismatch(f"mode is 'live' but the {kind} broker is a paper account; refusing to start")
        if settings.mode == "paper" and not paper:
            raise ModeMismatch(f"mode is 'paper' but the {kind} broker is a live account; refusing to start")


@dataclass
class CycleResult:
    plan: HarvestPlan
    sync: SyncReport
    resumed: int = 0
    outcomes: list[PairOutcome] = field(default_factory=list)


def run_cycle(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], prices: PriceBook, as_of: date,
              mode: str, policy: Policy) -> CycleResult:
    trading = mode != "dry-run"
    if trading:
        check_mode(settings, brokers)
    resumed = resume(engine, settings, brokers, policy, as_of) if trading else 0
    report = sync(engine, settings, brokers)
    facts = facts_from(dict(brokers), settings)
    with transaction(engine) as session:
        plan = harvest.plan_and_record(session, settings, prices, as_of, mode, facts)
    outcomes = execute(engine, settings, plan.run_id, brokers, policy) if trading and plan.pairs else []
    log.info("cycle.done", run_id=plan.run_id, mode=mode, pairs=len(plan.pairs), resumed=resumed,
             filled=sum(1 for o in outcomes if o.buy is not None and o.buy.filled_quantity > 0))
    return CycleResult(plan=plan, sync=report, resumed=resumed, outcomes=outcomes)
