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

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter

from daemon.ledger.money import CONTEXT, add, prorate, q, subtract
from daemon.ledger.types import ZERO, Disposition, Lot, Origin, make_disposition, make_lot

WINDOW = timedelta(days=30)
_NOTHING = Decimal(0)
_ONE = Decimal(1)
REPLACEABLE = frozenset({Origin.PURCHASE, Origin.TRANSFER})  # acquisitions that can be replacement shares


def in_window(sold: date, acquired_on: date) -> bool:
    return sold - WINDOW <= acquired_on <= sold + WINDOW


def loss_key(d: Disposition) -> tuple[object, ...]:
    """Losses are settled in sale order; on one day, earliest-acquired sold shares first."""
    return (d.sold, d.acquired, d.purchased, d.seq, d.disposition_id)


# `loss_key` as C code, for the sorts in the fold (the same tuple).
LOSS_ORDER = attrgetter("sold", "acquired", "purchased", "seq", "disposition_id")


def replacement_key(x: Lot | Disposition) -> tuple[object, ...]:
    """Replacements earliest acquired first; among pieces of one purchase, sold shares before open ones."""
    if isinstance(x, Lot):
        return (x.purchased, x.seq, 1, x.lot_id)
    return (x.purchased, x.lot_seq, 0, x.disposition_id)


def replaces(x: Lot | Disposition, purchase_id: str, washed_from: frozenset[str]) -> bool:
    """Whether shares `x` may replace a loss on shares of purchase `purchase_id` whose earlier washed losses
    came from the purchases `washed_from` (the window and the sale itself aside): open or sold shares of a
    replaceable acquisition not yet used as a replacement, neither of the same purchase lot nor shares
    whose own washed loss flowed into the sold lot (no wash in a circle). The harvest engine asks this too."""
    if x.quantity <= 0 or x.absorbed or x.origin not in REPLACEABLE:
        return False
    return x.purchase_id != purchase_id and x.purchase_id not in washed_from


def can_replace(x: Lot | Disposition, loss: Disposition) -> bool:
    if not replaces(x, loss.purchase_id, loss.washed_from):
        return False
    if isinstance(x, Disposition) and (x.trade_id == loss.trade_id
                                       or x.order_id is not None and x.order_id == loss.order_id):
        return False  # the shares sold are never their own replacement
    return in_window(loss.sold, x.purchased)


def split(lot: Lot, shares: Decimal, taken: Callable[[str], bool] = lambda _: False) -> tuple[Lot, Lot]:
    """The two children of an open lot split at `shares`: (`<id>.1` with `shares`, `<id>.2` with the rest).
    The caller closes the parent.

    `taken`: whether a lot id is in use. A child never takes one (a lot named by the user, or by its trade,
    `A.1` beside a lot `A`): it takes the next free `<id>.<n>` instead, so no record is ever replaced."""
    quantity, lot_id = lot.quantity, lot.lot_id
    first_id, rest_id = f"{lot_id}.1", f"{lot_id}.2"
    if taken(first_id) or taken(rest_id):
        free = (f"{lot_id}.{n}" for n in itertools.count(1) if not taken(f"{lot_id}.{n}"))
        first_id, rest_id = next(free), next(free)
    cost = prorate(lot.cost, shares, quantity)
    adjustment = prorate(lot.adjustment, shares, quantity)
    loss_basis = lot.loss_basis
    first_loss_basis = None if loss_basis is None else prorate(loss_basis, shares, quantity)
    first = make_lot(first_id, lot.purchase_id, lot_id, lot.account, lot.symbol, shares, cost, adjustment,
                     lot.purchased, lot.acquired, lot.absorbed, lot.seq, lot.trade_id, lot.reinvested, lot.origin,
                     lot.washed_from, first_loss_basis)
    rest = make_lot(rest_id, lot.purchase_id, lot_id, lot.account, lot.symbol, quantity - shares,
                    lot.cost - cost, lot.adjustment - adjustment, lot.purchased, lot.acquired, lot.absorbed, lot.seq,
                    lot.trade_id, lot.reinvested, lot.origin, lot.washed_from,
                    None if loss_basis is None else loss_basis - (first_loss_basis or ZERO))
    return first, rest


def split_disposition(d: Disposition, shares: Decimal) -> tuple[Disposition, Disposition]:
    """Split a sale in two (`shares` first). Its own wash figures are shared pro rata."""
    quantity = d.quantity
    proceeds, cost_basis = prorate(d.proceeds, shares, quantity), prorate(d.cost_basis, shares, quantity)
    washed, adjustment = prorate(d.washed_quantity, shares, quantity), prorate(d.adjustment, shares, quantity)
    permanent = prorate(d.permanent, shares, quantity)
    replaced = prorate(d.replacement_adjustment, shares, quantity)
    parts = (d.trade_id, d.account, d.symbol, d.lot_id, d.purchase_id)
    dates = (d.acquired, d.purchased, d.sold, d.taxable, d.seq)
    kind = (d.kind, d.lot_seq, d.origin, d.washed_from, d.absorbed, d.split_factor)
    first = make_disposition(f"{d.disposition_id}.1", *parts, shares, proceeds, cost_basis, *dates, washed,
                             adjustment, permanent, *kind, replaced, d.time, d.order_id)
    # The rest's wash figures: most sales split here were never washed (zeros, 104 bytes each); `subtract`
    # gives back the zero operand itself instead of a new equal one.
    rest = make_disposition(f"{d.disposition_id}.2", *parts, quantity - shares, d.proceeds - proceeds,
                            d.cost_basis - cost_basis, *dates, subtract(d.washed_quantity, washed),
                            subtract(d.adjustment, adjustment), subtract(d.permanent, permanent), *kind,
                            subtract(d.replacement_adjustment, replaced), d.time, d.order_id)
    return first, rest


def take(loss: Disposition, available: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(loss shares washed, replacement shares used) when `available` replacement shares count `rate` loss
    shares each."""
    one = rate == _ONE
    capacity = available if one else q(CONTEXT.multiply(available, rate))
    unwashed = subtract(loss.quantity, loss.washed_quantity)  # the loss's own quantity when none is washed
    if capacity >= unwashed:
        return unwashed, unwashed if one else min(available, q(CONTEXT.divide(unwashed, rate)))
    return capacity, available


def disallow(loss: Disposition, shares: Decimal, permanent: bool) -> Decimal:
    """Wash `shares` more of the loss (the book's working record, updated in place); the loss disallowed."""
    washed = add(loss.washed_quantity, shares)
    # Cumulative proration: the last match takes exactly what is left, so the pieces add up to the loss.
    total = prorate(loss.loss, washed, loss.quantity)
    disallowed = subtract(total, loss.adjustment)  # a first wash: the total itself, shared by match and loss
    loss.washed_quantity = washed
    loss.adjustment = total
    loss.permanent = add(loss.permanent, disallowed if permanent else _NOTHING)
    return disallowed
