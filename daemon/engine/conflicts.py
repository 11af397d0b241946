"""Wash-sale conflicts across the household (shared/reference/wash-sales.md, "What the harvest engine must
therefore check").

- Look back: a loss sold today is washed by identical shares bought in the last 30 days anywhere in the
  household and still held (IRA purchases too, and then permanently). `lookback` replays the ledger's
  matching for the loss lots of a pair against those shares, so the plan knows exactly which loss shares
  would be washed.
- Look forward / replacement: a purchase today must not be identical to anything with a pending loss
  (sold at a loss in the last 30 days, not fully washed: it would wash it), nor to a symbol under an active
  do-not-buy-until restriction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.engine.holdings import GroupIndex, Holdings
from daemon.engine.types import LotSale, Restriction
from daemon.ledger.money import prorate
from daemon.ledger.types import ZERO, Lot, Term
from daemon.ledger.wash_sales import replacement_key, replaces


@dataclass(frozen=True, slots=True)
class Wash:
    sale: LotSale  # the loss lot
    quantity: Decimal  # how many of its shares would be washed
    by: Lot  # by shares of this recent purchase

    @property
    def disallowed(self) -> Decimal:
        return prorate(-self.sale.gain, self.quantity, self.sale.quantity)


def lookback(sales: Sequence[LotSale], replacements: Iterable[tuple[Lot, Decimal]]) -> list[Wash]:
    """The washes the ledger would book if `sales` were sold today, given the recent purchases still held
    after today's sales (`replacements`: lot and shares left). Losses go in sale order (earliest acquired
    first, then as listed), replacements earliest purchased first; which shares may replace a loss is the
    ledger's own test (`wash_sales.replaces`: never shares of the sold purchase, nor shares whose washed
    loss flowed into the sold lot)."""
    # Ties go in the order of `sales`: the order in which the sells are booked.
    order = sorted(range(len(sales)), key=lambda i: (sales[i].acquired, sales[i].purchased, i))
    losses = [sales[i] for i in order if sales[i].gain < 0]
    queue = sorted(((lot, left) for lot, left in replacements if left > 0),
                   key=lambda r: replacement_key(r[0]))
    remaining = [left for _, left in queue]
    washes: list[Wash] = []
    for loss in losses:
        need = loss.quantity
        for i, (lot, _) in enumerate(queue):
            if need <= 0:
                break
            left = remaining[i]
            if left <= 0 or not replaces(lot, loss.purchase_id, loss.washed_from):
                continue
            take = min(need, left)
            washes.append(Wash(loss, take, lot))
            remaining[i] = left - take
            need -= take
    return washes


def washed_by_term(washes: Iterable[Wash]) -> tuple[Decimal, Decimal]:
    short = long = ZERO
    for w in washes:
        if w.sale.term is Term.SHORT:
            short += w.disallowed
        else:
            long += w.disallowed
    return short, long


def describe(washes: Sequence[Wash], symbol: str) -> str:
    parts = [f"{w.by.symbol} bought {w.by.purchased} in {w.by.account} ({w.quantity:f} sh)" for w in washes]
    unique = list(dict.fromkeys(parts))
    shown = "; ".join(unique[:3]) + (f"; and {len(unique) - 3} more" if len(unique) > 3 else "")
    return f"{shown} would wash the loss on {symbol}"


class BuyGuard:
    """What may not be bought in one household today: symbols identical to a pending loss or under an
    active restriction. `conflict(symbol)` says why, or returns None."""

    def __init__(self, holdings: Holdings, restrictions: Iterable[Restriction], as_of: date,
                 groups: GroupIndex):
        self._groups = groups
        self._blocked: dict[str, str] = {}
        for r in restrictions:
            if r.household == holdings.household and r.until > as_of:
                self._blocked.setdefault(groups.key(r.symbol),
                                         f"{r.symbol} may not be bought until {r.until} ({r.sale})")
        for key, losses in holdings.pending.items():
            d = min(losses, key=lambda x: (x.sold, x.seq))
            self._blocked.setdefault(key, f"{d.symbol} was sold at a loss in {d.account} on {d.sold} "
                                          f"(${d.loss:,.2f}); buying anything identical would wash it")

    def blocked(self) -> set[str]:
        """The identical-group keys nothing may be bought of."""
        return set(self._blocked)

    def conflict(self, symbol: str, sold_today: Mapping[str, str] | None = None) -> str | None:
        key = self._groups.key(symbol)
        if sold_today and key in sold_today:
            return f"{symbol} is identical to a fund sold today by {sold_today[key]}"
        return self._blocked.get(key)
