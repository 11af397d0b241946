"""Replaying a household's events (trades, transfers, corporate actions) into lots, dispositions and wash sales.

The ledger is a fold over events in the order they happened: date, then execution time (an event without a
time counts as at the open, corporate actions before trades), then input order. Never "purchases first" and
never by account name: an account's id is not a tax fact (shared/reference/wash-sales.md, "Order").

Each event, as it happens:
- a purchase creates a lot, which at once washes earlier losses in its window still short of replacements
  (earliest sale first);
- a sale relieves lots (the named lot, else the account's lot method) and becomes dispositions; each loss
  looks back for replacements acquired in the 30 days before, earliest first: open shares, and (policy
  `replacement_already_sold = "adjust"`) shares already sold, whose sale takes the basis adjustment;
- a corporate action rewrites the lots it touches (see `daemon.ledger.actions`), and its cash (in lieu,
  merger, excess return of capital, worthless removal) is a disposition like a sale's.

`apply(state, events, ...)` continues from a saved state with events dated after it (the incremental path);
`replay(events, ...)` starts from nothing. Both run the same fold, so they give the same answer.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from sortedcontainers import SortedKeyList

from daemon.ledger import corporate, relief, wash_sales
from daemon.ledger.actions import CorporateAction
from daemon.ledger.events import (
    BackdatedTrades,
    Event,
    LedgerError,
    canonical_order,
    event_order,
    sales,
    validate,
)
from daemon.ledger.money import CONTEXT, prorate, q
from daemon.ledger.types import (
    ZERO,
    Account,
    Disposition,
    IdenticalGroups,
    IdenticalMatch,
    LedgerPolicy,
    LedgerState,
    Lot,
    LotMethod,
    Origin,
    ReplacementAlreadySold,
    Side,
    Trade,
    WashMatch,
)

__all__ = ["BackdatedTrades", "Event", "LedgerError", "apply", "canonical_order", "event_order", "replay"]


def _one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - 1, day=28)


class _Book:
    """The mutable working copy of one household's ledger while a batch of events is applied."""

    def __init__(self, state: LedgerState, accounts: Mapping[str, Account], identical: IdenticalGroups,
                 policy: LedgerPolicy):
        self.household = state.household
        self.accounts = accounts
        self.identical = identical
        self.policy = policy
        self.adjust = policy.replacement_already_sold is ReplacementAlreadySold.ADJUST
        self.lots: dict[str, Lot] = {lot.lot_id: lot for lot in state.lots}
        self.dispositions: dict[str, Disposition] = {d.disposition_id: d for d in state.dispositions}
        self.matches: list[WashMatch] = list(state.matches)
        self._match_at: dict[str, list[int]] = {}  # a loss's matches: their positions in `matches`
        for n, m in enumerate(self.matches):
            self._match_at.setdefault(m.disposition_id, []).append(n)
        self.seq = state.next_seq
        self.through = state.through
        self.factors: dict[str, Decimal] = dict(state.split_factors)
        self.renamed: dict[str, str] = {}
        self.rename_order: list[tuple[str, str]] = []
        self.splits_applied: set[str] = set(state.splits_applied)
        self.extra_key: dict[str, str] = {}  # renamed symbols that take their old name's identical group
        self._group: dict[str, str] = {}
        for old, new in state.renamed:
            self._record_rename(old, new)
        # Indexes: open lots per (account, symbol) in the account's relief order; replacement candidates per
        # identical group (open unabsorbed lots; sold shares under "adjust"), pruned to the window; taxable
        # losses still short of replacements, per group.
        self.holdings: dict[tuple[str, str], SortedKeyList] = {}
        self.candidates: dict[str, dict[str, None]] = {}
        self.sold: dict[str, dict[str, None]] = {}
        self.pending: dict[str, dict[str, None]] = {}
        self._expiry: list[tuple[date, int, int, str, str]] = []
        self._counter = itertools.count()
        for lot in sorted(self.lots.values(), key=wash_sales.replacement_key):
            if lot.quantity > 0:
                self._index(lot)
        for d in sorted(self.dispositions.values(), key=wash_sales.loss_key):
            if d.taxable and d.loss > 0 and d.unwashed_quantity > 0:
                self._add(self.pending, self.group(d.symbol), d.disposition_id, d.sold)
        if self.adjust:
            horizon = state.through - wash_sales.WINDOW if state.through else None
            recent = [d for d in self.dispositions.values() if horizon is None or d.purchased >= horizon]
            for d in sorted(recent, key=wash_sales.replacement_key):
                self._index_sold(d)

    # -- symbols, groups and indexes -------------------------------------------------------------------
    def current(self, symbol: str) -> str:
        seen = {symbol}
        while symbol in self.renamed and self.renamed[symbol] not in seen:
            symbol = self.renamed[symbol]
            seen.add(symbol)
        return symbol

    def group(self, symbol: str) -> str:
        key = self._group.get(symbol)
        if key is None:
            now = self.current(symbol)
            key = self._group[symbol] = self.extra_key.get(now) or self.identical.key(now)
        return key

    def factor(self, symbol: str) -> Decimal:
        return self.factors.get(self.current(symbol), Decimal(1))

    def _record_rename(self, old: str, new: str) -> None:
        before = self.group(old)
        self.renamed[old] = new
        self.rename_order.append((old, new))
        if self.identical.members(new) == frozenset({new}):
            # The new ticker is in no configured group: it keeps the old one's identical group.
            self.extra_key[new] = before
        self._group.clear()

    def _relief_key(self, account: str):  # type: ignore[no-untyped-def]
        config = self.accounts.get(account)
        return relief.relief_key(config.lot_method if config else LotMethod.FIFO)

    def _held(self, account: str, symbol: str) -> SortedKeyList:
        held = self.holdings.get((account, symbol))
        if held is None:
            held = self.holdings[(account, symbol)] = SortedKeyList(key=self._relief_key(account))
        return held

    def _index(self, lot: Lot) -> None:
        self._held(lot.account, lot.symbol).add(lot)
        if not lot.absorbed and lot.origin.replaceable:
            self._add(self.candidates, self.group(lot.symbol), lot.lot_id, lot.purchased)

    def _put(self, lot: Lot) -> None:
        old = self.lots.get(lot.lot_id)
        if old is not None and old.quantity > 0:
            self._held(old.account, old.symbol).remove(old)
            if old.symbol != lot.symbol:
                self.candidates.get(self.group(old.symbol), {}).pop(old.lot_id, None)
        self.lots[lot.lot_id] = lot
        if lot.quantity > 0:
            self._held(lot.account, lot.symbol).add(lot)
        if lot.quantity > 0 and not lot.absorbed and lot.origin.replaceable:
            self._add(self.candidates, self.group(lot.symbol), lot.lot_id, lot.purchased)
        else:
            self.candidates.get(self.group(lot.symbol), {}).pop(lot.lot_id, None)

    def _index_sold(self, d: Disposition) -> None:
        if self.adjust and d.quantity > 0 and not d.absorbed and d.origin.replaceable:
            self._add(self.sold, self.group(d.symbol), d.disposition_id, d.purchased)

    def _put_disposition(self, d: Disposition) -> None:
        self.dispositions[d.disposition_id] = d
        if d.absorbed or d.quantity <= 0:
            self.sold.get(self.group(d.symbol), {}).pop(d.disposition_id, None)
        else:
            self._index_sold(d)

    def _add(self, index: dict[str, dict[str, None]], group: str, key: str, day: date) -> None:
        """Index `key` under `group`, remembering when its 30-day window closes (for `_prune`)."""
        ids = index.setdefault(group, {})
        if key not in ids:
            ids[key] = None
            heapq.heappush(self._expiry, (day, next(self._counter), id(index), group, key))

    def _prune(self, day: date) -> None:
        """Forget candidates and pending losses whose 30-day window closed before `day`.

        Only an optimisation (matching checks the window itself): a heap of closing dates makes it cost
        only the entries that expire, however many groups the household holds.
        """
        horizon = day - wash_sales.WINDOW
        indexes = {id(self.candidates): self.candidates, id(self.pending): self.pending, id(self.sold): self.sold}
        expiry = self._expiry
        while expiry and expiry[0][0] < horizon:
            _, _, which, group, key = heapq.heappop(expiry)
            indexes[which].get(group, {}).pop(key, None)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- trades --------------------------------------------------------------------------------------
    def account(self, event: Event, account_id: str | None) -> Account:
        account = self.accounts.get(account_id or "")
        if account is None:
            raise LedgerError(event, f"unknown account {account_id!r}")
        if account.household != self.household:
            raise LedgerError(event, f"account {account_id!r} is not in household {self.household!r}")
        return account

    def acquire(self, trade: Trade) -> Lot:
        self.account(trade, trade.account)
        lot_id = trade.lot_id or trade.trade_id
        if lot_id in self.lots:
            raise LedgerError(trade, f"lot id {lot_id!r} is already used")
        cost = q(trade.quantity * trade.price + trade.fees)
        purchased = acquired = trade.date
        origin = Origin.PURCHASE
        loss_basis: Decimal | None = None
        if trade.side is Side.TRANSFER_IN:
            # The original purchase, made at another broker: its basis and dates arrive with the shares.
            origin = Origin.TRANSFER
            cost = trade.basis if trade.basis is not None else cost
            purchased = acquired = trade.acquired or trade.date
        elif trade.side is Side.GIFT_IN:
            if trade.basis is None or trade.acquired is None:
                raise LedgerError(trade, "a gift needs the donor's basis and acquisition date")
            origin = Origin.GIFT
            value = q(trade.quantity * trade.price)
            cost, acquired = trade.basis, trade.acquired
            if value < cost:
                loss_basis = value  # §1015(a): for a loss, the basis is the value at the gift
        elif trade.side is Side.INHERITED:
            origin = Origin.INHERITED
            cost = q(trade.quantity * trade.price) if trade.basis is None else trade.basis
            # §1223(9): always long-term, whenever sold.
            acquired = _one_year_before(trade.date) - timedelta(days=1)
        lot = Lot(lot_id=lot_id, purchase_id=lot_id, parent_id=None, account=trade.account,
                  symbol=trade.symbol, quantity=trade.quantity, cost=cost, adjustment=Decimal(0),
                  purchased=purchased, acquired=acquired, absorbed=False, seq=self._next_seq(),
                  trade_id=trade.trade_id, reinvested=trade.side is Side.REINVEST, origin=origin,
                  loss_basis=loss_basis)
        self._put(lot)
        return lot

    def _picks(self, event: Event, account: Account, symbol: str, quantity: Decimal,
               named: str | None) -> list[tuple[Lot, Decimal]]:
        held = self.holdings.get((account.id, symbol))
        try:
            if named is not None:
                pool = [lot for lot in (held or ()) if relief.matches_named(lot, named)]
                if not pool:
                    raise relief.ReliefError(f"no open lot {named!r}")
                return relief.take(sorted(pool, key=relief.fifo_key), quantity, f"lot {named!r}")
            return relief.take(iter(held or ()), quantity)
        except relief.ReliefError as exc:
            raise LedgerError(event, str(exc)) from None

    def dispose(self, event: Event, account: Account, picks: Sequence[tuple[Lot, Decimal]], proceeds: Decimal,
                sold: date, kind: str = "sale") -> list[Disposition]:
        """Relieve `picks` and record their dispositions; `proceeds` is shared pro rata by shares."""
        made: list[Disposition] = []
        allocated = Decimal(0)
        total = sum((shares for _, shares in picks), Decimal(0))
        for n, (lot, shares) in enumerate(picks):
            last = n == len(picks) - 1
            cost = prorate(lot.cost, shares, lot.quantity)
            adjustment = prorate(lot.adjustment, shares, lot.quantity)
            loss_basis = None if lot.loss_basis is None else prorate(lot.loss_basis, shares, lot.quantity)
            if kind == "sale":
                part = proceeds - allocated if last else prorate(proceeds, shares, total)
            else:
                part = cost + adjustment  # shares that leave without a sale: no gain or loss
            allocated += part
            basis, acquired = cost + adjustment, lot.acquired
            if loss_basis is not None and part < basis:
                # A gift received below the donor's basis: a loss is measured from the value at the gift
                # (and its holding period starts then); between the two there is neither gain nor loss.
                if part < loss_basis:
                    basis, acquired = loss_basis, lot.purchased
                else:
                    basis = part
            self._put(replace(lot, quantity=lot.quantity - shares, cost=lot.cost - cost,
                              adjustment=lot.adjustment - adjustment,
                              loss_basis=None if loss_basis is None else lot.loss_basis - loss_basis))  # type: ignore[operator]
            d = Disposition(disposition_id=f"{event.event_id}#{lot.lot_id}", trade_id=event.event_id,
                            account=account.id, symbol=lot.symbol, lot_id=lot.lot_id,
                            purchase_id=lot.purchase_id, quantity=shares, proceeds=part, cost_basis=basis,
                            acquired=acquired, purchased=lot.purchased, sold=sold,
                            taxable=account.type.taxable and kind == "sale", seq=self._next_seq(), kind=kind,
                            lot_seq=lot.seq, origin=lot.origin, washed_from=lot.washed_from,
                            absorbed=lot.absorbed, split_factor=self.factor(lot.symbol), time=event.time,
                            order_id=event.order_id if isinstance(event, Trade) else None)
            self._put_disposition(d)
            made.append(d)
        return made

    def cash_gain(self, event: CorporateAction, lot: Lot, cash: Decimal, day: date) -> Disposition:
        """Cash that is a capital gain without shares sold (merger boot, return of capital beyond basis)."""
        account = self.account(event, lot.account)
        d = Disposition(disposition_id=f"{event.action_id}#{lot.lot_id}", trade_id=event.action_id,
                        account=lot.account, symbol=lot.symbol, lot_id=lot.lot_id, purchase_id=lot.purchase_id,
                        quantity=ZERO, proceeds=cash, cost_basis=ZERO, acquired=lot.acquired,
                        purchased=lot.purchased, sold=day, taxable=account.type.taxable, seq=self._next_seq(),
                        lot_seq=lot.seq, origin=lot.origin, absorbed=True, time=event.time)
        self._put_disposition(d)
        return d

    def sell(self, trade: Trade) -> list[Disposition]:
        account = self.account(trade, trade.account)
        picks = self._picks(trade, account, trade.symbol, trade.quantity, trade.lot_id)
        if trade.side is Side.TRANSFER_OUT:
            return self.dispose(trade, account, picks, ZERO, trade.date, kind="transfer_out")
        proceeds = q(trade.quantity * trade.price - trade.fees)
        return self.dispose(trade, account, picks, proceeds, trade.date)

    # -- wash sales ----------------------------------------------------------------------------------
    def _rate(self, loss: Disposition, x: Lot | Disposition) -> Decimal:
        """Loss shares one replacement share counts for."""
        if self.current(x.symbol) == self.current(loss.symbol):
            # The same security: share for share, in post-split terms.
            now = self.factor(x.symbol) if isinstance(x, Lot) else x.split_factor
            return Decimal(1) if now == loss.split_factor else CONTEXT.divide(loss.split_factor, now)
        if self.policy.identical_match is IdenticalMatch.VALUE and loss.quantity > 0 and x.quantity > 0:
            sold_price = CONTEXT.divide(loss.proceeds, loss.quantity)
            bought = x.cost if isinstance(x, Lot) else x.cost_basis - x.replacement_adjustment
            price = CONTEXT.divide(bought, x.quantity)
            if sold_price > 0:
                return CONTEXT.divide(price, sold_price)
        return Decimal(1)

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
                self.matches[n] = replace(m, disposition_id=first.disposition_id, quantity=qty, disallowed=dis)
                self._match_at.setdefault(first.disposition_id, []).append(n)
                self._add_match(replace(m, disposition_id=second.disposition_id, quantity=m.quantity - qty,
                                        disallowed=m.disallowed - dis))

    def _add_match(self, match: WashMatch) -> None:
        self._match_at.setdefault(match.disposition_id, []).append(len(self.matches))
        self.matches.append(match)

    def settle(self, losses: Sequence[str], replacements: Sequence[tuple[str, str]]) -> None:
        """Let each loss (in order) take replacement shares (earliest acquired first) until it is washed.

        `replacements` are ("lot", id) for open shares and ("sold", id) for shares already sold."""
        queue = list(replacements)
        for loss_id in losses:
            loss = self.dispositions[loss_id]
            i = 0
            while i < len(queue) and loss.unwashed_quantity > 0:
                kind, rid = queue[i]
                candidate: Lot | Disposition | None = (self.lots.get(rid) if kind == "lot"
                                                       else self.dispositions.get(rid))
                if candidate is None or not wash_sales.can_replace(candidate, loss):
                    i += 1
                    continue
                permanent = not self.accounts[candidate.account].type.taxable
                rate = self._rate(loss, candidate)
                if isinstance(candidate, Lot):
                    loss, lots, match = wash_sales.wash(loss, candidate, permanent, rate)
                    for changed in lots:
                        self._put(changed)
                    if len(lots) == 3:
                        # Split: the loss is fully washed; the unused rest takes the parent's place in line.
                        queue[i] = ("lot", lots[2].lot_id)
                    else:
                        i += 1
                else:
                    loss, pieces, match = wash_sales.wash_sold(loss, candidate, permanent, rate)
                    if len(pieces) == 2:
                        self._replace_disposition(candidate, pieces)
                        queue[i] = ("sold", pieces[1].disposition_id)
                    else:
                        self._put_disposition(pieces[0])
                        i += 1
                self._add_match(match)
            self.dispositions[loss_id] = loss
            if loss.unwashed_quantity <= 0:
                self.pending.get(self.group(loss.symbol), {}).pop(loss_id, None)

    def _look_back(self, group: str) -> list[tuple[str, str]]:
        found: list[tuple[Lot | Disposition, tuple[str, str]]] = []
        for i in self.candidates.get(group, {}):
            lot = self.lots[i]
            if lot.quantity > 0 and not lot.absorbed:
                found.append((lot, ("lot", i)))
        for i in self.sold.get(group, {}):
            d = self.dispositions.get(i)
            if d is not None and d.quantity > 0 and not d.absorbed:
                found.append((d, ("sold", i)))
        found.sort(key=lambda it: wash_sales.replacement_key(it[0]))
        return [ref for _, ref in found]

    def losses(self, made: Sequence[Disposition]) -> None:
        """New loss sales wait for replacements and look back for those already acquired."""
        losses = sorted((d for d in made if d.taxable and d.loss > 0), key=wash_sales.loss_key)
        by_group: dict[str, list[str]] = {}
        for d in losses:
            by_group.setdefault(self.group(d.symbol), []).append(d.disposition_id)
        for group, ids in sorted(by_group.items()):
            for i in ids:
                self._add(self.pending, group, i, self.dispositions[i].sold)
            self.settle(ids, self._look_back(group))

    def acquired(self, lot: Lot) -> None:
        """A purchase washes the losses still waiting in its group, earliest sale first."""
        if not lot.origin.replaceable:
            return
        group = self.group(lot.symbol)
        waiting = sorted(self.pending.get(group, {}), key=lambda i: wash_sales.loss_key(self.dispositions[i]))
        if waiting:
            self.settle(waiting, [("lot", lot.lot_id)])

    # -- the fold --------------------------------------------------------------------------------------
    def step(self, events: Sequence[Event]) -> None:
        """One event, or the fills of one sell order (one sale: relieved together, then its losses)."""
        first = events[0]
        if isinstance(first, CorporateAction):
            corporate.apply_action(self, first)
        elif first.side.acquires:
            self.acquired(self.acquire(first))
        else:
            self.losses([d for trade in events for d in self.sell(trade)])  # type: ignore[arg-type]

    def freeze(self) -> LedgerState:
        return LedgerState(
            household=self.household,
            through=self.through,
            lots=tuple(sorted(self.lots.values(), key=lambda lot: (lot.seq, lot.lot_id))),
            dispositions=tuple(sorted(self.dispositions.values(), key=lambda d: (d.seq, d.disposition_id))),
            matches=tuple(self.matches),
            next_seq=self.seq,
            split_factors=tuple(sorted(self.factors.items())),
            renamed=tuple(self.rename_order),
            splits_applied=tuple(sorted(self.splits_applied)),
        )


def apply(state: LedgerState, events: Iterable[Event], accounts: Mapping[str, Account],
          identical: IdenticalGroups, policy: LedgerPolicy | None = None) -> LedgerState:
    """Book `events` (all dated after `state.through`) on top of `state`."""
    ordered = event_order(events)
    if not ordered:
        return state
    if state.through is not None and ordered[0].date <= state.through:
        raise BackdatedTrades(f"event dated {ordered[0].date} is not after {state.through}")
    for event in ordered:
        validate(event)
    book = _Book(state, accounts, identical, policy or LedgerPolicy())
    day: date | None = None
    for group in sales(ordered):
        if group[0].date != day:
            day = group[0].date
            book._prune(day)
        book.step(group)
    book.through = ordered[-1].date
    return book.freeze()


def replay(household: str, events: Iterable[Event], accounts: Mapping[str, Account],
           identical: IdenticalGroups, policy: LedgerPolicy | None = None) -> LedgerState:
    """Recompute a household's ledger from all of its events."""
    return apply(LedgerState(household=household), events, accounts, identical, policy)
