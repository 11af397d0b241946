"""The quarantine: fills and activities the ledger could not apply, kept (never dropped) with why, until a
retry books them or the user resolves them. While an account has any, it is out of sync (not harvested).

Booking a broker page is all-or-nothing per item: the page is booked whole; when the ledger refuses an
item, that item is put aside and the rest booked again (so one bad activity never blocks the others).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from brokers.protocol import Activity, ActivityKind, Fill, OrderSide
from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.importers.broker_activities import UnmappedActivity, activity_event, fill_trade
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.store.db import transaction
from daemon.store.models import Alert, QuarantineRow

log = structlog.get_logger(__name__)

Item = Fill | Activity
Imported = ImportedTrade | bookkeeping.ImportedAction


def external_id(item: Item) -> str:
    return item.fill_id if isinstance(item, Fill) else item.activity_id


def describe(item: Item) -> str:
    if isinstance(item, Fill):
        return (f"fill {item.fill_id} ({item.time:%Y-%m-%d} {item.side.value} {item.quantity.normalize():f} "
                f"{item.symbol})")
    what = f"{item.broker_type} {item.kind.value}" if item.kind is not ActivityKind.UNMAPPED else item.broker_type
    quantity = f" {item.quantity.normalize():f}" if item.quantity is not None else ""
    return f"activity {item.activity_id} ({item.day} {what}{quantity} {item.symbol or ''})".replace(" )", ")")


# -- payloads: the item as JSON, to be read back on a retry ---------------------------------------------------
def _json(value: Any) -> Any:
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


def payload(item: Item) -> dict[str, Any]:
    kind = "fill" if isinstance(item, Fill) else "activity"
    return {"type": kind, **{f.name: _json(getattr(item, f.name)) for f in dataclasses.fields(item)}}


_DECIMALS = {"quantity", "price", "fees", "ratio", "cash_per_share", "basis_fraction", "basis"}


def item_of(data: Mapping[str, Any]) -> Item:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "type" or value is None:
            values[key] = value
        elif key in _DECIMALS:
            values[key] = Decimal(value)
        elif key == "time":
            values[key] = datetime.fromisoformat(value)
        elif key in ("day", "acquired"):
            values[key] = date.fromisoformat(value)
        elif key == "raw":
            values[key] = tuple(value)
        else:
            values[key] = value
    kind = values.pop("type")
    if kind == "fill":
        values["side"] = OrderSide(values["side"])
        return Fill(**values)
    values["kind"] = ActivityKind(values["kind"])
    return Activity(**values)


# -- booking a page ------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    booked: list[Item] = dataclasses.field(default_factory=list)
    refused: list[tuple[Item, str]] = dataclasses.field(default_factory=list)  # (item, why)


def to_event(item: Item, source: str, line: int) -> Imported:
    return fill_trade(item, source, line) if isinstance(item, Fill) else activity_event(item, source, line)


def book_items(engine: Engine, settings: Settings, items: Sequence[Item], source: str, label: str,
               book: Callable[..., object] = bookkeeping.book) -> Outcome:
    """Book every item the ledger accepts; put aside the ones it refuses (or that do not map), with why."""
    out = Outcome()
    pending: list[tuple[Item, Imported]] = []
    for item in items:
        try:
            pending.append((item, to_event(item, source, 0)))
        except UnmappedActivity as exc:
            out.refused.append((item, str(exc)))
    while pending:
        numbered = [dataclasses.replace(event, line=n) for n, (_, event) in enumerate(pending, start=1)]
        try:
            book(engine, settings, numbered, label)
        except TradeImportError as exc:
            if exc.line is not None and 1 <= exc.line <= len(pending):
                item, _ = pending.pop(exc.line - 1)
                out.refused.append((item, exc.reason))
                continue
            # The ledger refused an earlier event once these were added (a backdated item changed history):
            # which item did it is not named, so each is tried alone.
            for item, event in pending:
                try:
                    book(engine, settings, [dataclasses.replace(event, line=1)], label)
                    out.booked.append(item)
                except TradeImportError as one:
                    out.refused.append((item, one.reason))
            return out
        out.booked.extend(item for item, _ in pending)
        return out
    return out


# -- the store -----------------------------------------------------------------------------------------------
def known_ids(session: Session, source: str, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` already in the quarantine (open or resolved): never booked from a page again."""
    if not ids:
        return set()
    rows = session.scalars(sa.select(QuarantineRow.external_id).where(
        QuarantineRow.source == source, QuarantineRow.external_id.in_(list(ids))))
    return set(rows)


def put(session: Session, account: str, household: str, source: str, item: Item, reason: str,
        run_id: str | None) -> QuarantineRow | None:
    """Quarantine `item` with an alert naming it and saying what to do (once: a known id is left as is)."""
    ident = external_id(item)
    if session.scalar(sa.select(QuarantineRow.id).where(QuarantineRow.source == source,
                                                        QuarantineRow.external_id == ident)) is not None:
        return None
    kind = "fill" if isinstance(item, Fill) else "activity"
    activity_type = None if isinstance(item, Fill) else item.broker_type
    row = QuarantineRow(household_id=household, account_id=account, source=source, external_id=ident, kind=kind,
                        activity_type=activity_type, payload=payload(item), reason=reason,
                        created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    message = (f"{account}: {describe(item)} from {source} could not be booked and is quarantined as #{row.id}: "
               f"{reason}. The account is out of sync (not harvested) until it is resolved: fix the cause "
               f"(e.g. import the missing history) and run `tlh sync --retry`, or book it yourself and run "
               f"`tlh quarantine resolve {row.id} --note TEXT`")
    session.add(Alert(created_at=datetime.now(UTC), run_id=run_id, kind="quarantined", severity="error",
                      household_id=household, account_id=account, message=message,
                      data={"quarantine_id": str(row.id), "source": source, "external_id": ident,
                            "reason": reason}))
    log.warning("alert.quarantined", account=account, item=ident, reason=reason)
    return row


def open_rows(session: Session, account: str | None = None) -> list[QuarantineRow]:
    query = sa.select(QuarantineRow).where(QuarantineRow.resolved_at.is_(None))
    if account is not None:
        query = query.where(QuarantineRow.account_id == account)
    return list(session.scalars(query.order_by(QuarantineRow.id)))


def open_count(session: Session, account: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(QuarantineRow).where(
        QuarantineRow.account_id == account, QuarantineRow.resolved_at.is_(None))) or 0


def rows(engine: Engine, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    with transaction(engine) as session:
        query = sa.select(QuarantineRow).order_by(QuarantineRow.id)
        if not include_resolved:
            query = query.where(QuarantineRow.resolved_at.is_(None))
        return [{"id": r.id, "account": r.account_id, "source": r.source, "item": describe(item_of(r.payload)),
                 "reason": r.reason, "created_at": r.created_at, "resolved_at": r.resolved_at,
                 "resolution": r.resolution} for r in session.scalars(query)]


class QuarantineError(Exception):
    pass


def resolve(engine: Engine, ident: int, note: str) -> QuarantineRow:
    """Mark a quarantined item handled (booked by hand, or not a ledger event): it is never booked from a
    page again, and no longer holds its account out of sync."""
    if not note.strip():
        raise QuarantineError("say how it was resolved (--note TEXT)")
    with transaction(engine) as session:
        row = session.get(QuarantineRow, ident)
        if row is None:
            raise QuarantineError(f"no quarantined item #{ident}")
        if row.resolved_at is not None:
            raise QuarantineError(f"#{ident} was already resolved on {row.resolved_at:%Y-%m-%d}: {row.resolution}")
        row.resolved_at, row.resolution = datetime.now(UTC), note.strip()
        session.flush()
        session.expunge(row)
        return row
