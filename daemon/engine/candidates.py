"""Harvest candidates: positions (an account's open lots of one symbol) with a loss worth taking.

A loss is worth taking when it passes both thresholds: at least `min_loss_pct` of the basis sold and at
least `min_loss_usd` in dollars. With specific-lot relief the percentage applies to each lot and the dollars
to the lots sold together; with FIFO/LIFO/HIFO both apply to the net result of what the broker relieves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from daemon.config.models import HarvestConfig
from daemon.engine.types import LotSale, Rejection, SkipReason, percent
from daemon.ledger.money import prorate, q
from daemon.ledger.types import Lot, Term, term_of


@lru_cache(maxsize=65_536)
def term(acquired: date, sold: date) -> Term:
    return term_of(acquired, sold)


def lot_sale(lot: Lot, shares: Decimal, price: Decimal, sold: date) -> LotSale:
    """`shares` of `lot` sold at `price` on `sold`, prorated exactly as the ledger will book them (a sell
    trade per lot, without fees)."""
    if shares == lot.quantity:
        basis = lot.cost + lot.adjustment
    else:
        basis = prorate(lot.cost, shares, lot.quantity) + prorate(lot.adjustment, shares, lot.quantity)
    return LotSale(lot_id=lot.lot_id, purchase_id=lot.purchase_id, quantity=shares, basis=basis,
                   proceeds=q(shares * price), term=term(lot.acquired, sold), acquired=lot.acquired,
                   purchased=lot.purchased, seq=lot.seq)


def has_loss(lots: Sequence[Lot], price: Decimal) -> bool:
    """Whether any lot is worth less than its basis: the cheap test run on every position."""
    for lot in lots:
        if lot.cost + lot.adjustment > lot.quantity * price:
            return True
    return False


def passes(loss: Decimal, basis: Decimal, harvest: HarvestConfig) -> bool:
    return loss > 0 and loss >= harvest.min_loss_usd and loss >= harvest.min_loss_pct * basis


def lot_passes_pct(sale: LotSale, harvest: HarvestConfig) -> bool:
    loss = -sale.gain
    return loss > 0 and loss >= harvest.min_loss_pct * sale.basis


def below_threshold(symbol: str, loss: Decimal, basis: Decimal, harvest: HarvestConfig,
                    what: str = "loss") -> Rejection:
    pct = loss / basis * 100 if basis > 0 else Decimal(0)
    return Rejection(SkipReason.BELOW_LOSS_THRESHOLD,
                     f"{symbol}: {what} ${loss:,.2f} ({pct:.1f} % of basis ${basis:,.2f}) is below "
                     f"min_loss_pct {percent(harvest.min_loss_pct)} % / min_loss_usd ${harvest.min_loss_usd}")
