"""Brokers' neutral fills and activities (brokers.protocol) as ledger events: trades, transfers, corporate
actions, each with its source and external id for idempotent booking."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from brokers.protocol import Activity, ActivityKind, Fill
from daemon.bookkeeping import ImportedAction
from daemon.importers.csv_trades import ImportedTrade
from daemon.ledger.actions import ActionError, ActionKind, CorporateAction, check
from daemon.ledger.types import ZERO, Side, Trade
from daemon.market_calendar import exchange_time, trade_date

_ACTIONS = {
    ActivityKind.SPLIT: ActionKind.SPLIT,
    ActivityKind.SYMBOL_CHANGE: ActionKind.SYMBOL_CHANGE,
    ActivityKind.CASH_MERGER: ActionKind.CASH_MERGER,
    ActivityKind.STOCK_MERGER: ActionKind.STOCK_MERGER,
    ActivityKind.SPINOFF: ActionKind.SPINOFF,
    ActivityKind.RETURN_OF_CAPITAL: ActionKind.RETURN_OF_CAPITAL,
    ActivityKind.WORTHLESS: ActionKind.WORTHLESS,
}


@dataclass
class ImportReport:
    """A broker file's events, and the activities in it that cannot be mapped (with their line or item
    number), which the import quarantines instead of refusing the whole file."""

    imported: list[ImportedTrade | ImportedAction]
    unmapped: list[tuple[int, Activity]] = field(default_factory=list)

    def add(self, activity: Activity, source: str, line: int) -> None:
        if activity.kind is ActivityKind.UNMAPPED:
            self.unmapped.append((line, activity))
            return
        try:
            self.imported.append(activity_event(activity, source, line))
        except UnmappedActivity as exc:
            self.unmapped.append((line, replace(activity, kind=ActivityKind.UNMAPPED, problem=str(exc))))


class UnmappedActivity(ValueError):
    """An activity the broker adapter could not map: it goes to the quarantine, never into the ledger."""


def fill_trade(fill: Fill, source: str, line: int = 0) -> ImportedTrade:
    trade = Trade(trade_id=f"{source}-{fill.fill_id}", date=trade_date(fill.time), account=fill.account,
                  symbol=fill.symbol, side=Side.BUY if fill.side.value == "buy" else Side.SELL,
                  quantity=fill.quantity, price=fill.price, fees=fill.fees, lot_id=fill.lot_id,
                  time=exchange_time(fill.time), order_id=fill.broker_order_id)
    return ImportedTrade(trade=trade, source=source, external_id=fill.fill_id, line=line)


def activity_event(activity: Activity, source: str, line: int = 0) -> ImportedTrade | ImportedAction:
    """The ledger event of a mapped activity; UnmappedActivity (with the adapter's reason) otherwise."""
    event_id = f"{source}-{activity.activity_id}"
    when = exchange_time(activity.time) if activity.time is not None else None
    if activity.kind in (ActivityKind.TRANSFER_IN, ActivityKind.TRANSFER_OUT):
        if activity.symbol is None or activity.quantity is None or activity.quantity <= 0:
            raise UnmappedActivity(f"{activity.broker_type}: a transfer without a symbol or quantity")
        trade = Trade(trade_id=event_id, date=activity.day, account=activity.account, symbol=activity.symbol,
                      side=Side.TRANSFER_IN if activity.kind is ActivityKind.TRANSFER_IN else Side.TRANSFER_OUT,
                      quantity=activity.quantity, price=activity.price or ZERO, time=when,
                      acquired=activity.acquired, basis=activity.basis)
        return ImportedTrade(trade=trade, source=source, external_id=activity.activity_id, line=line)
    kind = _ACTIONS.get(activity.kind)
    if kind is None or activity.symbol is None:
        raise UnmappedActivity(activity.problem or f"{activity.broker_type}: not mapped")
    action = CorporateAction(action_id=event_id, date=activity.day, symbol=activity.symbol, kind=kind,
                             account=activity.account, ratio=activity.ratio, new_symbol=activity.new_symbol,
                             cash_per_share=activity.cash_per_share, basis_fraction=activity.basis_fraction,
                             time=when)
    try:
        check(action)
    except ActionError as exc:
        raise UnmappedActivity(f"{activity.broker_type}: {exc}") from None
    return ImportedAction(action=action, source=source, external_id=activity.activity_id, line=line)
