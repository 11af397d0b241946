"""Harvest candidates: positions (an account's open lots of one symbol) with a loss worth taking.

A loss is worth taking when it passes both thresholds: at least `min_loss_pct` of the basis sold and at
least `min_loss_usd` in dollars. With specific-lot relief the percentage applies to each lot and the dollars
to the lots sold together; with FIFO/LIFO/HIFO both apply to the net result of what the broker relieves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from daemon.config.models import HarvestConfig
from daemon.engine.types import LotSale, Rejection, SkipReason, percent
from daemon.ledger.money import CONTEXT, QUANTUM, prorate
from daemon.ledger.types import Lot, Term, term_of


@lru_cache(maxsize=256)
def long_term_before(sold: date) -> date:
    """Shares acquired before this day are long-term when sold on `sold` (`term_of`, which is monotonic
    in the acquisition day, computed once per sale day)."""
    day = sold - timedelta(days=370)
    while term_of(day, sold) is Term.LONG:
        day += timedelta(days=1)
    return day


def term(acquired: date, sold: date) -> Term:
    return Term.LONG if acquired < long_term_before(sold) else Term.SHORT


def lot_sale(lot: Lot, shares: Decimal, price: Decimal, sold: date) -> LotSale:
    """`shares` of `lot` sold at `price` on `sold`, prorated exactly as the ledger will book them (a sell
    trade per lot, without fees)."""
    if shares == lot.quantity:
        basis = lot.cost + lot.adjustment
    else:
        basis = prorate(lot.cost, shares, lot.quantity) + prorate(lot.adjustment, shares, lot.quantity)
    term = Term.LONG if lot.acquired < long_term_before(sold) else Term.SHORT
    proceeds = (shares * price).quantize(QUANTUM, context=CONTEXT)  # money.q, inlined: this runs a lot
    return LotSale(lot.lot_id, lot.purchase_id, shares, basis, proceeds, term, lot.acquired, lot.purchased,
                   lot.seq, lot.washed_from)


def has_loss(lots: Sequence[Lot], price: Decimal) -> bool:
    """Whether any lot is worth less than its basis: the cheap test run on every position."""
    for lot in lots:
        if lot.cost + lot.adjustment > lot.quantity * price:
            return True
    return False


def passes(loss: Decimal, basis: Decimal, harvest: HarvestConfig) -> bool:
    return loss > 0 and loss >= harvest.min_loss_usd and loss >= harvest.min_loss_pct * basis


def below_threshold(symbol: str, loss: Decimal, basis: Decimal, harvest: HarvestConfig,
                    what: str = "loss") -> Rejection:
    pct = loss / basis * 100 if basis > 0 else Decimal(0)
    return Rejection(SkipReason.BELOW_LOSS_THRESHOLD,
                     f"{symbol}: {what} ${loss:,.2f} ({pct:.1f} % of basis ${basis:,.2f}) is below "
                     f"min_loss_pct {percent(harvest.min_loss_pct)} % / min_loss_usd ${harvest.min_loss_usd}")
