"""What the dashboard's pages and API show, read through the CLI's own query code (daemon.review, daemon.report,
daemon.views): one store, one set of figures. Page-only derivations (days left, lots turning long-term,
upcoming swap backs) are computed here from the same rows."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from daemon import review, views
from daemon.config.models import Settings
from daemon.ledger import LedgerState
from daemon.ledger.types import AccountType, add_one_year
from daemon.prices import PriceBook, PriceFileError
from daemon.prices import load as load_prices
from daemon.report import build_report
from daemon.report.views import report_dict
from daemon.store.db import reading, transaction
from daemon.store.models import (
    AccountRow,
    HarvestRun,
    LedgerStateRow,
    OrderIntent,
    PaperFill,
    PaperOrder,
    TradeRow,
)
from daemon.store.models import Restriction as RestrictionRow

log = structlog.get_logger(__name__)
LONG_TERM_SOON_DAYS = 30
SWAP_BACK_HELD = timedelta(days=31)  # as daemon.engine.swap_back.HELD_DAYS
BACKTEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$")


CACHE_ENTRIES = 16


@dataclass
class _Cached:
    key: tuple[str, int] | None = None
    book: PriceBook | None = None


def _fingerprint_query() -> sa.Select[Any]:
    """One row that changes whenever anything the report, lots or gains read changes: trades booked, ledgers
    rebuilt, runs, order fills, restrictions, broker syncs and the paper broker's fills."""

    def scalar(*columns: Any) -> list[Any]:
        return [sa.select(c).scalar_subquery() for c in columns]

    return sa.select(*scalar(
        sa.func.count(TradeRow.trade_id), sa.func.max(TradeRow.imported_at),
        sa.func.max(LedgerStateRow.through), sa.func.sum(LedgerStateRow.next_seq),
        sa.func.count(HarvestRun.id), sa.func.max(HarvestRun.started_at), sa.func.max(HarvestRun.finished_at),
        sa.func.count(OrderIntent.client_order_id), sa.func.max(OrderIntent.updated_at),
        sa.func.count(RestrictionRow.id), sa.func.max(RestrictionRow.created_at),
        sa.func.max(AccountRow.synced_at), sa.func.max(PaperFill.seq), sa.func.max(PaperOrder.updated_at),
    ))


class Store:
    """The dashboard's read side over one engine. Thread-safe: each call opens its own transaction.

    The report and the ledgers are recomputed only when the store changed (a fingerprint of the tables they
    read, one cheap query a request) or the price file did: the daemon writes a few times a day, people look
    more often. The figures are the CLI's either way: the same functions make them."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine, self.settings = engine, settings
        self._prices = _Cached()
        self._lock = threading.Lock()
        self._cache: dict[Any, tuple[Any, Any]] = {}
        self._fingerprint = _fingerprint_query()

    def fingerprint(self) -> tuple[Any, ...]:
        path = self.settings.brokers.paper.prices
        try:
            mtime = Path(path).stat().st_mtime_ns if path is not None else None
        except OSError:
            mtime = None
        with reading(self.engine) as session:
            row = session.execute(self._fingerprint).one()
        return (*row, mtime)

    def cached(self, key: Any, compute: Callable[[], Any], version: tuple[Any, ...] | None = None) -> Any:
        """`compute()`, or what it gave last time for `key` if the store is still as it was then."""
        version = self.fingerprint() if version is None else version
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version:
                return hit[1]
        value = compute()
        with self._lock:
            self._cache[key] = (version, value)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.pop(next(iter(self._cache)))
        return value

    # -- shared inputs -----------------------------------------------------------------------------------------
    def prices(self) -> PriceBook | None:
        """The paper broker's price file, parsed again only when it changes on disk."""
        path = self.settings.brokers.paper.prices
        if path is None:
            return None
        try:
            key = (str(path), Path(path).stat().st_mtime_ns)
        except OSError:
            return None
        with self._lock:
            if self._prices.key != key:
                try:
                    self._prices = _Cached(key, load_prices(Path(path)))
                except PriceFileError:
                    self._prices = _Cached(key, None)
            return self._prices.book

    def states(self, version: tuple[Any, ...] | None = None) -> list[LedgerState]:
        def load() -> list[LedgerState]:
            with reading(self.engine) as session:
                return review.ledger_states(session, self.settings)

        return self.cached("states", load, version)  # type: ignore[no-any-return]

    def today(self) -> date:
        """The commands' one today (`daemon.cli.dates`): the exchange's date, or the price file's last day."""
        from daemon.cli import dates

        return dates.today(self.settings, self.prices())

    def status(self, today: date, version: tuple[Any, ...] | None = None) -> dict[str, Any]:
        """`tlh status --format json` (daemon.service.status), its harvested figures kept until the store changes."""
        from daemon.report.data import harvested_by_household
        from daemon.service.status import status

        # Taken before status() opens its transaction: a second one inside it would wait on SQLite's write lock.
        version = self.fingerprint() if version is None else version

        def figures(session: Any) -> Any:
            return self.cached(("status", today),
                                lambda: harvested_by_household(session, self.settings, today.year, today), version)

        return status(self.engine, self.settings, today, figures=figures)

    # -- pages -------------------------------------------------------------------------------------------------
    def report(self, year: int, today: date, version: tuple[Any, ...] | None = None) -> dict[str, Any]:
        """`tlh report --format json` for `year`."""
        return self.cached(("report", year, today),  # type: ignore[no-any-return]
                            lambda: report_dict(build_report(self.engine, self.settings, year, today)), version)

    def runs(self, limit: int | None = 50) -> list[dict[str, Any]]:
        with reading(self.engine) as session:
            return review.runs(session, limit)

    def run(self, run_id: str) -> dict[str, Any] | None:
        with reading(self.engine) as session:
            return review.run_detail(session, run_id)

    def orders(self, **filters: str | None) -> list[dict[str, Any]]:
        with reading(self.engine) as session:
            return review.order_rows(session, **filters)

    def alerts(self, since: date | None = None, limit: int | None = 200, severity: str | None = None,
               run: str | None = None) -> list[dict[str, Any]]:
        with reading(self.engine) as session:
            return review.alerts(session, since, limit, severity=severity, run=run)

    def lots(self, account: str | None = None, states: list[LedgerState] | None = None) -> list[dict[str, Any]]:
        return review.lot_rows(self.states() if states is None else states, account, self.prices())

    def _gain_rows(self, year: int | None, account: str | None, taxpayer: str | None) -> list[Any]:
        rows = review.gain_rows(self.states(), year, account)
        if taxpayer is not None:
            accounts = set(review.taxpayer_accounts(self.settings).get(taxpayer, []))
            rows = [r for r in rows if r.account in accounts]
        return rows

    def gains(self, year: int | None, account: str | None = None, taxpayer: str | None = None) -> list[dict[str, Any]]:
        return [views.gain_row(r) for r in self._gain_rows(year, account, taxpayer)]

    def form_8949(self, year: int | None, account: str | None = None,
                  taxpayer: str | None = None) -> list[dict[str, Any]]:
        from daemon import tax_returns

        with reading(self.engine) as session:
            lines = review.form_8949_lines(session, self.settings, self.states(), year, account, taxpayer)
        return tax_returns.form_8949_rows(lines)

    def gains_summary(self, year: int | None, account: str | None = None,
                      taxpayer: str | None = None) -> list[dict[str, Any]]:
        """`tlh gains --summary`: a row per return (taxpayer) and year."""
        rows = review.gains_summary(self.states(), self.settings, year, account)
        return [r for r in rows if taxpayer in (None, r["taxpayer"])]

    def taxpayers(self) -> dict[str, list[str]]:
        return review.taxpayer_accounts(self.settings)

    # -- pauses (the mechanism of `tlh pause` / `tlh resume`: daemon.service.pause) --------------------------
    def pauses(self) -> list[dict[str, Any]]:
        """Every unresolved pause, as `tlh status` lists them."""
        from daemon.service import pause

        with reading(self.engine) as session:
            return [_pause_dict(p) for p in pause.unresolved(session)]

    def pause(self, account: str | None, reason: str, until: date | None, by: str) -> dict[str, Any]:
        from daemon.service import pause

        with transaction(self.engine) as session:
            return _pause_dict(pause.pause_and_alert(session, account=account, reason=reason, until=until, by=by))

    def resume(self, account: str | None, by: str) -> list[dict[str, Any]]:
        from daemon.service import pause

        with transaction(self.engine) as session:
            return [_pause_dict(p) for p in pause.resume_and_alert(session, account=account, by=by)]

    def deliver(self) -> None:
        """Send the alerts just raised to the configured channels, as `tlh pause` does (never raises)."""
        from daemon.alerts import deliver_pending
        from daemon.cli.delivery import has_channels

        if has_channels(self.settings):
            try:
                deliver_pending(self.engine, self.settings)
            except Exception as exc:  # the alerts stay pending for the daemon's next delivery
                log.warning("dashboard.delivery_failed", error=f"{type(exc).__name__}: {exc}")

    # -- overview-only derivations ---------------------------------------------------------------------------
    def turning_long_term(self, today: date, states: list[LedgerState] | None = None,
                          days: int = LONG_TERM_SOON_DAYS) -> list[dict[str, Any]]:
        """Open lots in taxable accounts that become long-term within `days`: selling them a little later
        turns a short-term gain into a long-term one (and a short-term loss into a long-term loss)."""
        taxable = {a.id for a in self.settings.accounts if a.type is AccountType.TAXABLE}
        states = self.states() if states is None else states
        soon = {}
        for lot in (lot for s in states for lot in s.open_lots if lot.account in taxable):
            long_from = add_one_year(lot.acquired) + timedelta(days=1)
            if 0 < (long_from - today).days <= days:
                soon[(lot.account, lot.lot_id)] = long_from
        prices = self.prices()
        rows = views.lot_rows([lot for s in states for lot in s.open_lots if (lot.account, lot.lot_id) in soon], prices,
                              prices.last_day() if prices else None)
        out = [{**r, "long_term_from": soon[(r["account"], r["lot_id"])],
                "days_left": (soon[(r["account"], r["lot_id"])] - today).days}
               for r in rows]
        return sorted(out, key=lambda r: (r["days_left"], r["account"], r["symbol"]))

    def swap_backs(self, today: date, states: list[LedgerState] | None = None) -> list[dict[str, Any]]:
        """Replacements the daemon bought that are still held and not yet 31 days old. A fund's replacement
        may go back to its asset class's primary fund from day 31 (whole, when `[harvest] swap_back` is on); a
        direct index's stand-in (the buy of a harvest pair in an `[accounts.direct_index]` account) is swapped
        back lot by lot whatever that switch says, to the most underweight stock of its sub-industry (usually
        the one sold), when that realizes a loss or a gain within the year's `realized_gain_budget_usd`."""
        states = self.states() if states is None else states
        held = {(lot.account, lot.symbol, lot.purchased): lot.quantity for s in states for lot in s.open_lots}
        primaries = {m: c.members[0] for c in self.settings.asset_classes for m in c.members[1:]}
        direct = {a.id: a.direct_index for a in self.settings.accounts if a.direct_index is not None}
        with reading(self.engine) as session:
            bought = session.execute(
                sa.select(OrderIntent.account_id, OrderIntent.symbol, HarvestRun.as_of, OrderIntent.run_id,
                          OrderIntent.pair_id)
                .join(HarvestRun, HarvestRun.id == OrderIntent.run_id)
                .where(OrderIntent.leg == "buy", OrderIntent.filled_quantity > 0,
                       HarvestRun.as_of > today - SWAP_BACK_HELD)).all()
            # A direct index's stand-ins: the buys of its harvest pairs (not swap backs, not new money).
            runs = {run_id for account, _, _, run_id, _ in bought if account in direct}
            plans = dict(session.execute(sa.select(HarvestRun.id, HarvestRun.plan)
                                         .where(HarvestRun.id.in_(runs))).all()) if runs else {}
        sold = {(run_id, p["pair_id"]): p["sell_symbol"] for run_id, plan in plans.items()
                for p in (plan or {}).get("pairs", []) if p.get("kind", "harvest") == "harvest"}
        out = []
        for account, symbol, day, run_id, pair_id in bought:
            quantity = held.get((account, symbol, day))
            if quantity is None:
                continue
            eligible = day + SWAP_BACK_HELD
            row = {"account": account, "symbol": symbol, "bought": day, "quantity": quantity,
                   "shares": _shown(quantity), "eligible": eligible, "days_left": (eligible - today).days,
                   "run_id": run_id}
            if account in direct:
                if (run_id, pair_id) not in sold:
                    continue
                budget = direct[account].realized_gain_budget_usd  # type: ignore[union-attr]
                back = sold[(run_id, pair_id)]
                out.append({**row, "primary": back, "back_to": back,
                            "enabled": True, "direct_index": True,
                            "rule": f"per lot, to the most underweight peer, within a ${budget:,.0f} gain budget"})
            elif symbol in primaries:
                on = self.settings.harvest.swap_back
                out.append({**row, "primary": primaries[symbol], "back_to": primaries[symbol], "enabled": on,
                            "direct_index": False,
                            "rule": "whole position" if on else "off ([harvest] swap_back)"})
        return sorted(out, key=lambda r: (r["eligible"], r["account"], r["symbol"]))

    # -- backtests -------------------------------------------------------------------------------------------
    def backtests(self) -> list[dict[str, Any]]:
        folder = self.settings.dashboard.backtests
        if folder is None or not Path(folder).is_dir():
            return []
        out = []
        for path in sorted(Path(folder).glob("*.json")):
            if not BACKTEST_NAME.match(path.stem):
                continue
            data = self.backtest(path.stem)
            if data is None:
                continue
            series = data.get("series", {}).get("date") or [""]
            out.append({"name": path.stem, "portfolio": data.get("portfolio", path.stem),
                        "description": data.get("description", ""), "start": series[0], "end": series[-1],
                        "tax_alpha": data.get("tax_alpha")})
        return out

    def backtest(self, name: str) -> dict[str, Any] | None:
        """A stored `tlh backtest --format json` result by file name (no path: only files in the folder)."""
        folder = self.settings.dashboard.backtests
        if folder is None or not BACKTEST_NAME.match(name):
            return None
        path = Path(folder) / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or "series" not in data or "portfolio" not in data:
            return None
        return data


def _shown(quantity: Decimal) -> Decimal:
    """Shares as a half-width table shows them: four decimals at most (the API keeps the exact quantity)."""
    q = quantity.quantize(Decimal("0.0001"))
    return q.to_integral() if q == q.to_integral() else q.normalize()


def _pause_dict(p: Any) -> dict[str, Any]:
    return {"id": p.id, "account": p.account, "scope": p.scope, "kind": p.kind, "reason": p.reason, "until": p.until,
            "run_id": p.run_id, "created_by": p.created_by, "created_at": p.created_at,
            "resolved_by": p.resolved_by, "resolved_at": p.resolved_at, "description": p.describe()}
