"""Sync and reconcile: pull new fills from every broker into the ledger (idempotently: the broker's execution
id is the key), then check, per account and symbol, that the ledger holds what the broker holds.

An account whose positions disagree is marked out of sync with both numbers, an alert is raised, and the
engine will not harvest it until a later sync agrees. Purchases that wash a loss (the household's outside
buys, IRAs included) raise an alert naming the sale they wash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from brokers.protocol import Activity, ActivityKind, Broker, BrokerError, Fill
from daemon.config.models import Settings
from daemon.ledger.types import Lot
from daemon.service import quarantine
from daemon.service.discrepancy import explain
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.models import AccountRow, Alert, QuarantineRow

log = structlog.get_logger(__name__)

TOLERANCE = Decimal("0.000001")  # fractional-share rounding between broker and ledger


@dataclass
class SyncReport:
    fills: dict[str, int] = field(default_factory=dict)  # new fills booked, per account
    activities: dict[str, int] = field(default_factory=dict)  # new corporate actions / transfers booked
    quarantined: dict[str, list[str]] = field(default_factory=dict)  # per account: what was put aside and why
    retried: dict[str, list[str]] = field(default_factory=dict)  # per account: quarantined items now booked
    mismatches: dict[str, list[str]] = field(default_factory=dict)  # per account: "VTI ledger 10 broker 12"
    errors: dict[str, str] = field(default_factory=dict)  # accounts the broker could not be asked about
    wash_alerts: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.mismatches and not self.errors


def _alert(session: object, kind: str, severity: str, message: str, account: str | None,
           household: str | None, data: dict[str, str], run_id: str | None) -> None:
    session.add(Alert(created_at=datetime.now(UTC), run_id=run_id, kind=kind, severity=severity,  # type: ignore[attr-defined]
                      household_id=household, account_id=account, message=message, data=data))
    log.warning(f"alert.{kind}", account=account, message=message)


def pull_fills(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], report: SyncReport,
               run_id: str | None = None) -> None:
    """Book every account's new fills and activities. What the ledger cannot apply is quarantined (with an
    alert) and the rest booked; the cursor always moves past what was stored, so a sync never sticks."""
    for account in settings.accounts:
        broker = brokers.get(account.broker)
        if broker is None:
            continue
        with transaction(engine) as session:
            cursor = session.scalar(sa.select(AccountRow.sync_cursor).where(AccountRow.id == account.id))
        try:
            page = broker.fills(account.id, cursor)
        except BrokerError as exc:
            report.errors[account.id] = str(exc)
            continue
        items: list[quarantine.Item] = [*page.fills, *page.activities]
        with transaction(engine) as session:
            # Put aside before (resolved or not): a page served again never books them behind the user's back.
            known = quarantine.known_ids(session, broker.name, [quarantine.external_id(i) for i in items])
        items = [i for i in items if quarantine.external_id(i) not in known]
        # Wash matches before booking, to alert on the new ones only; no fills, no ledger load.
        before = _match_keys(engine, account.household) if items else set()
        outcome = quarantine.book_items(engine, settings, items, broker.name, f"{broker.name} sync of {account.id}")
        with transaction(engine) as session:
            for item, reason in outcome.refused:
                quarantine.put(session, account.id, account.household, broker.name, item, reason, run_id)
                report.quarantined.setdefault(account.id, []).append(f"{quarantine.describe(item)}: {reason}")
            row = session.get(AccountRow, account.id)
            if row is not None:
                row.sync_cursor, row.synced_at = page.cursor, datetime.now(UTC)
                if outcome.refused:  # out of sync at once (not only at the next reconciliation)
                    row.in_sync = False
                    row.sync_detail = f"{quarantine.open_count(session, account.id)} item(s) quarantined"
        report.fills[account.id] = sum(1 for i in outcome.booked if isinstance(i, Fill))
        report.activities[account.id] = sum(1 for i in outcome.booked if not isinstance(i, Fill))
        if outcome.booked:
            _wash_alerts(engine, account.household, before,
                         {f"{broker.name}-{quarantine.external_id(i)}" for i in outcome.booked}, report, run_id)
        if any(_unmapped(item) for item, _ in outcome.refused) and hasattr(broker, "reread"):
            # A half of a corporate action whose other half came in an earlier sync: read them together.
            retry_quarantined(engine, settings, brokers, report, run_id, account_id=account.id, pairs_only=True)


def retry_quarantined(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], report: SyncReport,
                      run_id: str | None = None, *, account_id: str | None = None,
                      pairs_only: bool = False) -> None:
    """`tlh sync --retry`: book the quarantined items again (after a correction such as importing missing
    history); those the adapter could not map are read again by it first (a newer adapter, or both halves of
    a corporate action now at hand). Booked ones are resolved; the rest stay with their new reason.

    `pairs_only`: only re-read the unmapped activities (a sync does this when a new half may complete one)."""
    resolution = "paired with its other half and booked by tlh sync" if pairs_only else "booked by tlh sync --retry"
    for account in settings.accounts:
        if account_id is not None and account.id != account_id:
            continue
        with transaction(engine) as session:
            held = [(r.id, r.source, quarantine.item_of(r.payload)) for r in quarantine.open_rows(session, account.id)]
        for source in sorted({src for _, src, _ in held}):
            rows = [(ident, item) for ident, src, item in held if src == source]
            covers: dict[str, list[int]] = {quarantine.external_id(item): [ident] for ident, item in rows}
            items = [] if pairs_only else [item for _, item in rows if not _unmapped(item)]
            unmapped = [(ident, item) for ident, item in rows if _unmapped(item)]
            broker = brokers.get(account.broker)
            reread = getattr(broker, "reread", None) if broker is not None and broker.name == source else None
            if unmapped and reread is not None:
                by_part = {part: ident for ident, item in unmapped
                           for part in quarantine.external_id(item).split("+")}
                raw = [r for _, item in unmapped for r in item.raw]  # type: ignore[union-attr]
                try:
                    page = reread(account.id, raw)
                except BrokerError as exc:
                    report.errors[account.id] = f"re-reading quarantined activities: {exc}"
                    page = None
                if page is not None:
                    for new in [*page.fills, *page.activities]:
                        if _unmapped(new):
                            continue
                        ids = sorted({by_part[p] for p in quarantine.external_id(new).split("+") if p in by_part})
                        covers[quarantine.external_id(new)] = ids
                        items.append(new)
            before = _match_keys(engine, account.household) if items else set()
            outcome = quarantine.book_items(engine, settings, items, source, f"retry of {account.id}'s quarantine")
            with transaction(engine) as session:
                now = datetime.now(UTC)
                for item in outcome.booked:
                    for ident in covers[quarantine.external_id(item)]:
                        row = session.get(QuarantineRow, ident)
                        if row is not None and row.resolved_at is None:
                            row.resolved_at, row.resolution = now, resolution
                            report.retried.setdefault(account.id, []).append(quarantine.describe(item))
                for item, reason in outcome.refused:
                    for ident in covers.get(quarantine.external_id(item), []):
                        row = session.get(QuarantineRow, ident)
                        if row is not None:
                            row.reason = reason
            if outcome.booked:
                _wash_alerts(engine, account.household, before,
                             {f"{source}-{quarantine.external_id(i)}" for i in outcome.booked}, report, run_id)


def _unmapped(item: quarantine.Item) -> bool:
    return isinstance(item, Activity) and item.kind is ActivityKind.UNMAPPED


def _match_keys(engine: Engine, household: str) -> set[tuple[str, str]]:
    with transaction(engine) as session:
        return {(m.disposition_id, m.lot_id) for m in ledger_repo.load_matches(session, household)}


def _wash_alerts(engine: Engine, household: str, before: set[tuple[str, str]], new_trades: set[str],
                 report: SyncReport, run_id: str | None) -> None:
    """Alert on every wash sale the new fills caused (the daemon's own orders never should)."""
    with transaction(engine) as session:
        # The matches first: most syncs make none, and then the lots and sales of a long history stay unread.
        if all((m.disposition_id, m.lot_id) in before for m in ledger_repo.load_matches(session, household)):
            return
        state = ledger_repo.load_ledger(session, household)
        lots = {lot.lot_id: lot for lot in state.lots}
        dispositions = {d.disposition_id: d for d in state.dispositions}
        for match in state.matches:
            if (match.disposition_id, match.lot_id) in before:
                continue
            lot, sale = lots[match.lot_id], dispositions[match.disposition_id]
            if lot.trade_id not in new_trades and sale.trade_id not in new_trades:
                continue
            kind = "permanently disallowing" if match.permanent else "deferring"
            message = (f"wash sale: {match.quantity.normalize():f} {match.symbol} bought {match.replacement_date}"
                       f" in {match.account} washes the loss of {sale.symbol} sold {sale.sold} in {sale.account}"
                       f", {kind} ${match.disallowed:.2f}")
            report.wash_alerts.append(message)
            _alert(session, "wash_sale", "warning", message, match.account, household,
                   {"sale": sale.disposition_id, "sale_date": str(sale.sold), "replacement_lot": match.lot_id,
                    "disallowed": f"{match.disallowed:.2f}", "permanent": str(match.permanent)}, run_id)


def reconcile(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], report: SyncReport,
              run_id: str | None = None) -> None:
    held_lots: dict[str, tuple[Lot, ...]] = {}  # household -> its open lots, read once for all its accounts
    for account in settings.accounts:
        broker = brokers.get(account.broker)
        if broker is None:
            continue
        try:
            held = {p.symbol: p.quantity for p in broker.positions(account.id)}
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the positions are unknown: fail closed
            earlier = report.errors.get(account.id)
            report.errors[account.id] = (f"{earlier}; " if earlier else "") + f"positions not read: {_describe(exc)}"
            continue
        with transaction(engine) as session:
            ledger: dict[str, Decimal] = {}
            if account.household not in held_lots:
                held_lots[account.household] = ledger_repo.load_open_lots(session, account.household)
            for lot in held_lots[account.household]:
                if lot.is_open and lot.account == account.id:
                    ledger[lot.symbol] = ledger.get(lot.symbol, Decimal(0)) + lot.quantity
            problems = explain(ledger, held, TOLERANCE)
            waiting = quarantine.open_count(session, account.id)
            if waiting:
                problems.append(f"{waiting} item(s) quarantined (see `tlh quarantine`; resolve them or "
                                f"`tlh sync --retry` after a correction)")
            row = session.get(AccountRow, account.id)
            was_in_sync = row.in_sync if row is not None else True
            if row is not None:
                row.in_sync, row.sync_detail = not problems, "; ".join(problems) or None
            if problems:
                report.mismatches[account.id] = problems
                _alert(session, "reconcile_mismatch", "error",
                       f"{account.id} is out of sync with {account.broker}: " + "; ".join(problems)
                       + " (no harvesting there until a sync agrees or the missing history is imported)",
                       account.id, account.household, {"problems": "; ".join(problems)}, run_id)
            elif not was_in_sync:
                log.info("reconcile.back_in_sync", account=account.id)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"


def mark_unavailable(engine: Engine, settings: Settings, errors: Mapping[str, str], run_id: str | None = None) -> None:
    """Fail closed: an account whose positions, fills or cash could not be read in this run is marked out of
    sync (so nothing trades it until a later sync reads and agrees) with an error alert saying why."""
    if not errors:
        return
    with transaction(engine) as session:
        for account_id, error in sorted(errors.items()):
            account = settings.account(account_id)
            row = session.get(AccountRow, account_id)
            if row is not None:
                row.in_sync, row.sync_detail = False, f"broker unavailable: {error}"
            broker = account.broker if account is not None else "its broker"
            _alert(session, "broker_unavailable", "error",
                   f"{account_id}: {broker} could not be read ({error}); the account is not traded until a "
                   f"sync reads its positions, fills and cash again",
                   account_id, account.household if account is not None else None,
                   {"broker": broker, "error": error}, run_id)


def sync(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], run_id: str | None = None,
         *, retry: bool = False) -> SyncReport:
    with transaction(engine) as session:
        ledger_repo.sync_accounts(session, settings)
    report = SyncReport()
    for account in settings.accounts:
        if account.broker not in brokers:
            report.errors[account.id] = f"no {account.broker} broker set up"
    if retry:
        retry_quarantined(engine, settings, brokers, report, run_id)
    pull_fills(engine, settings, brokers, report, run_id)
    reconcile(engine, settings, brokers, report, run_id)
    mark_unavailable(engine, settings, report.errors, run_id)
    log.info("sync.done", fills=sum(report.fills.values()), mismatches=len(report.mismatches),
             errors=len(report.errors))
    return report
