"""Wash-sale matching (IRC §1091, Treas. Reg. §1.1091-1): which replacement shares wash which loss shares,
and what that does to the loss and to the replacement's basis and holding period.

Rules (see shared/reference/wash-sales.md): the window is 30 calendar days either side of the sale; losses
are taken in sale order; replacements earliest-acquired first; each acquired share washes at most one loss
share; shares of the sold purchase lot never replace themselves, nor do shares whose own washed loss flowed
into the sold lot; a replacement in a tax-advantaged account disallows the loss permanently and carries
nothing. A replacement may be open shares (a `Lot`) or, under the policy `replacement_already_sold =
"adjust"`, shares already sold (a `Disposition`), whose sale then takes the basis adjustment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from daemon.ledger.money import CONTEXT, prorate, q
from daemon.ledger.types import ZERO, Disposition, Lot, WashMatch

WINDOW = timedelta(days=30)


def in_window(sold: date, acquired_on: date) -> bool:
    return sold - WINDOW <= acquired_on <= sold + WINDOW


def loss_key(d: Disposition) -> tuple[object, ...]:
    """Losses are settled in sale order; on one day, earliest-acquired sold shares first."""
    return (d.sold, d.acquired, d.purchased, d.seq, d.disposition_id)


def replacement_key(x: Lot | Disposition) -> tuple[object, ...]:
    """Replacements earliest acquired first; among pieces of one purchase, sold shares before open ones."""
    if isinstance(x, Lot):
        return (x.purchased, x.seq, 1, x.lot_id)
    return (x.purchased, x.lot_seq, 0, x.disposition_id)


def can_replace(x: Lot | Disposition, loss: Disposition) -> bool:
    if x.quantity <= 0 or x.absorbed or not x.origin.replaceable:
        return False
    if x.purchase_id == loss.purchase_id or x.purchase_id in loss.washed_from:
        return False
    if isinstance(x, Disposition) and (x.trade_id == loss.trade_id
                                       or x.order_id is not None and x.order_id == loss.order_id):
        return False  # the shares sold are never their own replacement
    return in_window(loss.sold, x.purchased)


def split(lot: Lot, shares: Decimal) -> tuple[Lot, Lot, Lot]:
    """Split `shares` off an open lot: (closed parent, child with `shares`, child with the rest)."""
    cost = prorate(lot.cost, shares, lot.quantity)
    adjustment = prorate(lot.adjustment, shares, lot.quantity)
    loss_basis = None if lot.loss_basis is None else prorate(lot.loss_basis, shares, lot.quantity)
    first = replace(lot, lot_id=f"{lot.lot_id}.1", parent_id=lot.lot_id, quantity=shares, cost=cost,
                    adjustment=adjustment, loss_basis=loss_basis)
    rest = replace(lot, lot_id=f"{lot.lot_id}.2", parent_id=lot.lot_id, quantity=lot.quantity - shares,
                   cost=lot.cost - cost, adjustment=lot.adjustment - adjustment,
                   loss_basis=None if lot.loss_basis is None else lot.loss_basis - (loss_basis or ZERO))
    closed = replace(lot, quantity=Decimal(0), cost=Decimal(0), adjustment=Decimal(0))
    return closed, first, rest


def split_disposition(d: Disposition, shares: Decimal) -> tuple[Disposition, Disposition]:
    """Split a sale in two (`shares` first). Its own wash figures are shared pro rata."""
    def part(total: Decimal) -> Decimal:
        return prorate(total, shares, d.quantity)

    first = replace(d, disposition_id=f"{d.disposition_id}.1", quantity=shares, proceeds=part(d.proceeds),
                    cost_basis=part(d.cost_basis), washed_quantity=part(d.washed_quantity),
                    adjustment=part(d.adjustment), permanent=part(d.permanent),
                    replacement_adjustment=part(d.replacement_adjustment))
    rest = replace(d, disposition_id=f"{d.disposition_id}.2", quantity=d.quantity - shares,
                   proceeds=d.proceeds - first.proceeds, cost_basis=d.cost_basis - first.cost_basis,
                   washed_quantity=d.washed_quantity - first.washed_quantity,
                   adjustment=d.adjustment - first.adjustment, permanent=d.permanent - first.permanent,
                   replacement_adjustment=d.replacement_adjustment - first.replacement_adjustment)
    return first, rest


def _take(loss: Disposition, available: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(loss shares washed, replacement shares used) when `available` replacement shares count `rate` loss
    shares each."""
    capacity = available if rate == 1 else q(CONTEXT.multiply(available, rate))
    if capacity >= loss.unwashed_quantity:
        washed = loss.unwashed_quantity
        used = washed if rate == 1 else min(available, q(CONTEXT.divide(washed, rate)))
        return washed, used
    return capacity, available


def _washed(loss: Disposition, shares: Decimal, permanent: bool) -> tuple[Disposition, Decimal]:
    washed = loss.washed_quantity + shares
    # Cumulative proration: the last match takes exactly what is left, so the pieces add up to the loss.
    total = prorate(loss.loss, washed, loss.quantity)
    disallowed = total - loss.adjustment
    updated = replace(loss, washed_quantity=washed, adjustment=total,
                      permanent=loss.permanent + (disallowed if permanent else Decimal(0)))
    return updated, disallowed


def wash(loss: Disposition, replacement: Lot, permanent: bool, rate: Decimal = Decimal(1)
         ) -> tuple[Disposition, list[Lot], WashMatch]:
    """Wash as many loss shares as `replacement` can absorb (`rate` loss shares per replacement share).

    Returns the updated disposition, the lots to store (the replacement, or its closed parent and two
    children when only part of it is used; the washed piece first) and the match record.
    """
    shares, used = _take(loss, replacement.quantity, rate)
    updated, disallowed = _washed(loss, shares, permanent)
    if used < replacement.quantity:
        closed, piece, rest = split(replacement, used)
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
                        acquired=piece.purchased - held,
                        washed_from=piece.washed_from | loss.washed_from | {loss.purchase_id})
    match = WashMatch(disposition_id=loss.disposition_id, lot_id=piece.lot_id, account=piece.account,
                      symbol=piece.symbol, quantity=shares, disallowed=disallowed, permanent=permanent,
                      replacement_date=piece.purchased)
    return updated, [piece, *others], match


def wash_sold(loss: Disposition, replacement: Disposition, permanent: bool, rate: Decimal = Decimal(1)
              ) -> tuple[Disposition, list[Disposition], WashMatch]:
    """Wash with replacement shares that were already sold: that sale's basis takes the disallowed loss.

    Returns the updated loss, the replacement sale's pieces (the washed piece first; two when only part of
    it is used, replacing the original) and the match record.
    """
    shares, used = _take(loss, replacement.quantity, rate)
    updated, disallowed = _washed(loss, shares, permanent)
    if used < replacement.quantity:
        piece, rest = split_disposition(replacement, used)
        pieces = [piece, rest]
    else:
        piece, pieces = replacement, []
    if permanent:
        piece = replace(piece, absorbed=True)
    else:
        held = loss.sold - loss.acquired
        piece = replace(piece, absorbed=True, cost_basis=piece.cost_basis + disallowed,
                        replacement_adjustment=piece.replacement_adjustment + disallowed,
                        acquired=piece.purchased - held,
                        washed_from=piece.washed_from | loss.washed_from | {loss.purchase_id})
    pieces = [piece, *pieces[1:]]
    match = WashMatch(disposition_id=loss.disposition_id, lot_id=piece.lot_id, account=piece.account,
                      symbol=piece.symbol, quantity=shares, disallowed=disallowed, permanent=permanent,
                      replacement_date=piece.purchased, replacement_disposition=piece.disposition_id)
    return updated, pieces, match
