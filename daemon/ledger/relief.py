"""Which open lots a sell relieves: the account's lot method, or the lot the trade names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from operator import attrgetter

from daemon.ledger.types import Lot, LotMethod


class ReliefError(Exception):
    pass


# The earliest purchase first: (lot.purchased, lot.seq, lot.lot_id), read by C code (the key of every lot
# a FIFO account opens).
fifo_key: Callable[[Lot], tuple[object, ...]] = attrgetter("purchased", "seq", "lot_id")


def _lifo_key(lot: Lot) -> tuple[object, ...]:
    # The latest purchase first; pieces of one purchase keep their own order.
    return (-lot.purchased.toordinal(), -lot.seq, lot.lot_id)


def _hifo_key(lot: Lot) -> tuple[object, ...]:
    quantity = lot.quantity
    # lot.basis, spelled out: the key is made for every HIFO lot that opens or changes.
    per_share = (lot.cost + lot.adjustment) / quantity if quantity else Decimal(0)
    return (-per_share, lot.purchased, lot.seq, lot.lot_id)


def relief_key(method: LotMethod) -> Callable[[Lot], tuple[object, ...]]:
    """The sort key that puts open lots in the order the broker relieves them. `specific` without a named
    lot falls back to FIFO, which is what brokers do when no lot is chosen."""
    if method is LotMethod.LIFO:
        return _lifo_key
    if method is LotMethod.HIFO:
        return _hifo_key
    return fifo_key


def order_for_relief(lots: Iterable[Lot], method: LotMethod) -> list[Lot]:
    return sorted(lots, key=relief_key(method))


def matches_named(lot: Lot, named: str) -> bool:
    return lot.purchase_id == named or lot.lot_id == named or lot.lot_id.startswith(named + ".")


def take(ordered: Iterable[Lot], quantity: Decimal, where: str = "the account") -> list[tuple[Lot, Decimal]]:
    """The (lot, shares) pairs that relieve `quantity` from lots already in relief order; stops as soon as
    it has enough, so a caller that keeps its lots sorted pays only for the lots it sells."""
    picks: list[tuple[Lot, Decimal]] = []
    left = quantity
    held = Decimal(0)
    for lot in ordered:
        if lot.quantity <= 0:
            continue
        if left <= 0:
            return picks
        part = min(left, lot.quantity)
        picks.append((lot, part))
        left -= part
        held += lot.quantity
    if left > 0:
        raise ReliefError(f"sells {quantity} shares but {where} holds {held}")
    return picks


def select(lots: Iterable[Lot], quantity: Decimal, method: LotMethod,
           named: str | None = None) -> list[tuple[Lot, Decimal]]:
    """The (lot, shares) pairs a sell of `quantity` relieves. Raises ReliefError when not enough is held."""
    pool = [lot for lot in lots if lot.quantity > 0]
    if named is not None:
        pool = [lot for lot in pool if matches_named(lot, named)]
        if not pool:
            raise ReliefError(f"no open lot {named!r}")
        return take(sorted(pool, key=fifo_key), quantity, f"lot {named!r}")
    return take(order_for_relief(pool, method), quantity)
