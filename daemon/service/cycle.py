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
from daemon.service.sync import SyncReport, mark_unavailable, sync
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
    unavailable: dict[str, str] = field(default_factory=dict)  # accounts not read in this run, and why

    @property
    def already_harvested(self) -> dict[str, str]:
        """Accounts an earlier run traded today (account -> that run's id)."""
        return {s.account: s.detail.rsplit(" ", 1)[-1] for s in self.plan.skipped
                if s.reason.value == "already_harvested"}

    def broker_outage(self) -> str | None:
        """What to say (and exit non-zero for) when a broker could not be read for some account."""
        if not self.unavailable:
            return None
        return "broker unavailable, not traded: " + "; ".join(f"{a}: {e}" for a, e in sorted(self.unavailable.items()))


def run_cycle(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], prices: PriceBook, as_of: date,
              mode: str, policy: Policy) -> CycleResult:
    trading = mode != "dry-run"
    if trading:
        check_mode(settings, brokers)
    resumed = resume(engine, settings, brokers, policy, as_of) if trading else 0
    run_id = harvest.new_run_id(as_of)
    report = sync(engine, settings, brokers, run_id)
    # Fail closed: an account is traded only when, in this run, its fills and positions were read and
    # reconciled (sync) and its cash was read (facts); any failure keeps it out of the plan, loudly.
    unavailable = dict(report.errors)
    cash_errors: dict[str, str] = {}
    facts = facts_from(dict(brokers), settings, cash_errors)
    mark_unavailable(engine, settings, {a: e for a, e in cash_errors.items() if a not in unavailable}, run_id)
    for account, error in cash_errors.items():
        unavailable[account] = f"{unavailable[account]}; {error}" if account in unavailable else error
    with transaction(engine) as session:
        plan = harvest.plan_and_record(session, settings, prices, as_of, mode, facts, unavailable, run_id=run_id)
    outcomes = (execute(engine, settings, plan.run_id, brokers, policy, unavailable)
                if trading and (plan.pairs or plan.reinvestments or plan.purchases) else [])
    log.info("cycle.done", run_id=plan.run_id, mode=mode, pairs=len(plan.pairs), resumed=resumed,
             filled=sum(1 for o in outcomes if o.buy is not None and o.buy.filled_quantity > 0),
             unavailable=sorted(unavailable))
    return CycleResult(plan=plan, sync=report, resumed=resumed, outcomes=outcomes, unavailable=unavailable)
