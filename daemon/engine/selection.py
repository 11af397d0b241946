"""Which lots a harvest sells, under the lot relief the account's broker applies.

- `specific`: sell exactly the lots worth harvesting (each at least `min_loss_pct` below its basis),
  short-term losses first, then by tax value per share (the order matters when a cap cuts the sale).
  The position's other lots at a loss go along when their loss is worth more in tax than the spread of
  selling and buying them back (lot-level harvesting: each loss is taken when the position is harvested;
  left behind it would wait for a later harvest of the same fund), and so do recent purchases at a loss
  whatever their size (left behind, they would be replacement shares that wash the harvested loss).
- `fifo` / `lifo` / `hifo`: the broker decides. For every share count N that ends on a lot (or at the
  cap), compute what the broker relieves for N shares (`relief.order_for_relief`) and keep the N whose
  relief nets a loss passing the thresholds with the best estimated net benefit (ties: the larger N).
  A gain inside that relief is planned and shown; no other N is ever sold, so no unplanned gain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from daemon.config.models import HarvestConfig
from daemon.engine.benefit import Rates
from daemon.engine.candidates import below_threshold, long_term_before, lot_sale
from daemon.engine.quotes import Price
from daemon.engine.types import LotSale, Rejection, SkipReason, percent
from daemon.ledger import relief
from daemon.ledger.types import ZERO, Lot, LotMethod, Term
from daemon.ledger.wash_sales import WINDOW


@dataclass(frozen=True, slots=True)
class Selection:
    sales: tuple[LotSale, ...]
    quantity: Decimal
    short_loss: Decimal  # net per term; negative: a net gain
    long_loss: Decimal
    basis: Decimal
    proceeds: Decimal

    @property
    def loss(self) -> Decimal:
        return self.short_loss + self.long_loss


def of_sales(sales: Sequence[LotSale]) -> Selection:
    short = long = basis = proceeds = quantity = ZERO
    for s in sales:
        if s.term is Term.SHORT:
            short -= s.gain
        else:
            long -= s.gain
        basis += s.basis
        proceeds += s.proceeds
        quantity += s.quantity
    return Selection(tuple(sales), quantity, short, long, basis, proceeds)


def whole(shares: Decimal) -> Decimal:
    return shares.to_integral_value(rounding=ROUND_FLOOR)


def select(symbol: str, lots: Sequence[Lot], method: LotMethod, price: Price, as_of: date,
           harvest: HarvestConfig, rates: Rates, *, whole_shares: bool,
           max_shares: Decimal | None = None) -> Selection | Rejection:
    """The lots to sell from one position (`lots`: its open lots), or why nothing is worth selling."""
    if method is LotMethod.SPECIFIC:
        return _specific(symbol, lots, price, as_of, harvest, rates, whole_shares, max_shares)
    return _relief(symbol, lots, method, price, as_of, harvest, rates, whole_shares, max_shares)


def _specific(symbol: str, lots: Sequence[Lot], price: Price, as_of: date, harvest: HarvestConfig,
              rates: Rates, whole_shares: bool, max_shares: Decimal | None) -> Selection | Rejection:
    close, cutoff, pct = price.close, long_term_before(as_of), harvest.min_loss_pct
    losing: list[tuple[Lot, Decimal, Decimal]] = []  # lot, basis, gain (< 0)
    for lot in lots:
        basis = lot.cost + lot.adjustment
        gain = lot.quantity * close - basis
        if gain < 0:
            losing.append((lot, basis, gain))
    eligible = [x for x in losing if -x[2] >= pct * x[1]]
    if not eligible:
        return below_threshold(symbol, -sum((x[2] for x in losing), ZERO), sum((x[1] for x in losing), ZERO),
                               harvest, "loss of the lots at a loss")
    # Short-term losses first, then the largest tax value per share (what a capped sale should keep).
    eligible.sort(key=lambda x: (x[0].acquired < cutoff,
                                 x[2] * (rates.long if x[0].acquired < cutoff else rates.short) / x[0].quantity,
                                 x[0].purchased, x[0].seq, x[0].lot_id))
    chosen = {x[0].lot_id for x in eligible}
    recent_start = as_of - WINDOW
    round_trip = 2 * price.half_spread  # per share: selling it and buying the replacement
    along = [x for x in losing if x[0].lot_id not in chosen and (
        x[0].purchased >= recent_start
        or -x[2] * (rates.long if x[0].acquired < cutoff else rates.short) > round_trip * x[0].quantity)]
    picks: list[LotSale] = []
    left = whole(max_shares) if max_shares is not None and whole_shares else max_shares
    for lot, _, _ in [*eligible, *along]:
        shares = whole(lot.quantity) if whole_shares else lot.quantity
        if left is not None:
            shares = min(shares, left)
        if shares <= 0:
            continue
        picks.append(lot_sale(lot, shares, close, as_of))
        if left is not None:
            left -= shares
    selection = of_sales(picks)
    if not picks or not (selection.loss > 0 and selection.loss >= harvest.min_loss_usd):
        return below_threshold(symbol, max(selection.loss, ZERO), selection.basis, harvest)
    return selection


def _relief(symbol: str, lots: Sequence[Lot], method: LotMethod, price: Price, as_of: date,
            harvest: HarvestConfig, rates: Rates, whole_shares: bool,
            max_shares: Decimal | None) -> Selection | Rejection:
    # This runs on every position with a loss: one pass over the relief order with running sums (shares;
    # short-term and long-term loss; basis), no sale records until the best share count is known.
    order = relief.order_for_relief(lots, method)
    close, cutoff = price.close, long_term_before(as_of)
    min_usd, pct = harvest.min_loss_usd, harvest.min_loss_pct
    spread, commissions = 2 * price.half_spread, 2 * harvest.commission_usd  # estimated_cost, inlined
    cap = None if max_shares is None else whole(max_shares) if whole_shares else max_shares
    shares = short = long = basis = last = ZERO
    best: tuple[Decimal, int, LotSale | None] | None = None  # score, full lots, partial lot
    best_loss: Decimal | None = None
    for k, lot in enumerate(order):
        before = (shares, short, long, basis)
        lot_basis = lot.cost + lot.adjustment
        lot_loss = lot_basis - lot.quantity * close
        if lot.acquired < cutoff:
            long += lot_loss
        else:
            short += lot_loss
        shares += lot.quantity
        basis += lot_basis
        if lot_loss < 0 and (cap is None or shares <= cap) and not whole_shares:
            continue  # ending on a gain lot never beats ending before it
        # The share count tried at this lot: its end, rounded down to whole shares, at most the cap.
        n = whole(shares) if whole_shares else shares
        if cap is not None and n > cap:
            n = cap
        if n <= last:
            continue  # nothing new (whole shares: still inside the same share)
        last = n
        if n == shares:
            s_loss, l_loss, s_basis, full, partial = short, long, basis, k + 1, None
        else:  # the count ends inside this lot
            partial = lot_sale(lot, n - before[0], close, as_of)
            s_loss, l_loss, s_basis, full = before[1], before[2], before[3] + partial.basis, k
            if partial.term is Term.SHORT:
                s_loss -= partial.gain
            else:
                l_loss -= partial.gain
        loss = s_loss + l_loss
        if best_loss is None or loss > best_loss:
            best_loss = loss
        if loss > 0 and loss >= min_usd and loss >= pct * s_basis:
            score = s_loss * rates.short + l_loss * rates.long - spread * n - commissions
            if best is None or score >= best[0]:
                best = (score, full, partial)
        if cap is not None and n >= cap:
            break
    if best is None:
        return _relief_rejection(symbol, order, method, close, harvest, best_loss, basis)
    _, full, partial = best
    sales = [lot_sale(lot, lot.quantity, close, as_of) for lot in order[:full]]
    return of_sales([*sales, partial] if partial is not None else sales)


def _relief_rejection(symbol: str, order: Sequence[Lot], method: LotMethod, close: Decimal,
                      harvest: HarvestConfig, best_loss: Decimal | None, basis: Decimal) -> Rejection:
    """lot_relief_gain when a lot worth harvesting sits behind a gain in the relief order."""
    gain: tuple[Lot, Decimal] | None = None
    for lot in order:
        lot_basis = lot.cost + lot.adjustment
        lot_gain = lot.quantity * close - lot_basis
        if lot_gain < 0 and -lot_gain >= harvest.min_loss_pct * lot_basis:
            if gain is not None:
                return Rejection(SkipReason.LOT_RELIEF_GAIN,
                                 f"{symbol}: the broker relieves lots {method.value}: lot {gain[0].lot_id} "
                                 f"(gain ${gain[1]:,.2f}) goes before the loss lots; no share count nets a "
                                 f"loss of at least ${harvest.min_loss_usd} and {percent(harvest.min_loss_pct)} %")
            break
        if lot_gain >= 0 and gain is None:
            gain = (lot, lot_gain)
    return below_threshold(symbol, max(best_loss or ZERO, ZERO), basis, harvest, f"best {method.value} net loss")


def relieve(order: Sequence[Lot], shares: Decimal, price: Decimal, as_of: date) -> list[LotSale]:
    """The lot sales of `shares` taken from `order` front to back (what the broker relieves)."""
    sales: list[LotSale] = []
    left = shares
    for lot in order:
        if left <= 0:
            break
        take = min(left, lot.quantity)
        sales.append(lot_sale(lot, take, price, as_of))
        left -= take
    return sales
