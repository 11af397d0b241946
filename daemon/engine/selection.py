"""Which lots a harvest sells, under the lot relief the account's broker applies.

- `specific`: sell exactly the lots worth harvesting (each at least `min_loss_pct` below its basis),
  short-term losses first, then by tax value per share (the order matters when a cap cuts the sale);
  recent purchases of the position that are at a loss go along (left behind, they would be replacement
  shares that wash the harvested loss).
- `fifo` / `lifo` / `hifo`: the broker decides. For every share count N that ends on a lot (or at the
  cap), compute what the broker relieves for N shares (`relief.order_for_relief`) and keep the N whose
  relief nets a loss passing the thresholds with the best estimated net benefit (ties: the larger N).
  A gain inside that relief is planned and shown; no other N is ever sold, so no unplanned gain.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from daemon.config.models import HarvestConfig
from daemon.engine.benefit import Rates, estimated_cost
from daemon.engine.candidates import below_threshold, lot_passes_pct, lot_sale, passes
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
    by_id = {lot.lot_id: lot for lot in lots}
    full = [lot_sale(lot, lot.quantity, price.close, as_of) for lot in lots]
    eligible = [s for s in full if lot_passes_pct(s, harvest)]
    if not eligible:
        losers = of_sales([s for s in full if s.gain < 0])
        return below_threshold(symbol, losers.loss, losers.basis, harvest, "loss of the lots at a loss")
    # Short-term losses first, then the largest tax value per share (what a capped sale should keep).
    eligible.sort(key=lambda s: (s.term is not Term.SHORT, s.gain * rates.rate(s.term) / s.quantity,
                                 s.purchased, s.seq, s.lot_id))
    chosen = {s.lot_id for s in eligible}
    recent_start = as_of - WINDOW
    along = [s for s in full if s.lot_id not in chosen and s.gain < 0 and s.purchased >= recent_start]
    picks: list[LotSale] = []
    left = whole(max_shares) if max_shares is not None and whole_shares else max_shares
    for s in [*eligible, *along]:
        shares = whole(s.quantity) if whole_shares else s.quantity
        if left is not None:
            shares = min(shares, left)
        if shares <= 0:
            continue
        picks.append(s if shares == s.quantity else lot_sale(by_id[s.lot_id], shares, price.close, as_of))
        if left is not None:
            left -= shares
    selection = of_sales(picks)
    if not picks or not (selection.loss > 0 and selection.loss >= harvest.min_loss_usd):
        return below_threshold(symbol, max(selection.loss, ZERO), selection.basis, harvest)
    return selection


def _relief(symbol: str, lots: Sequence[Lot], method: LotMethod, price: Price, as_of: date,
            harvest: HarvestConfig, rates: Rates, whole_shares: bool,
            max_shares: Decimal | None) -> Selection | Rejection:
    order = relief.order_for_relief(lots, method)
    full = [lot_sale(lot, lot.quantity, price.close, as_of) for lot in order]
    # Prefix sums over the relief order: shares, short/long gain, basis.
    cum: list[Decimal] = []
    prefix: list[tuple[Decimal, Decimal, Decimal]] = []
    shares = short = long = basis = ZERO
    for s in full:
        shares += s.quantity
        if s.term is Term.SHORT:
            short -= s.gain
        else:
            long -= s.gain
        basis += s.basis
        cum.append(shares)
        prefix.append((short, long, basis))
    counts: set[Decimal] = set()
    for end in cum:
        n = whole(end) if whole_shares else end
        if max_shares is not None:
            n = min(n, whole(max_shares) if whole_shares else max_shares)
        if n > 0:
            counts.add(n)
    best: tuple[Decimal, Decimal, int, LotSale | None] | None = None  # score, n, full lots, partial
    best_loss: Decimal | None = None
    for n in sorted(counts):
        j = bisect.bisect_left(cum, n)
        if cum[j] == n:
            short, long, basis = prefix[j]
            k, partial = j + 1, None
        else:
            short, long, basis = prefix[j - 1] if j > 0 else (ZERO, ZERO, ZERO)
            partial = lot_sale(order[j], n - (cum[j - 1] if j > 0 else ZERO), price.close, as_of)
            if partial.term is Term.SHORT:
                short -= partial.gain
            else:
                long -= partial.gain
            basis += partial.basis
            k = j
        loss = short + long
        best_loss = loss if best_loss is None else max(best_loss, loss)
        if not passes(loss, basis, harvest):
            continue
        score = rates.value(short, long) - estimated_cost(price, n, harvest)
        if best is None or score >= best[0]:
            best = (score, n, k, partial)
    if best is None:
        first = next((i for i, s in enumerate(full) if lot_passes_pct(s, harvest)), None)
        gain = next((s for s in full[:first] if s.gain >= 0), None) if first is not None else None
        if gain is not None:
            return Rejection(SkipReason.LOT_RELIEF_GAIN,
                             f"{symbol}: the broker relieves lots {method.value}: lot {gain.lot_id} "
                             f"(gain ${gain.gain:,.2f}) goes before the loss lots; no share count nets a "
                             f"loss of at least ${harvest.min_loss_usd} and {percent(harvest.min_loss_pct)} %")
        return below_threshold(symbol, max(best_loss or ZERO, ZERO), sum((s.basis for s in full), ZERO),
                               harvest, f"best {method.value} net loss")
    _, _, k, partial = best
    return of_sales([*full[:k], *([partial] if partial is not None else [])])


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
