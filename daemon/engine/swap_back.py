"""Swap back (optional, `harvest.swap_back`): once a replacement has been held 31+ days, sell it and buy
the asset class's primary fund again, when that realizes a loss or a gain of at most
`swap_back_max_gain_usd` and no wash sale results.

The lots sold are the ones held 31+ days. With specific-lot relief, lot by lot: every such lot at a loss (or
at none), and lots at a gain only while their gains add up to at most `swap_back_max_gain_usd`, smallest
gain first; a lot at a larger gain stays in the replacement rather than give back part of the losses sold
with it. With FIFO/LIFO/HIFO relief: the longest run of such lots at the front of the broker's relief order,
when its net gain is within the limit. The sale is checked like a harvest (recent identical purchases would
wash its losses: no swap back), and the primary must be free of pending losses and restrictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import takewhile

from daemon.engine.candidates import lot_sale
from daemon.engine.conflicts import describe
from daemon.engine.pairs import HouseholdPlan, lot_method
from daemon.engine.replacement import choose
from daemon.engine.selection import of_sales, relieve, whole
from daemon.engine.types import AccountInput, Pair, PairKind, Rejection, SkipReason
from daemon.ledger import relief
from daemon.ledger.types import ZERO, Lot, LotMethod

HELD_DAYS = timedelta(days=31)


def swap_back(plan: HouseholdPlan, account: AccountInput, symbol: str, lots: Sequence[Lot],
              pair_id: str) -> Pair | Rejection | None:
    """A swap-back pair for one position, why it is blocked, or None when the position does not qualify."""
    run, h = plan.run, plan.run.harvest
    account_id = account.account.id
    asset_class = run.classes.of(symbol)
    if asset_class is None or (account_id, symbol) in plan.traded:
        return None
    primary = asset_class.members[0]
    price = run.prices.get(symbol)
    if run.groups.identical(primary, symbol) or isinstance(price, Rejection):
        return None
    cutoff = run.as_of - HELD_DAYS
    method = lot_method(account)
    order = relief.order_for_relief(lots, method)
    whole_shares = not account.capabilities.fractional_shares
    if method is LotMethod.SPECIFIC:
        old = [lot_sale(lot, whole(lot.quantity) if whole_shares else lot.quantity, price.close, run.as_of)
               for lot in order if lot.purchased <= cutoff]
        old = [s for s in old if s.quantity > 0]
        sales = [s for s in old if s.gain <= 0]
        budget = h.swap_back_max_gain_usd
        for s in sorted((s for s in old if s.gain > 0), key=lambda s: s.gain):
            if s.gain > budget:
                break
            sales.append(s)
            budget -= s.gain
        chosen = {s.lot_id for s in sales}
        sales = [s for s in old if s.lot_id in chosen]  # in the relief order, as they will be booked
    else:
        old = list(takewhile(lambda lot: lot.purchased <= cutoff, order))
        shares = sum((lot.quantity for lot in old), ZERO)
        sales = relieve(order, whole(shares) if whole_shares else shares, price.close, run.as_of)
    if not sales:
        return None
    selection = of_sales(sales)
    if -selection.loss > h.swap_back_max_gain_usd:
        return None
    why = f"swap back {symbol} to {primary}: "
    conflict = plan.sell_conflict(symbol)
    if conflict is not None:
        return Rejection(conflict.reason, why + conflict.detail)
    # Checked at the bid: a lot at a gain smaller than the spread at the close sells at a loss, which a
    # recent purchase would wash.
    by_id = {lot.lot_id: lot for lot in lots}
    bid = price.close - price.half_spread
    washes = plan.washes(symbol, of_sales([lot_sale(by_id[s.lot_id], s.quantity, bid, run.as_of)
                                           for s in selection.sales]))
    if washes:
        return Rejection(SkipReason.WASH_SALE_LOOKBACK, why + describe(washes, symbol))
    choice = choose(symbol, run.classes, run.groups, run.prices,
                    lambda member: plan.guard.conflict(member, plan.sold), members=[primary])
    if isinstance(choice, Rejection):
        return Rejection(choice.reason, why + choice.detail)
    # The budget last: a turnover reason only for a swap back that would otherwise trade.
    if h.max_turnover_pct < 1 and selection.proceeds > plan.turnover_left[account_id]:
        return Rejection(SkipReason.TURNOVER_CAP,
                         f"{why}sells ${selection.proceeds:,.2f}, more than the "
                         f"${max(plan.turnover_left[account_id], ZERO):,.2f} of turnover left in {account_id}")
    out = plan.finish(pair_id, PairKind.SWAP_BACK, account, symbol, price, selection, [], (ZERO, ZERO), choice,
                      check_benefit=False)
    if isinstance(out, Rejection):
        return Rejection(out.reason, why + out.detail)
    return out
