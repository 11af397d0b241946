"""Wash-sale matching (IRC §1091, Treas. Reg. §1.1091-1): which replacement shares wash which loss shares,
and what that does to the loss and to the replacement's basis and holding period.

Rules (see shared/reference/wash-sales.md): the window is 30 calendar days either side of the sale; losses
are taken in sale order; replacements earliest-acquired first; each acquired share washes at most one loss
share; shares of the sold purchase lot never replace themselves; a replacement in a tax-advantaged account
disallows the loss permanently and carries nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from daemon.ledger.money import prorate
from daemon.ledger.types import Disposition, Lot, WashMatch

WINDOW = timedelta(days=30)


def in_window(sold: date, acquired_on: date) -> bool:
    return sold - WINDOW <= acquired_on <= sold + WINDOW


def loss_key(d: Disposition) -> tuple[object, ...]:
    """Losses are settled in sale order; on one day, earliest-acquired sold shares first."""
    return (d.sold, d.acquired, d.purchased, d.seq)


def replacement_key(lot: Lot) -> tuple[object, ...]:
    return (lot.purchased, lot.seq, lot.lot_id)


def can_replace(lot: Lot, loss: Disposition) -> bool:
    return (lot.quantity > 0 and not lot.absorbed and lot.purchase_id != loss.purchase_id
            and in_window(loss.sold, lot.purchased))


def split(lot: Lot, shares: Decimal) -> tuple[Lot, Lot, Lot]:
    """Split `shares` off an open lot: (closed parent, child with `shares`, child with the rest)."""
    cost = prorate(lot.cost, shares, lot.quantity)
    adjustment = prorate(lot.adjustment, shares, lot.quantity)
    first = replace(lot, lot_id=f"{lot.lot_id}.1", parent_id=lot.lot_id, quantity=shares, cost=cost,
                    adjustment=adjustment)
    rest = replace(lot, lot_id=f"{lot.lot_id}.2", parent_id=lot.lot_id, quantity=lot.quantity - shares,
                   cost=lot.cost - cost, adjustment=lot.adjustment - adjustment)
    closed = replace(lot, quantity=Decimal(0), cost=Decimal(0), adjustment=Decimal(0))
    return closed, first, rest


def wash(loss: Disposition, replacement: Lot, permanent: bool
         ) -> tuple[Disposition, list[Lot], WashMatch]:
    """Wash as many loss shares as `replacement` can absorb.

    Returns the updated disposition, the lots to store (the replacement, or its closed parent and two
    children when only part of it is used; the washed piece first) and the match record.
    """
    shares = min(loss.unwashed_quantity, replacement.quantity)
    washed = loss.washed_quantity + shares
    # Cumulative proration: the last match takes exactly what is left, so the pieces add up to the loss.
    total = prorate(loss.loss, washed, loss.quantity)
    disallowed = total - loss.adjustment
    if shares < replacement.quantity:
        closed, piece, rest = split(replacement, shares)
        others = [closed, rest]
    else:
        piece, others = replacement, []
    if permanent:
        piece = replace(piece, absorbed=True)
    else:
        # Holding-period tacking, the brokers' method: the replacement inherits the days the sold shares
        # were held.
        held = loss.sold - loss.acquired
        piece = replace(piece, absorbed=True, adjustment=piece.adjustment + disallowed,
                        acquired=piece.purchased - held)
    updated = replace(loss, washed_quantity=washed, adjustment=total,
                      permanent=loss.permanent + (disallowed if permanent else Decimal(0)))
    match = WashMatch(disposition_id=loss.disposition_id, lot_id=piece.lot_id, account=piece.account,
                      symbol=piece.symbol, quantity=shares, disallowed=disallowed, permanent=permanent,
                      replacement_date=piece.purchased)
    return updated, [piece, *others], match
