"""Day-stepping soak of the real service cycle on the paper broker (issue 16).

Every NYSE session of a span runs what `tlh harvest --as-of DAY` runs in paper mode (`run_cycle` with the
paper broker filling at that day's close), in this process and on one store, and after each day checks the
books (`tests.soak.invariants`). A day that traded is run a second time: the rerun must trade nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brokers.factory import make_brokers
from daemon import bookkeeping
from daemon.config import load_settings
from daemon.config.models import Settings
from daemon.importers.csv_trades import parse
from daemon.market_calendar import sessions
from daemon.prices import PriceBook
from daemon.prices import load as load_prices
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.orders import Policy
from daemon.store import migrate
from daemon.store.db import make_engine, reading
from daemon.store.models import OrderIntent
from daemon.store.tables import LEASES
from tests.soak import invariants

# Where a crash day's `tlh harvest` is killed (SIGKILL, daemon.service.orders.fault_point), in turn.
FAULTS = ("after_intents", "after_sell_submit", "after_sell_fill", "after_buy_submit", "after_purchase_submit",
          "after_reinvest_submit")
POLICY = Policy(fill_timeout=1.0, poll_interval=0.0, retries=2, backoff=0.0, sleep=lambda s: None, faults=set())


@dataclass
class YearFigures:
    days: int = 0
    harvested_losses: Decimal = Decimal(0)  # realized by harvest sales (before any wash adjustment), > 0
    pairs: int = 0
    swap_backs: int = 0
    purchases: int = 0
    washes_created: int = 0  # loss sales of the daemon washed by a buy the daemon made
    seconds: float = 0.0


@dataclass
class Soak:
    settings: Settings
    prices: PriceBook
    engine: Any
    config: Path
    figures: dict[int, YearFigures] = field(default_factory=dict)
    days_run: list[date] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    crashes: list[tuple[date, str, bool]] = field(default_factory=list)  # day, fault point, restarted that day
    skipped: list[date] = field(default_factory=list)  # days the daemon was down

    @classmethod
    def open(cls, config: Path) -> Soak:
        settings = load_settings(config)
        assert settings.brokers.paper.prices is not None
        migrate.upgrade(settings.database_url)
        return cls(settings, load_prices(Path(settings.brokers.paper.prices)), make_engine(settings.database_url),
                   config)

    def close(self) -> None:
        self.engine.dispose()

    def cycle(self, day: date, mode: str = "paper") -> CycleResult:
        brokers = make_brokers(self.settings, self.engine, self.prices, day)
        try:
            return run_cycle(self.engine, self.settings, brokers, self.prices, day, mode, POLICY)
        finally:
            for broker in brokers.values():
                broker.close()

    def recurring(self, day: date, sessions_of_month: list[date], first: bool) -> None:
        """Book the accounts' own purchases due on `day` as their custodian would report them (an imported
        trade at the day's close), before the day's cycle reads the accounts: the recurring ones, and on
        the first day an untraded account's initial holding (its first recurring symbol, for the starting
        cash)."""
        rows = []
        for account in self.settings.accounts:
            for n, r in enumerate(account.recurring):
                due = next((d for d in sessions_of_month if d.day >= r.day_of_month), None)
                amount = r.amount if due == day else None
                if first and n == 0:
                    amount = (amount or 0) + self.settings.brokers.paper.starting_cash
                quote = self.prices.quote(r.symbol, day)
                if quote is None or not amount:
                    continue
                qty = (amount / quote.close).quantize(Decimal("1e-6"), rounding=ROUND_DOWN)
                rows.append(f"{day},{account.id},{r.symbol},buy,{qty},{quote.close},,own-{account.id}-{day}")
        if rows:
            text = "date,account,symbol,side,quantity,price,fees,lot_id\n" + "\n".join(rows) + "\n"
            bookkeeping.book(self.engine, self.settings, parse(text, "recurring.csv",
                                                                {a.id for a in self.settings.accounts}))

    def crash(self, day: date, fault: str) -> bool:
        """`tlh harvest --as-of DAY` in its own process, killed at `fault` if it gets there; True if it was.
        The dead process's lease is then let expire, as the time before a restart would."""
        env = {**os.environ, "TLH_FAULT": fault}
        command = [sys.executable, "-c", "import sys; from daemon.cli.main import run; sys.exit(run())",
                   "--config", str(self.config), "harvest", "--as-of", day.isoformat(), "--format", "json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == -signal.SIGKILL:
            with self.engine.begin() as conn:
                conn.execute(sa.update(LEASES).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            return True
        if done.returncode != 0:
            self.problems.append(f"{day}: tlh harvest exited {done.returncode}: {done.stderr[-2000:]}")
        return False

    def reachable(self, day: date, fault: str) -> str | None:
        """The fault point the day's run gets to, as a dry run of the day shows (what `tlh harvest --dry-run`
        would): `fault`, else the next of FAULTS that its plan reaches; None when it would trade nothing (a
        process killed where it never goes is no crash)."""
        plan = self.cycle(day, "dry-run").plan
        reached = {"after_intents"} if plan.pairs or plan.purchases or plan.reinvestments else set()
        if plan.pairs:
            reached |= {"after_sell_submit", "after_sell_fill", "after_buy_submit"}
        if plan.purchases:
            reached.add("after_purchase_submit")
        if plan.reinvestments:
            reached.add("after_reinvest_submit")
        if fault in reached or not reached:
            return fault if reached else None
        # Not the one due: one of those it reaches, in turn (not always the first, after_intents).
        listed = [f for f in FAULTS if f in reached]
        return listed[len(self.crashes) % len(listed)]

    def step(self, day: date, month: list[date], fault: str | None = None) -> CycleResult | None:
        """One trading day. With `fault`, the day's run is a `tlh harvest` process killed there; every other
        crash is restarted the same day (`tlh run` coming back at once), the rest only the next day (their
        books are checked then: a fill the dead process never pulled is the next run's to book)."""
        started = time.perf_counter()
        self.recurring(day, month, not self.days_run)
        fault = self.reachable(day, fault) if fault is not None else None
        crashed = fault is not None and self.crash(day, fault)
        if crashed:
            same_day = len(self.crashes) % 2 == 0
            self.crashes.append((day, fault or "", same_day))
            if not same_day:
                self._count(day, time.perf_counter() - started)
                return None
        result = self.cycle(day)
        if result.unavailable:
            self.problems.append(f"{day}: accounts not read: {result.unavailable}")
        if crashed or result.outcomes or result.resumed:
            again = self.cycle(day)
            if again.outcomes or again.resumed or again.plan.pairs:
                self.problems.append(f"{day}: the rerun planned {len(again.plan.pairs)} pairs, resumed "
                                     f"{again.resumed} orders and carried out {len(again.outcomes)}")
        self.problems += [f"{day}: {p}" for p in invariants.check(self.engine, self.settings, day)]
        self._count(day, time.perf_counter() - started)
        return result

    def _count(self, day: date, seconds: float) -> None:
        y = self.figures.setdefault(day.year, YearFigures())
        y.days += 1
        y.seconds += seconds
        self.days_run.append(day)

    def run(self, start: date, end: date, on_day: Callable[[date, CycleResult | None], None] | None = None,
            crash_every: int = 0, down: Collection[date] = ()) -> None:
        """Every session from `start` through `end`; with `crash_every` N, a run crashes every N days (the
        first that trades something from then on, at the fault points in turn). On the `down` days the
        daemon does not run at all (the accounts' own purchases still happen); the next run catches up."""
        days = [s.day for s in sessions(start, end, self.settings.schedule.calendar)]
        by_month: dict[tuple[int, int], list[date]] = {}
        for d in days:
            by_month.setdefault((d.year, d.month), []).append(d)
        ran: date | None = None
        due = False  # a crash is due: on the next day whose run trades something
        for n, d in enumerate(days):
            if d in down:
                self.recurring(d, by_month[(d.year, d.month)], not self.days_run)
                self.skipped.append(d)
                continue
            due = due or bool(crash_every and n % crash_every == crash_every - 1)
            crashes = len(self.crashes)
            result = self.step(d, by_month[(d.year, d.month)], FAULTS[crashes % len(FAULTS)] if due else None)
            due = due and len(self.crashes) == crashes
            if on_day is not None:
                on_day(d, result)
            # A year is checked once the next one's first run has booked every fill of its last day.
            if ran is not None and ran.year != d.year:
                self.problems += [f"{d}: {p}" for p in invariants.year_end(self.settings, self.config, self.engine,
                                                                          ran.year)]
            ran = d
        self._totals()

    def _totals(self) -> None:
        """What was harvested, swapped back, bought and washed, per year, from the store."""
        for year, found in invariants.totals(self.engine, self.settings).items():
            y = self.figures.setdefault(year, YearFigures())
            for key, value in found.items():
                setattr(y, key, value)

    def intents(self) -> int:
        with reading(self.engine) as session:
            return session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) or 0
