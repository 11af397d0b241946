"""Direct indexing, swap backs per lot (see direct_index.py): a position more than `DRIFT` over its target
sells lots bought `HELD` (31 days) ago or earlier and buys its most underweight peer, within the year's
realized-gain budget, or beyond it over the tracking-error limit with lots gaining at most `OVER_LIMIT_GAIN`
of their value. `SwapBacks` holds those methods of `direct_index.Book`, which inherits them; the constants
the direct index shares live here too.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from operator import itemgetter
from typing import TYPE_CHECKING

from daemon.engine.candidates import long_term_before, lot_sale
from daemon.engine.cash import SHARE_QUANTUM
from daemon.engine.conflicts import describe
from daemon.engine.pairs import lot_method
from daemon.engine.quotes import Price
from daemon.engine.replacement import choose
from daemon.engine.selection import of_sales, whole
from daemon.engine.types import LotSale, Pair, PairKind, Rejection, Skip, SkipReason, percent
from daemon.ledger.money import CONTEXT, QUANTUM, prorate
from daemon.ledger.types import ZERO, Term

if TYPE_CHECKING:
    from daemon.engine.direct_index import Book
    from daemon.ledger.types import Lot

HELD = timedelta(days=31)  # a stand-in bought with a harvest may return once the harvested loss is safe
# Over the tracking-error limit, a swap back may go beyond the year's gain budget, but only with lots whose
# gain is at most this share of what they sell: the limit is hard, yet an equal-weighted target drifts all
# the time, and unbounded gains would give back what the harvests saved.
OVER_LIMIT_GAIN = Decimal("0.01")
DRIFT = Decimal("0.25")  # a position more than this share over its target is swapped back (when allowed)
MIN_TRADE_USD = Decimal("100")  # no swap back or purchase smaller than this: not worth an order
RANKED = 10  # replacements tried per sold stock
_OVER_LIMIT_PCT = percent(OVER_LIMIT_GAIN)  # for messages


class SwapBacks:
    """The swap-back methods of `direct_index.Book` (a mixin: their state is the book's)."""

    def swap_backs(self: Book, pairs: list[Pair], skipped: list[Skip], max_pairs: int,
                   reported: set[str]) -> set[str]:
        """Plan swap backs (appended to `pairs`, blocked ones to `skipped`); returns the symbols decided on."""
        decided: set[str] = set()
        bought = self.plan.bought  # a stand-in bought today is not swapped back today
        # Only positions over their target by the drift now can be: a swap back's buy stays within its target.
        held, targets, traded, key = self.held, self.targets, self.plan.traded, self.run.groups.key
        over_by: dict[str, Decimal] = {}
        for s in self.positions:
            x = held.get(s, ZERO) - targets.get(s, ZERO)
            # (x > max(DRIFT * target, MIN_TRADE_USD), the cheap half first)
            if x > MIN_TRADE_USD and x > DRIFT * targets.get(s, ZERO) and s not in reported \
                    and (self.id, s) not in traded and key(s) not in bought:
                over_by[s] = x
        over = sorted(over_by, key=lambda s: (-over_by[s], s))
        for symbol in over:
            if len(pairs) >= max_pairs:
                break
            excess = self.excess(symbol)
            if excess <= max(DRIFT * self.target(symbol), MIN_TRADE_USD):
                continue
            out = self._swap_back(symbol, excess, f"p{len(pairs) + 1}")
            if out is None:
                continue
            decided.add(symbol)
            if isinstance(out, Skip):
                skipped.append(out)
            else:
                pairs.append(out)
        return decided

    def _swap_back(self: Book, symbol: str, excess: Decimal, pair_id: str) -> Pair | Skip | None:
        run, plan = self.run, self.plan
        price = run.prices.get(symbol)
        if isinstance(price, Rejection):
            return None
        over = self.over_limit()
        picked = self._lots(symbol, price, excess, over)  # first the lots alone: most positions stop here
        if isinstance(picked, Skip) or not picked:
            return picked or None
        sub, sector = self.peers(symbol)
        c = self.info.get(symbol)
        homes = (self.underweights() if c is None or symbol in self.excluded
                 else [*self._by_deficit(sub), *self._by_deficit(sector)])
        homes = [s for s in homes if self.deficit(s) >= MIN_TRADE_USD][:RANKED]
        if not homes:
            return None  # nothing underweight to return to
        why = f"swap back {symbol}: "
        choice = choose(symbol, run.classes, run.groups, run.prices, self._conflict, members=homes,
                        name=f"the underweight stocks {symbol} could return to")
        if isinstance(choice, Rejection):
            return self._skip(symbol, choice.reason, why + choice.detail)
        amount = min(excess, self.deficit(choice.symbol))
        if amount < excess:
            picked = self._lots(symbol, price, amount, over)
            if isinstance(picked, Skip) or not picked:
                return picked or None
        selection = of_sales(picked)
        if selection.proceeds < MIN_TRADE_USD:
            return None
        why = f"swap back {symbol} to {choice.symbol}: "
        left = plan.turnover_left[self.id]
        if selection.proceeds > left:
            return self._skip(symbol, SkipReason.TURNOVER_CAP,
                              f"{why}sells ${selection.proceeds:,.2f}, more than the ${max(left, ZERO):,.2f} of "
                              f"turnover left in {self.id}")
        conflict = plan.sell_conflict(symbol)
        if conflict is not None:
            return self._skip(symbol, conflict.reason, why + conflict.detail)
        # The washes a sale at the bid would have: a lot just above its basis at the close can be sold at a
        # loss, which a recent purchase of the stock washes.
        lots = {lot.lot_id: lot for lot in self.positions.get(symbol, ())}
        bid = price.close - price.half_spread
        washes = plan.washes(symbol, of_sales([lot_sale(lots[s.lot_id], s.quantity, bid, run.as_of)
                                               for s in selection.sales]))
        if washes:
            return self._skip(symbol, SkipReason.WASH_SALE_LOOKBACK, why + describe(washes, symbol))
        out = plan.finish(pair_id, PairKind.SWAP_BACK, self.account, symbol, price, selection, [], (ZERO, ZERO),
                          choice, check_benefit=False)
        if isinstance(out, Rejection):
            return self._skip(symbol, out.reason, why + out.detail)
        self.gain_left -= sum((s.gain for s in selection.sales if s.gain > 0), ZERO)
        self.move(symbol, -selection.proceeds)
        self.move(choice.symbol, out.buy_notional)
        return out

    def _lots(self: Book, symbol: str, price: Price, amount: Decimal, over: bool) -> list[LotSale] | Skip:
        """The lots to sell for about `amount` dollars: bought 31+ days ago; losses first, then long-term
        gains, then (over the tracking-error limit only) short-term gains, each by gain per dollar; gains
        within the budget (over the limit also lots gaining at most `OVER_LIMIT_GAIN` of their value)."""
        run = self.run
        cutoff = self.cutoff
        close = price.close
        whole_shares = not self.account.capabilities.fractional_shares
        sold = self.plan.sold_qty
        long_before = long_term_before(run.as_of)
        # Ranked on the exact figures `lot_sale` gives (proceeds to the ledger's quantum, the basis prorated
        # when part of the lot is left), without building a sale for each lot: the walk below mostly stops
        # at the first (a stand-in at a gain beyond the budget), so the sales are made as it reaches them.
        ranked = []
        for lot in self.positions.get(symbol, ()):
            if lot.purchased > cutoff:
                continue
            shares = lot.quantity
            if sold:
                shares -= sold.get(lot.lot_id, ZERO)
            if shares <= 0:
                continue
            basis, proceeds = _basis_and_proceeds(lot, shares, close)
            gain = proceeds - basis
            kind = 0 if gain <= 0 else 1 if lot.acquired < long_before else 2
            ranked.append((kind, gain / proceeds if proceeds else ZERO, lot.seq, lot.lot_id, lot, shares))
        if len(ranked) > 1:
            ranked.sort(key=itemgetter(0, 1, 2, 3))
        if not self.by_lot:
            return self._skip(symbol, SkipReason.LOT_RELIEF_GAIN,
                              f"swap back {symbol}: a direct index swaps back lot by lot; {self.id} relieves lots "
                              f"{lot_method(self.account).value}") if ranked else []
        picks: list[LotSale] = []
        left = amount
        gain = ZERO
        blocked: str | None = None
        for kind, _, _, _, lot, shares in ranked:
            if left <= 0:
                break
            take = min(shares, (left / close).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN))
            if whole_shares:
                take = whole(take) if take < shares else whole(shares)
            if take <= 0:
                break
            # `lot_sale(lot, take, close, as_of)`'s figures; the sale itself only once it is picked (most walks
            # stop at their first lot, a gain beyond the budget).
            basis, proceeds = _basis_and_proceeds(lot, take, close)
            sale_gain = proceeds - basis
            if sale_gain > 0:
                within = gain + sale_gain <= self.gain_left
                if over:
                    if not within and sale_gain > OVER_LIMIT_GAIN * proceeds:
                        blocked = (f"over the {self.limit_pct} % tracking-error limit, "
                                   f"beyond the year's realized_gain_budget_usd only lots whose gain is at most "
                                   f"{_OVER_LIMIT_PCT} % of their value are sold (lot {lot.lot_id}: "
                                   f"${sale_gain:,.2f})")
                        break
                elif kind == 2:
                    blocked = (f"the lots left are short-term gains (lot {lot.lot_id}: ${sale_gain:,.2f}); no "
                               f"short-term gain only to cut tracking error below the "
                               f"{self.limit_pct} % limit")
                    break
                elif not within:
                    blocked = (f"lot {lot.lot_id} would realize a gain of ${sale_gain:,.2f}; "
                               f"${max(self.gain_left - gain, ZERO):,.2f} of realized_gain_budget_usd "
                               f"${self.spec.realized_gain_budget_usd} is left for {run.as_of.year}")
                    # As much of the lot as the budget left allows.
                    fit = ((self.gain_left - gain) * take / sale_gain).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN)
                    if whole_shares:
                        fit = whole(fit)
                    if fit > 0:
                        part = lot_sale(lot, fit, close, run.as_of)
                        if part.gain <= self.gain_left - gain:
                            picks.append(part)
                    break
            picks.append(LotSale(lot.lot_id, lot.purchase_id, take, basis, proceeds,
                                 Term.LONG if lot.acquired < long_before else Term.SHORT, lot.acquired,
                                 lot.purchased, lot.seq, lot.washed_from))
            if sale_gain > 0:
                gain += sale_gain
            left -= proceeds
        if blocked is not None and (not picks or sum((p.proceeds for p in picks), ZERO) < MIN_TRADE_USD):
            target = self.target(symbol)
            return self._skip(symbol, SkipReason.GAIN_BUDGET,
                              f"swap back {symbol}: ${self.excess(symbol):,.2f} over its target ${target:,.2f}, "
                              f"but {blocked}")
        return picks

    def _skip(self: Book, symbol: str, reason: SkipReason, detail: str) -> Skip:
        return Skip(self.plan.household, self.id, symbol, reason, detail)


def _basis_and_proceeds(lot: Lot, shares: Decimal, close: Decimal) -> tuple[Decimal, Decimal]:
    """`lot_sale(lot, shares, close, ...)`'s basis and proceeds without building the sale: most lots a swap
    back ranks are never sold."""
    if shares == lot.quantity:
        basis = lot.cost + lot.adjustment
    else:
        basis = prorate(lot.cost, shares, lot.quantity) + prorate(lot.adjustment, shares, lot.quantity)
    proceeds = (shares * close).quantize(QUANTUM, context=CONTEXT)
    return basis, proceeds
