"""The ledger's events and their order: trades (with transfers) and corporate actions, applied by date, then
execution time, then input order (shared/reference/wash-sales.md, "Order"); the fills of one sell order
go together as one sale. Checks of an event's own fields, before anything is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import time
from operator import attrgetter

from daemon.ledger import actions
from daemon.ledger.actions import ActionError, CorporateAction
from daemon.ledger.types import Side, Trade

Event = Trade | CorporateAction


class LedgerError(Exception):
    """An event the ledger cannot book; `trade` (also `event`) is the offending one."""

    def __init__(self, event: Event, reason: str):
        self.trade = self.event = event
        self.reason = reason
        super().__init__(f"{describe(event)}: {reason}")


class BackdatedTrades(Exception):
    """New events dated on or before the state's last day: the caller must recompute from all events."""


class Unloaded(Exception):
    """A batch booked on a state loaded in part (`LedgerState.part`) reached a record the part leaves out:
    the caller must book it on the whole state."""


def describe(event: Event) -> str:
    if isinstance(event, Trade):
        return (f"trade {event.trade_id} ({event.date} {event.account} {event.side} {event.quantity} "
                f"{event.symbol})")
    where = f" in {event.account}" if event.account else ""
    return f"corporate action {event.action_id} ({event.date} {event.kind} {event.symbol}{where})"


def order_key(event: Event) -> tuple[object, ...]:
    # A corporate action takes effect at the open: before the day's untimed trades.
    phase = 0 if isinstance(event, CorporateAction) else 1
    return (event.date, event.time or time.min, phase)


_DATE = attrgetter("date")


def event_order(events: Iterable[Event]) -> list[Event]:
    """Date, execution time, then input order: how the events happened, whatever the batches were.

    The sort is stable, so input order needs no place in the key; when every event is an untimed trade (a
    CSV of trade dates, the usual import) the date alone orders them, read by C code instead of a key
    function per event."""
    ordered = list(events)
    if all(type(e) is Trade and e.time is None for e in ordered):
        ordered.sort(key=_DATE)
    else:
        ordered.sort(key=order_key)
    return ordered


canonical_order = event_order  # the former name


def sale_key(event: Event) -> tuple[object, ...] | None:
    # The order id first: most events have none, and an enum member's lookup (Side.SELL) is slow in 3.11.
    if not isinstance(event, Trade) or event.order_id is None or event.side is not Side.SELL:
        return None
    return (event.date, event.account, event.symbol, event.order_id)


def sales(ordered: Sequence[Event]) -> Iterator[list[Event]]:
    """Events one by one, except that the fills of one sell order (adjacent in time order) go together.
    A generator: a list per event for the whole history would be 7 MB at 100,000 trades."""
    group: list[Event] = []
    last: tuple[object, ...] | None = None
    for event in ordered:
        # Most events have no order id: they skip the key (and its function call) altogether.
        key = sale_key(event) if type(event) is Trade and event.order_id is not None else None
        if key is not None and key == last:
            group.append(event)
            continue
        if group:
            yield group
        group = [event]
        last = key
    if group:
        yield group


def validate(event: Event) -> None:
    if isinstance(event, CorporateAction):
        try:
            actions.check(event)
        except ActionError as exc:
            raise LedgerError(event, str(exc)) from None
        return
    if event.quantity <= 0:
        raise LedgerError(event, "quantity must be positive")
    if event.price < 0:
        raise LedgerError(event, "price must not be negative")
    if event.fees < 0:
        raise LedgerError(event, "fees must not be negative")
    if event.basis is not None and event.basis < 0:
        raise LedgerError(event, "basis must not be negative")
