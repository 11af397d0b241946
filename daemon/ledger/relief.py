"""Which open lots a sell relieves: the account's lot method, or the lot the trade names."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from daemon.ledger.types import Lot, LotMethod


class ReliefError(Exception):
    pass


def fifo_key(lot: Lot) -> tuple[object, ...]:
    return (lot.purchased, lot.seq, lot.lot_id)


def order_for_relief(lots: Iterable[Lot], method: LotMethod) -> list[Lot]:
    """Open lots in the order the broker relieves them. `specific` without a named lot falls back to FIFO,
    which is what brokers do when no lot is chosen."""
    ordered = sorted(lots, key=fifo_key)
    if method is LotMethod.LIFO:
        # The latest purchase first; pieces of one purchase keep their own order.
        ordered.sort(key=lambda lot: (lot.purchased, lot.seq), reverse=True)
    elif method is LotMethod.HIFO:
        ordered.sort(key=lambda lot: lot.basis / lot.quantity, reverse=True)
    return ordered


def select(lots: Iterable[Lot], quantity: Decimal, method: LotMethod,
           named: str | None = None) -> list[tuple[Lot, Decimal]]:
    """The (lot, shares) pairs a sell of `quantity` relieves. Raises ReliefError when not enough is held."""
    pool = [lot for lot in lots if lot.quantity > 0]
    if named is not None:
        pool = [lot for lot in pool if lot.purchase_id == named or lot.lot_id == named
                or lot.lot_id.startswith(named + ".")]
        if not pool:
            raise ReliefError(f"no open lot {named!r}")
        ordered = sorted(pool, key=fifo_key)
    else:
        ordered = order_for_relief(pool, method)
    held = sum((lot.quantity for lot in ordered), Decimal(0))
    if quantity > held:
        where = f"lot {named!r}" if named else "the account"
        raise ReliefError(f"sells {quantity} shares but {where} holds {held}")
    picks: list[tuple[Lot, Decimal]] = []
    left = quantity
    for lot in ordered:
        if left <= 0:
            break
        take = min(left, lot.quantity)
        picks.append((lot, take))
        left -= take
    return picks
