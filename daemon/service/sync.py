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

from brokers.protocol import Broker, BrokerError, Fill
from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger.types import Side, Trade
from daemon.market_calendar import exchange_time, trade_date
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.models import AccountRow, Alert

log = structlog.get_logger(__name__)

TOLERANCE = Decimal("0.000001")  # fractional-share rounding between broker and ledger


@dataclass
class SyncReport:
    fills: dict[str, int] = field(default_factory=dict)  # new fills booked, per account
    mismatches: dict[str, list[str]] = field(default_factory=dict)  # per account: "VTI ledger 10 broker 12"
    errors: dict[str, str] = field(default_factory=dict)  # accounts the broker could not be asked about
    wash_alerts: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.mismatches and not self.errors


def fill_trade(fill: Fill, source: str) -> ImportedTrade:
    trade = Trade(trade_id=f"{source}-{fill.fill_id}", date=trade_date(fill.time), account=fill.account,
                  symbol=fill.symbol, side=Side.BUY if fill.side.value == "buy" else Side.SELL,
                  quantity=fill.quantity, price=fill.price, fees=fill.fees, lot_id=fill.lot_id,
                  time=exchange_time(fill.time), order_id=fill.broker_order_id)
    return ImportedTrade(trade=trade, source=source, external_id=fill.fill_id, line=0)


def _alert(session: object, kind: str, severity: str, message: str, account: str | None,
           household: str | None, data: dict[str, str], run_id: str | None) -> None:
    session.add(Alert(created_at=datetime.now(UTC), run_id=run_id, kind=kind, severity=severity,  # type: ignore[attr-defined]
                      household_id=household, account_id=account, message=message, data=data))
    log.warning(f"alert.{kind}", account=account, message=message)


def pull_fills(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], report: SyncReport,
               run_id: str | None = None) -> None:
    """Book every account's new fills; each account's cursor advances only with its fills booked."""
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
        imported = [fill_trade(f, broker.name) for f in page.fills]
        # Wash matches before booking, to alert on the new ones only; no fills, no ledger load.
        before = _match_keys(engine, account.household) if imported else set()
        if imported:
            try:
                bookkeeping.book(engine, settings, imported, f"{broker.name} fills for {account.id}")
            except TradeImportError as exc:
                # History is missing (e.g. a sell of shares the ledger never saw): nothing is booked, the
                # cursor stays, and reconciliation will hold the account until the user imports it.
                report.errors[account.id] = f"cannot book fills: {exc.reason}"
                continue
        with transaction(engine) as session:
            row = session.get(AccountRow, account.id)
            if row is not None:
                row.sync_cursor, row.synced_at = page.cursor, datetime.now(UTC)
        report.fills[account.id] = len(imported)
        if imported:
            _wash_alerts(engine, account.household, before, {i.trade.trade_id for i in imported}, report, run_id)


def _match_keys(engine: Engine, household: str) -> set[tuple[str, str]]:
    with transaction(engine) as session:
        return {(m.disposition_id, m.lot_id) for m in ledger_repo.load_ledger(session, household).matches}


def _wash_alerts(engine: Engine, household: str, before: set[tuple[str, str]], new_trades: set[str],
                 report: SyncReport, run_id: str | None) -> None:
    """Alert on every wash sale the new fills caused (the daemon's own orders never should)."""
    with transaction(engine) as session:
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
    for account in settings.accounts:
        broker = brokers.get(account.broker)
        if broker is None:
            continue
        try:
            held = {p.symbol: p.quantity for p in broker.positions(account.id)}
        except BrokerError as exc:
            report.errors[account.id] = str(exc)
            continue
        with transaction(engine) as session:
            state = ledger_repo.load_ledger(session, account.household)
            ledger: dict[str, Decimal] = {}
            for lot in state.open_lots:
                if lot.account == account.id:
                    ledger[lot.symbol] = ledger.get(lot.symbol, Decimal(0)) + lot.quantity
            problems = [f"{s}: ledger {ledger.get(s, 0):f} broker {held.get(s, 0):f}"
                        for s in sorted(set(ledger) | set(held))
                        if abs(ledger.get(s, Decimal(0)) - held.get(s, Decimal(0))) > TOLERANCE]
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


def sync(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], run_id: str | None = None) -> SyncReport:
    with transaction(engine) as session:
        ledger_repo.sync_accounts(session, settings)
    report = SyncReport()
    pull_fills(engine, settings, brokers, report, run_id)
    reconcile(engine, settings, brokers, report, run_id)
    log.info("sync.done", fills=sum(report.fills.values()), mismatches=len(report.mismatches),
             errors=len(report.errors))
    return report
