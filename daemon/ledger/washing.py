"""The wash-sale half of the book: matching each loss sale with its replacement shares and settling the wash.

`Washing` is a mixin of the book (`daemon.ledger.book._Book`), which owns the records and the indexes it uses
(lots, dispositions, matches, the candidates / sold / pending indexes, the window's horizon). The fold's
wash-sale work lives here, apart from the trade and index bookkeeping, because it is one rule
(shared/reference/wash-sales.md) with its own vocabulary (losses, replacements, rates, splits of a partly used
replacement). As a mixin its methods are still the book's own methods: the hot loop pays no extra call.

- a new loss looks back for replacements acquired inside its window (`losses`, `_look_back`);
- a new purchase washes the losses still waiting in its group (`acquired`);
- `settle` lets losses take replacement shares in order, `_wash` / `_wash_sold` adjust an open lot or a sale of
  shares already sold (splitting it when only part is used), and `_replace_disposition` puts the pieces of a
  split sale in its place, matches included;
- a sale of shares already sold that the adjustment turns into a loss is a loss sale like any other ("Chains"):
  once the loss that made it has settled, it looks back and waits like a new one (`_settle_made`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from daemon.ledger import wash_sales
from daemon.ledger.money import CONTEXT, add, prorate
from daemon.ledger.types import (
    ZERO,
    Account,
    AccountType,
    Disposition,
    Lot,
    WashMatch,
    make_match,
)

_ONE = Decimal(1)
_TAXABLE = AccountType.TAXABLE  # an enum member's lookup is slow in Python 3.11: once, here
_REPLACEABLE = wash_sales.REPLACEABLE
_WINDOW = wash_sales.WINDOW
MATCH_AT_PRUNED = 1024  # the book's index of a loss's match positions is pruned at this size, or twice its last


class Washing:
    """The book's wash-sale methods (a mixin: the book holds the state below and the index methods)."""

    accounts: Mapping[str, Account]
    by_value: bool
    lots: dict[str, Lot]
    dispositions: dict[str, Disposition]
    matches: list[WashMatch]
    _match_at: dict[str, list[int]]
    _match_at_limit: int  # `_match_at`'s size that prunes it
    factors: dict[str, Decimal]
    candidates: dict[str, dict[str, None]]
    sold: dict[str, dict[str, None]]
    pending: dict[str, dict[str, None]]
    horizon: date | None
    adjust: bool
    _sets: dict[str, frozenset[str]]  # purchase id -> the set of it alone
    _shared: dict[frozenset[str], frozenset[str]]  # larger sets, one record per value
    _dates: dict[date, date]  # tacked holding-period starts, one record per day
    _group: dict[str, str]  # the book's cache of `group`
    _made: list[Disposition]  # sales `_wash_sold` just turned into losses, for `_settle_made`

    def _index_sold(self, d: Disposition) -> None:
        if self.adjust and d.quantity > ZERO and not d.absorbed and d.origin in _REPLACEABLE:
            self._add(self.sold, self.group(d.symbol), d.disposition_id, d.purchased)

    def _put_disposition(self, d: Disposition) -> None:
        self.dispositions[d.disposition_id] = d
        if d.absorbed or d.quantity <= ZERO:
            self.sold.get(self.group(d.symbol), {}).pop(d.disposition_id, None)
        else:
            self._index_sold(d)

    def _rate(self, loss: Disposition, x: Lot | Disposition) -> Decimal:
        """Loss shares one replacement share counts for."""
        if self.current(x.symbol) == self.current(loss.symbol):
            # The same security: share for share, in post-split terms.
            now = self.factor(x.symbol) if isinstance(x, Lot) else x.split_factor
            return _ONE if now == loss.split_factor else CONTEXT.divide(loss.split_factor, now)
        if self.by_value and loss.quantity > 0 and x.quantity > 0:
            sold_price = CONTEXT.divide(loss.proceeds, loss.quantity)
            bought = x.cost if isinstance(x, Lot) else x.cost_basis - x.replacement_adjustment
            price = CONTEXT.divide(bought, x.quantity)
            if sold_price > 0:
                return CONTEXT.divide(price, sold_price)
        return _ONE

    def _replace_disposition(self, old: Disposition, pieces: Sequence[Disposition]) -> None:
        """A sold replacement split in two: the pieces take its place everywhere."""
        del self.dispositions[old.disposition_id]
        group = self.group(old.symbol)
        self.sold.get(group, {}).pop(old.disposition_id, None)
        was_pending = old.disposition_id in self.pending.get(group, {})
        self.pending.get(group, {}).pop(old.disposition_id, None)
        for piece in pieces:
            self._put_disposition(piece)
            if was_pending and piece.taxable and piece.loss > 0 and piece.unwashed_quantity > 0:
                self._add(self.pending, group, piece.disposition_id, piece.sold)
        positions = self._match_at.pop(old.disposition_id, [])
        if positions:
            # Its own loss's matches are shared between the pieces pro rata, cumulatively, so that each
            # piece's matches add up exactly to its washed shares and disallowed loss. The first piece's
            # take the originals' places; the second's are added at the end.
            first, second = pieces[0], pieces[1]
            cum_q = cum_d = given_q = given_d = ZERO
            for n in positions:
                m = self.matches[n]
                cum_q += m.quantity
                cum_d += m.disallowed
                qty = prorate(cum_q, first.quantity, old.quantity) - given_q
                dis = prorate(cum_d, first.quantity, old.quantity) - given_d
                given_q += qty
                given_d += dis
                self.matches[n] = make_match(first.disposition_id, m.lot_id, m.account, m.symbol, qty, dis,
                                             m.permanent, m.replacement_date, m.replacement_disposition)
                if self._splittable(first, self.horizon):
                    self._match_at.setdefault(first.disposition_id, []).append(n)
                self._add_match(make_match(second.disposition_id, m.lot_id, m.account, m.symbol, m.quantity - qty,
                                           m.disallowed - dis, m.permanent, m.replacement_date,
                                           m.replacement_disposition), second)

    def _splittable(self, d: Disposition, horizon: date | None) -> bool:
        """Whether sale `d` may yet be split as a replacement already sold (policy "adjust": shares of a
        replaceable purchase, not yet a replacement, bought inside the window). Once it cannot, it never can:
        nothing un-absorbs a sale, and the window only moves on."""
        return (self.adjust and d.quantity > ZERO and not d.absorbed and d.origin in _REPLACEABLE
                and (horizon is None or d.purchased >= horizon))

    def _add_match(self, match: WashMatch, loss: Disposition) -> None:
        if self._splittable(loss, self.horizon):  # `_replace_disposition` may need to find it
            positions = self._match_at.get(match.disposition_id)
            if positions is None:
                if len(self._match_at) >= self._match_at_limit:
                    self._prune_match_at()
                self._match_at[match.disposition_id] = [len(self.matches)]
            else:
                positions.append(len(self.matches))
        self.matches.append(match)

    def _prune_match_at(self) -> None:
        """Forget the match positions of sales that can no longer be split (`_splittable`: never again, once
        not). Left to the end, the index held every washed loss's (14,000 sales at 100,000 trades, 3 MB at
        the import's peak) for the dozen still inside the window. Pruned when it doubles: a few passes."""
        horizon, splittable, dispositions = self.horizon, self._splittable, self.dispositions
        self._match_at = {key: positions for key, positions in self._match_at.items()
                          if (d := dispositions.get(key)) is not None and splittable(d, horizon)}
        self._match_at_limit = max(MATCH_AT_PRUNED, 2 * len(self._match_at))

    def _tacked(self, purchased: date, loss: Disposition) -> date:
        """Holding-period tacking: the replacement's holding starts as many days before its purchase as the
        sold shares were held. One shared record per date (the dates repeat; each is 32 bytes)."""
        day = purchased - (loss.sold - loss.acquired)
        return self._dates.setdefault(day, day)

    def _washed_from(self, own: frozenset[str], loss: Disposition) -> frozenset[str]:
        """`own | loss.washed_from | {loss.purchase_id}`: the purchases whose losses flow into a replacement.

        One shared set per value: the replacements of one sale get equal sets, and a set of one string takes
        216 bytes (and a place among the objects the cyclic collector walks)."""
        inherited = loss.washed_from
        if not own and not inherited:  # the usual case: the loss's own purchase only
            found = self._sets.get(loss.purchase_id)
            if found is None:
                found = self._sets[loss.purchase_id] = frozenset((loss.purchase_id,))
            return found
        union = own | inherited | {loss.purchase_id}
        return self._shared.setdefault(union, union)

    def settle(self, losses: Sequence[Disposition], queue: list[Lot | Disposition]) -> None:
        """Let each loss (in order) take replacement shares (earliest acquired first) until it is washed.

        `queue` holds open lots and (policy "adjust") sales of shares already sold, in replacement order.
        A replacement used up leaves the queue: it can wash no later loss either. The tests are
        `wash_sales.can_replace`'s, inline."""
        accounts = self.accounts
        same_shares = not self.factors  # no split ever: a security's shares always count one for one
        for loss in losses:
            if not queue:
                break
            sold, purchase_id, washed_from = loss.sold, loss.purchase_id, loss.washed_from
            earliest, latest = sold - _WINDOW, sold + _WINDOW
            trade_id, order_id, symbol = loss.trade_id, loss.order_id, loss.symbol
            i = 0
            unwashed = loss.quantity - loss.washed_quantity
            while i < len(queue) and unwashed > ZERO:
                candidate = queue[i]
                if candidate.quantity <= ZERO or candidate.absorbed:
                    del queue[i]
                    continue
                lot = isinstance(candidate, Lot)
                if (candidate.origin not in _REPLACEABLE or candidate.purchase_id == purchase_id
                        or candidate.purchase_id in washed_from or not earliest <= candidate.purchased <= latest
                        or not lot and (candidate.trade_id == trade_id  # type: ignore[union-attr]
                                        or candidate.order_id is not None
                                        and candidate.order_id == order_id)):  # type: ignore[union-attr]
                    i += 1
                    continue
                permanent = accounts[candidate.account].type is not _TAXABLE
                rate = (_ONE if same_shares and candidate.symbol == symbol and not self.by_value
                        else self._rate(loss, candidate))
                if lot:
                    rest = self._wash(loss, candidate, permanent, rate)  # type: ignore[arg-type]
                else:
                    rest = self._wash_sold(loss, candidate, permanent, rate)  # type: ignore[arg-type]
                if rest is None:
                    del queue[i]
                else:
                    queue[i] = rest  # the unused part takes the replacement's place in line
                unwashed = loss.quantity - loss.washed_quantity
            if unwashed <= ZERO:
                self.pending.get(self.group(symbol), {}).pop(loss.disposition_id, None)

    def _wash(self, loss: Disposition, replacement: Lot, permanent: bool, rate: Decimal) -> Lot | None:
        """Wash as many loss shares as open `replacement` shares can absorb (`rate` loss shares each).

        When only part of the lot is used it splits: the parent closes, child `.1` takes the washed shares
        and child `.2`, returned, the rest (which keeps the parent's place among replacements)."""
        shares, used = wash_sales.take(loss, replacement.quantity, rate)
        disallowed = wash_sales.disallow(loss, shares, permanent)
        rest = None
        if used < replacement.quantity:
            piece, rest = wash_sales.split(replacement, used, self.lots.__contains__)
            replacement.quantity = ZERO
            replacement.cost = ZERO
            replacement.adjustment = ZERO
            self._unhold(replacement.lot_id)  # closed: it leaves the candidates when next met
        else:
            piece = replacement
        piece.absorbed = True
        if not permanent:
            # Holding-period tacking, the brokers' method: the replacement inherits the days the sold shares
            # were held.
            piece.adjustment = add(piece.adjustment, disallowed)
            piece.acquired = self._tacked(piece.purchased, loss)
            piece.washed_from = self._washed_from(piece.washed_from, loss)
        # The washed piece is absorbed: it stays a holding but is no replacement any more.
        if rest is None:
            if self._relief_of(piece.account)[1]:
                self._unhold(piece.lot_id)
                self._hold(piece)
        else:
            # `_put` for new lot ids (`split` takes none in use): no earlier record to take out of the indexes.
            self.lots[piece.lot_id] = piece
            self._hold(piece)
            self.lots[rest.lot_id] = rest  # the unused shares are a replacement still
            self._hold(rest)
            self._add(self.candidates, self.group(rest.symbol), rest.lot_id, rest.purchased)
        self._add_match(make_match(loss.disposition_id, piece.lot_id, piece.account, piece.symbol, shares,
                                   disallowed, permanent, piece.purchased, None), loss)
        return rest

    def _wash_sold(self, loss: Disposition, replacement: Disposition, permanent: bool,
                   rate: Decimal) -> Disposition | None:
        """Wash with replacement shares that were already sold: that sale's basis takes the disallowed loss.
        A sale used in part splits in two; the rest, returned, takes its place."""
        shares, used = wash_sales.take(loss, replacement.quantity, rate)
        disallowed = wash_sales.disallow(loss, shares, permanent)
        rest = None
        if used < replacement.quantity:
            piece, rest = wash_sales.split_disposition(replacement, used)
        else:
            piece = replacement
        piece.absorbed = True
        if not permanent:
            piece.cost_basis = piece.cost_basis + disallowed
            piece.replacement_adjustment = add(piece.replacement_adjustment, disallowed)
            piece.acquired = self._tacked(piece.purchased, loss)
            piece.washed_from = self._washed_from(piece.washed_from, loss)
        if rest is None:
            self._put_disposition(piece)
        else:
            self._replace_disposition(replacement, [piece, rest])
        if not permanent and self._made_a_loss(piece):
            self._made.append(piece)
        self._add_match(make_match(loss.disposition_id, piece.lot_id, piece.account, piece.symbol, shares,
                                   disallowed, permanent, piece.purchased, piece.disposition_id), loss)
        return rest

    def _made_a_loss(self, d: Disposition) -> bool:
        """Whether sale `d`, its basis just raised by a wash, is a taxable loss with unwashed shares that is
        not waiting yet: a gain or a sale at cost that became a loss. (A loss already waiting looked back when
        sold and has met every purchase since; a fully washed one has no share left to wash.)"""
        return (d.taxable and d.cost_basis > d.proceeds and d.washed_quantity < d.quantity
                and d.disposition_id not in self.pending.get(self.group(d.symbol), ()))

    def _settle_made(self) -> None:
        """The losses `_wash_sold` made: each waits for replacements and looks back, as a new loss does.

        The adjusted sale is a loss sale at its own date (§1091(a) counts acquisitions on both sides of it),
        so it is washed like one: by shares still free in its window (open, or already sold under "adjust"),
        and by later purchases while its window lasts. The loss that made it has settled first (it is the
        event being booked: the new loss exists only through its wash); then the new ones, in sale order.
        The book only sees acquisitions from 30 days before the current day (its window): an earlier one in
        the adjusted sale's window is out of reach. Never in a circle: the adjusted sale's `washed_from`
        names the purchase whose loss made it (`settle` skips its shares). A chain of made losses ends: each
        is sold shares newly absorbed as a replacement, which no wash takes again.
        Replay and a batch cut anywhere meet the made loss at the same event, and `_Book.__init__` finds it
        waiting in a saved state like any unwashed loss."""
        while self._made:
            made, self._made = self._made, []
            made.sort(key=wash_sales.LOSS_ORDER)
            for d in made:
                group = self.group(d.symbol)
                self._add(self.pending, group, d.disposition_id, d.sold)
                self.settle([d], self._look_back(group))

    def _look_back(self, group: str) -> list[Lot | Disposition]:
        """Open lots and sold shares of `group` acquired inside the window, in replacement order; entries that
        can never replace again (used up, or out of the window) leave the indexes."""
        found: list[Lot | Disposition] = []
        horizon = self.horizon
        gone: list[str] = []
        ids = self.candidates.get(group)
        if ids:
            lots = self.lots
            for i in ids:
                lot = lots[i]
                if lot.quantity > ZERO and not lot.absorbed and (horizon is None or lot.purchased >= horizon):
                    found.append(lot)
                else:
                    gone.append(i)
            for i in gone:
                del ids[i]
        ids = self.sold.get(group)
        if ids:
            gone = []
            get = self.dispositions.get
            for i in ids:
                d = get(i)
                if (d is not None and d.quantity > ZERO and not d.absorbed
                        and (horizon is None or d.purchased >= horizon)):
                    found.append(d)
                else:
                    gone.append(i)
            for i in gone:
                del ids[i]
        if len(found) > 1:
            found.sort(key=wash_sales.replacement_key)
        return found

    def losses(self, made: Sequence[Disposition]) -> None:
        """New loss sales wait for replacements and look back for those already acquired."""
        losses = [d for d in made if d.taxable and d.cost_basis > d.proceeds]  # a loss before any wash
        if not losses:
            return
        if len(losses) > 1:
            losses.sort(key=wash_sales.LOSS_ORDER)
        if len({d.symbol for d in losses}) == 1:  # a sale: one security, so one group
            group = self.group(losses[0].symbol)
            for d in losses:
                self._add(self.pending, group, d.disposition_id, d.sold)
            self.settle(losses, self._look_back(group))
            if self._made:
                self._settle_made()
            return
        by_group: dict[str, list[Disposition]] = {}
        for d in losses:
            by_group.setdefault(self.group(d.symbol), []).append(d)
        for group in sorted(by_group):
            ds = by_group[group]
            for d in ds:
                self._add(self.pending, group, d.disposition_id, d.sold)
            self.settle(ds, self._look_back(group))
            if self._made:
                self._settle_made()

    def acquired(self, lot: Lot) -> None:
        """A purchase washes the losses still waiting in its group, earliest sale first."""
        if lot.origin not in _REPLACEABLE:
            return
        waiting = self.pending.get(self._group.get(lot.symbol) or self.group(lot.symbol))
        if waiting:
            dispositions = self.dispositions
            horizon = self.horizon
            losses = [dispositions[i] for i in waiting]
            if horizon is not None:
                stale = [d.disposition_id for d in losses if d.sold < horizon]  # out of every window now
                if stale:
                    for i in stale:
                        del waiting[i]
                    losses = [d for d in losses if d.sold >= horizon]
            if len(losses) > 1:
                losses.sort(key=wash_sales.LOSS_ORDER)
            self.settle(losses, [lot])
