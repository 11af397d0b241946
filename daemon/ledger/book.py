"""Replaying a household's events (trades, transfers, corporate actions) into lots, dispositions and wash sales.

The ledger is a fold over events in the order they happened: date, then execution time (an event without a
time counts as at the open, corporate actions before trades), then input order. Never "purchases first" and
never by account name: an account's id is not a tax fact (shared/reference/wash-sales.md, "Order").

Each event, as it happens:
- a purchase creates a lot, which at once washes earlier losses in its window still short of replacements
  (earliest sale first);
- a sale relieves lots (the named lot, else the account's lot method) and becomes dispositions; each loss
  looks back for replacements acquired in the 30 days before, earliest first: open shares, and (policy
  `replacement_already_sold = "adjust"`) shares already sold, whose sale takes the basis adjustment (and,
  when that makes it a loss, then looks back and waits for replacements like a new loss sale);
- a corporate action rewrites the lots it touches (see `daemon.ledger.actions`), and its cash (in lieu,
  merger, excess return of capital, worthless removal) is a disposition like a sale's.

`apply(state, events, ...)` continues from a saved state with events dated after it (the incremental path);
`replay(events, ...)` starts from nothing. Both run the same fold, so they give the same answer.
The book's event and index bookkeeping lives here (symbols and identical groups, the holdings in relief order,
the replacement candidates, acquiring, the fold); two steps of the fold with their own vocabulary are its
mixins, kept apart so no module outgrows a read: relieving lots into dispositions (`sell`, `dispose`,
`cash_gain`) is `daemon.ledger.disposing.Disposing`, and the wash-sale matching (losses, replacements,
settling) is `daemon.ledger.washing.Washing`.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress, islice
from operator import attrgetter, eq, lt
from typing import TypeVar

from daemon import gc_pause
from daemon.ledger import corporate, relief, wash_sales
from daemon.ledger.actions import CorporateAction
from daemon.ledger.disposing import Disposing
from daemon.ledger.events import (
    BackdatedTrades,
    Event,
    LedgerError,
    Unloaded,
    canonical_order,
    event_order,
    sales,
    validate,
)
from daemon.ledger.money import CONTEXT, QUANTUM, q
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
    Part,
    ReplacementAlreadySold,
    Side,
    Trade,
    WashMatch,
    make_lot,
    publish,
    working_copy,
)
from daemon.ledger.washing import MATCH_AT_PRUNED, Washing

__all__ = ["RULES", "BackdatedTrades", "Event", "LedgerError", "Unloaded", "apply", "canonical_order",
           "event_order", "replay"]

# The edition of the rules the fold applies. Raised when a change makes a replay of the same events compute
# other records, so that a ledger stored under an earlier edition is recomputed (daemon.bookkeeping) rather
# than continued: 1, everything before; 2, a sale that a wash turns into a loss is washed like any loss sale,
# and a wash split never takes a lot id in use (it replaced a closed lot named like its child).
RULES = 2

_ONE = Decimal(1)
_R = TypeVar("_R", Lot, Disposition)
_SEQ, _LOT_ID, _DISPOSITION_ID = attrgetter("seq"), attrgetter("lot_id"), attrgetter("disposition_id")
_REPLACEABLE = wash_sales.REPLACEABLE
_WINDOW = wash_sales.WINDOW
_NONE_WASHED: frozenset[str] = frozenset()
# Python 3.11 looks an enum member up through a descriptor (about 0.15 us, more than the comparison it is
# for): the fold's hot paths compare with these module constants instead. Likewise they compare Decimals
# with ZERO, not the int 0 (which each comparison would convert: twice the time).
_ACQUIRING = frozenset(side for side in Side if side.acquires)
_REINVEST, _TRANSFER_IN, _GIFT_IN, _INHERITED = Side.REINVEST, Side.TRANSFER_IN, Side.GIFT_IN, Side.INHERITED
_PURCHASE = Origin.PURCHASE


def _in_order(records: list[_R], seq: Callable[[_R], int], ident: Callable[[_R], str]) -> tuple[_R, ...]:
    """`records` sorted by sequence number, then id (the list is sorted in place).

    The book makes the pieces of one purchase or sale (which share its number) in id order, so a stable sort
    by the number alone (an int key, several times cheaper than tuples) is usually the answer: the neighbours
    that share a number are checked (all in C: maps, no Python loop), and any out of id order mean the full
    sort. No copy of the table but the tuple: this runs at a large import's peak memory."""
    records.sort(key=seq)
    # tied[i]: record i + 1 shares record i's number
    tied = list(map(eq, map(seq, islice(records, 1, None)), map(seq, records)))
    later, earlier = map(ident, compress(islice(records, 1, None), tied)), map(ident, compress(records, tied))
    if any(map(lt, later, earlier)):
        records.sort(key=lambda record: (seq(record), ident(record)))
    return tuple(records)


def _taken(events: list[Event]) -> Iterator[Event]:
    """`events` in order, each let go by the list as the fold takes it (the list ends empty).

    The fold keeps no event, only the values its records share (ids, dates, quantities): an event nobody
    else holds (an import's trades, handed over once stored) is freed as soon as it is booked instead of
    living until the whole state is built, 40 MB of a 100,000-trade import's peak."""
    events.reverse()
    pop = events.pop
    while events:
        yield pop()


class _Loaded(dict[str, _R]):
    """The book's lots or sales when its state was loaded in part (`Part`): the records loaded and made.

    A record the part left out is never answered with a guess: looking it up raises `Unloaded`. The lots
    know which ids they left out (`left_out`), so that a lot id in use is still in use; the sales do not
    (`left_out` None): any sale not held may be a stored one, and asking for it raises too. Only a state
    loaded in part pays for these methods; a whole state's book keeps plain dicts."""

    __slots__ = ("left_out",)

    def __init__(self, records: dict[str, _R], left_out: frozenset[str] | None):
        super().__init__(records)
        self.left_out = left_out

    def _stored(self, key: object) -> bool:
        return self.left_out is None or key in self.left_out

    def __missing__(self, key: str) -> _R:
        if self._stored(key):
            raise Unloaded(key)
        raise KeyError(key)

    def get(self, key: str, default: _R | None = None) -> _R | None:  # type: ignore[override]
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        if self._stored(key):
            raise Unloaded(key)
        return default

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if self.left_out is None:
            raise Unloaded(key)
        return key in self.left_out


def _one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - 1, day=28)


class _Book(Disposing, Washing):
    """The working copy of one household's ledger while a batch of events is applied.

    Lots and dispositions are the frozen public records, but the ones the book made (or copied from the input
    state because this batch may change them) are its own until `freeze`, and it updates them in place: a
    sale relieving a lot or a wash adjusting a basis costs a few attribute writes, not a new record. Nothing
    outside the book sees a record before `freeze` hands the state out, and the input state is never changed.
    """

    def __init__(self, state: LedgerState, accounts: Mapping[str, Account], identical: IdenticalGroups,
                 policy: LedgerPolicy):
        self.household = state.household
        self.accounts = accounts
        self.identical = identical
        self.policy = policy
        self.adjust = policy.replacement_already_sold is ReplacementAlreadySold.ADJUST
        self.by_value = policy.identical_match is IdenticalMatch.VALUE
        # Records this batch may change are copied: open lots, and sales recent enough to be a pending loss
        # or an already-sold replacement (older ones fall out of every window before the first event).
        horizon = state.through - wash_sales.WINDOW if state.through else None
        self.lots: dict[str, Lot] = {lot.lot_id: working_copy(lot) if lot.quantity > 0 else lot
                                     for lot in state.lots}
        self.dispositions: dict[str, Disposition] = {
            d.disposition_id: working_copy(d) if horizon is None or d.sold >= horizon or d.purchased >= horizon
            else d for d in state.dispositions}
        self.matches: list[WashMatch] = list(state.matches)
        # A loss's matches, by their positions in `matches`: kept only for sales that may yet be split as a
        # replacement already sold (the only change that rewrites a loss's matches).
        self._match_at: dict[str, list[int]] = {}
        for n, m in enumerate(self.matches):
            loss = self.dispositions.get(m.disposition_id)
            if loss is not None and self._splittable(loss, horizon):
                self._match_at.setdefault(m.disposition_id, []).append(n)
        self._match_at_limit = max(MATCH_AT_PRUNED, 2 * len(self._match_at))
        self.seq = state.next_seq
        self.through = state.through
        self.factors: dict[str, Decimal] = dict(state.split_factors)
        self.renamed: dict[str, str] = {}
        self.rename_order: list[tuple[str, str]] = []
        self.splits_applied: set[str] = set(state.splits_applied)
        self.extra_key: dict[str, str] = {}  # renamed symbols that take their old name's identical group
        # symbol -> its identical group's key, filled by `group`; hot paths read it inline first
        # (`self._group.get(symbol) or self.group(symbol)`: no method call once a symbol is known).
        self._group: dict[str, str] = {}
        self._current: dict[str, str] = {}
        for old, new in state.renamed:
            self._record_rename(old, new)
        # Indexes: open lots per (account, symbol) as their relief-order keys (each ends with the lot id);
        # replacement candidates per identical group (open unabsorbed lots; sold shares under "adjust"), pruned
        # to the window; taxable losses still short of replacements, per group.
        self.holdings: dict[tuple[str, str], list[tuple[object, ...]]] = {}
        self._held_at: dict[str, tuple[list[tuple[object, ...]], tuple[object, ...]]] = {}  # lot id -> (holding, key)
        self._relief: dict[str, tuple[object, bool]] = {}  # account -> (relief key, key moves with basis)
        self._checked: dict[str, Account] = {}  # accounts of this household met so far
        self._sets: dict[str, frozenset[str]] = {}
        self._shared: dict[frozenset[str], frozenset[str]] = {}
        self._dates: dict[date, date] = {}
        self.candidates: dict[str, dict[str, None]] = {}
        self.sold: dict[str, dict[str, None]] = {}
        self.pending: dict[str, dict[str, None]] = {}
        self._made: list[Disposition] = []
        # The window: entries dated before `horizon` (30 days before the current day) are never added and are
        # dropped when next met. None of them can match again: every sale from now on is dated on or after
        # the current day, and a pending loss that old is out of reach of any purchase's window.
        self.horizon: date | None = None
        for lot in sorted(self.lots.values(), key=wash_sales.replacement_key):
            if lot.quantity > 0:
                self._hold(lot)
                self._candidate(lot)
        for d in sorted(self.dispositions.values(), key=wash_sales.loss_key):
            if d.taxable and d.loss > 0 and d.unwashed_quantity > 0 and (horizon is None or d.sold >= horizon):
                self._add(self.pending, self.group(d.symbol), d.disposition_id, d.sold)
        if self.adjust:
            recent = [d for d in self.dispositions.values() if horizon is None or d.purchased >= horizon]
            for d in sorted(recent, key=wash_sales.replacement_key):
                self._index_sold(d)
        # A state loaded in part: from here on, a record it left out is never looked up in silence.
        self.part: Part | None = state.part
        if state.part is not None:
            self.lots = _Loaded(self.lots, state.part.lots_left_out)
            self.dispositions = _Loaded(self.dispositions, None)

    # -- symbols, groups and indexes -------------------------------------------------------------------
    def current(self, symbol: str) -> str:
        now = self._current.get(symbol)
        if now is None:
            now, seen = symbol, {symbol}
            while now in self.renamed and self.renamed[now] not in seen:
                now = self.renamed[now]
                seen.add(now)
            self._current[symbol] = now
        return now

    def group(self, symbol: str) -> str:
        key = self._group.get(symbol)
        if key is None:
            now = self.current(symbol)
            key = self._group[symbol] = self.extra_key.get(now) or self.identical.key(now)
        return key

    def factor(self, symbol: str) -> Decimal:
        return self.factors.get(self.current(symbol), _ONE)

    def _record_rename(self, old: str, new: str) -> None:
        before = self.group(old)
        self.renamed[old] = new
        self.rename_order.append((old, new))
        if self.identical.members(new) == frozenset({new}):
            # The new ticker is in no configured group: it keeps the old one's identical group.
            self.extra_key[new] = before
        self._group.clear()
        self._current.clear()

    def _relief_of(self, account: str) -> tuple[object, bool]:
        found = self._relief.get(account)
        if found is None:
            config = self.accounts.get(account)
            method = config.lot_method if config else LotMethod.FIFO
            # FIFO and LIFO keys are dates and sequence numbers: only HIFO's moves when the basis does.
            found = self._relief[account] = (relief.relief_key(method), method is LotMethod.HIFO)
        return found

    def _hold(self, lot: Lot) -> None:
        """Index an open lot under its account and symbol, in relief order."""
        account = lot.account
        key = (self._relief.get(account) or self._relief_of(account))[0](lot)  # type: ignore[operator]
        place = (account, lot.symbol)
        held = self.holdings.get(place)
        # A plain sorted list: purchases mostly arrive at one end, and the memmove of an insertion is cheap
        # next to a balanced tree's bookkeeping at the sizes one account's holding of one symbol reaches.
        if held is None:
            held = self.holdings[place] = [key]
        elif not held or held[-1] < key:
            held.append(key)
        else:
            insort(held, key)
        self._held_at[lot.lot_id] = (held, key)

    def _unhold(self, lot_id: str) -> None:
        at = self._held_at.pop(lot_id, None)
        if at is not None:
            held, key = at
            del held[bisect_left(held, key)]

    def held_lots(self, account: str, symbol: str) -> Iterator[Lot]:
        """The open lots of `symbol` in `account`, in the account's relief order."""
        lots = self.lots
        return (lots[key[-1]] for key in self.holdings.get((account, symbol), ()))

    def holders(self, symbol: str) -> list[str]:
        return sorted({acct for (acct, sym), held in self.holdings.items() if sym == symbol and held})

    def _candidate(self, lot: Lot) -> None:
        if lot.quantity > ZERO and not lot.absorbed and lot.origin in _REPLACEABLE:
            self._add(self.candidates, self.group(lot.symbol), lot.lot_id, lot.purchased)
        else:
            self.candidates.get(self.group(lot.symbol), {}).pop(lot.lot_id, None)

    def _put(self, lot: Lot) -> None:
        """Store a new lot, or a new record for a lot (corporate actions)."""
        old = self.lots.get(lot.lot_id)
        if old is not None:
            self._unhold(old.lot_id)
            if old.symbol != lot.symbol:
                self.candidates.get(self.group(old.symbol), {}).pop(old.lot_id, None)
        self.lots[lot.lot_id] = lot
        if lot.quantity > ZERO:
            self._hold(lot)
        self._candidate(lot)

    def _changed(self, lot: Lot) -> None:
        """A lot of the book's changed in place (quantity, basis, absorbed): its index entries follow."""
        if lot.quantity > ZERO:
            if self._relief_of(lot.account)[1]:
                self._unhold(lot.lot_id)
                self._hold(lot)
        else:
            self._unhold(lot.lot_id)
        self._candidate(lot)

    def _add(self, index: dict[str, dict[str, None]], group: str, key: str, day: date) -> None:
        """Index `key` under `group` while its date is inside the window."""
        if self.horizon is not None and day < self.horizon:
            return
        ids = index.get(group)
        if ids is None:
            index[group] = {key: None}
        elif key not in ids:
            ids[key] = None

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- accounts and purchases (sales: `Disposing`) -------------------------------------------------
    def account(self, event: Event, account_id: str | None) -> Account:
        account = self._checked.get(account_id)  # type: ignore[arg-type]
        if account is not None:
            return account
        account = self.accounts.get(account_id or "")
        if account is None:
            raise LedgerError(event, f"unknown account {account_id!r}")
        if account.household != self.household:
            raise LedgerError(event, f"account {account_id!r} is not in household {self.household!r}")
        self._checked[account.id] = account
        return account

    def acquire(self, trade: Trade) -> Lot:
        if trade.account not in self._checked:
            self.account(trade, trade.account)
        lot_id = trade.lot_id or trade.trade_id
        if lot_id in self.lots:
            raise LedgerError(trade, f"lot id {lot_id!r} is already used")
        cost = (trade.quantity * trade.price + trade.fees).quantize(QUANTUM, None, CONTEXT)  # q(), inline
        purchased = acquired = trade.date
        origin = _PURCHASE
        loss_basis: Decimal | None = None
        side = trade.side
        if side is _TRANSFER_IN:
            # The original purchase, made at another broker: its basis and dates arrive with the shares.
            origin = Origin.TRANSFER
            cost = trade.basis if trade.basis is not None else cost
            purchased = acquired = trade.acquired or trade.date
        elif side is _GIFT_IN:
            if trade.basis is None or trade.acquired is None:
                raise LedgerError(trade, "a gift needs the donor's basis and acquisition date")
            origin = Origin.GIFT
            value = q(trade.quantity * trade.price)
            cost, acquired = trade.basis, trade.acquired
            if value < cost:
                loss_basis = value  # §1015(a): for a loss, the basis is the value at the gift
        elif side is _INHERITED:
            origin = Origin.INHERITED
            cost = q(trade.quantity * trade.price) if trade.basis is None else trade.basis
            # §1223(9): always long-term, whenever sold.
            acquired = _one_year_before(trade.date) - timedelta(days=1)
        self.seq += 1
        lot = make_lot(lot_id, lot_id, None, trade.account, trade.symbol, trade.quantity, cost, ZERO,
                       purchased, acquired, False, self.seq, trade.trade_id, side is _REINVEST, origin,
                       _NONE_WASHED, loss_basis)
        # `_put` for a lot id not used before (checked above): no earlier record to take out of the indexes.
        self.lots[lot_id] = lot
        self._hold(lot)
        if origin in _REPLACEABLE:
            self._add(self.candidates, self._group.get(lot.symbol) or self.group(lot.symbol), lot_id, purchased)
        return lot

    # -- the fold --------------------------------------------------------------------------------------
    def step(self, events: Sequence[Event]) -> None:
        """One event, or the fills of one sell order (one sale: relieved together, then its losses)."""
        first = events[0]
        if isinstance(first, CorporateAction):
            corporate.apply_action(self, first)
        elif first.side in _ACQUIRING:
            self.acquired(self.acquire(first))
        elif len(events) == 1:
            self.losses(self.sell(first))
        else:
            self.losses([d for trade in events for d in self.sell(trade)])  # type: ignore[arg-type]

    def freeze(self) -> LedgerState:
        """The state the batch leaves (the book is done with: its indexes and tables are let go on the way,
        each before the next sorted copy is made, which keeps a long replay's peak memory down)."""
        self.holdings, self._held_at, self._match_at = {}, {}, {}
        self.candidates, self.sold, self.pending = {}, {}, {}
        # Each table as a list, its dict let go before the sort (the dict is three times the list's size).
        lots = list(self.lots.values())
        self.lots = {}
        publish(lots)
        lots_in_order = _in_order(lots, _SEQ, _LOT_ID)
        del lots
        dispositions = list(self.dispositions.values())
        self.dispositions = {}
        publish(dispositions)
        dispositions_in_order = _in_order(dispositions, _SEQ, _DISPOSITION_ID)
        del dispositions
        publish(self.matches)
        return LedgerState(
            household=self.household,
            through=self.through,
            lots=lots_in_order,
            dispositions=dispositions_in_order,
            matches=tuple(self.matches),
            next_seq=self.seq,
            split_factors=tuple(sorted(self.factors.items())),
            renamed=tuple(self.rename_order),
            splits_applied=tuple(sorted(self.splits_applied)),
            part=self.part,
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
        # The usual trade (no basis) passes in one expression; every other event gets the full checks.
        if not (type(event) is Trade and event.basis is None and event.quantity > ZERO and event.price >= ZERO
                and event.fees >= ZERO):
            validate(event)
    # The fold allocates a few records per event and no reference cycles: the cyclic collector's passes over
    # the growing heap would cost about a third of the time, so it waits until the state is built.
    with gc_pause.paused():
        book = _Book(state, accounts, identical, policy or LedgerPolicy())
        day: date | None = None
        acquire, acquired, sell, losses = book.acquire, book.acquired, book.sell, book.losses
        through = ordered[-1].date
        for group in sales(_taken(ordered)):
            first = group[0]
            if first.date != day:
                day = first.date
                # A new day: entries dated more than 30 days before it are out of every window from now on.
                book.horizon = day - _WINDOW
            if len(group) == 1 and type(first) is Trade:  # `step` for one trade, inline: a call less each
                if first.side in _ACQUIRING:
                    acquired(acquire(first))
                else:
                    losses(sell(first))
            else:
                book.step(group)
        book.through = through
        return book.freeze()


def replay(household: str, events: Iterable[Event], accounts: Mapping[str, Account],
           identical: IdenticalGroups, policy: LedgerPolicy | None = None) -> LedgerState:
    """Recompute a household's ledger from all of its events."""
    return apply(LedgerState(household=household), events, accounts, identical, policy)
