"""Replaying a household's trades into lots, dispositions and wash sales.

`apply(state, trades, ...)` continues from a saved state with trades dated after it (the incremental path);
`replay(trades, ...)` starts from nothing (recomputation). Both run the same day-by-day procedure, so they
give the same answer.

One trading day, in this order:
1. purchases create lots (in a canonical order: account id, then input order);
2. losses of earlier days still short of replacements take today's purchases (earliest sale first), before
   today's sales, because an acquisition within 30 days after a loss sale is a replacement even if sold later;
3. sales relieve lots (the named lot, else the account's lot method) and become dispositions;
4. today's losses take replacements bought in the 30 days before or today and still held: shares already
   sold, today included, are not replacements (policy: only the day's totals are settled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import groupby

from daemon.ledger import relief, wash_sales
from daemon.ledger.money import prorate, q
from daemon.ledger.types import (
    Account,
    Disposition,
    IdenticalGroups,
    LedgerState,
    Lot,
    Side,
    Trade,
    WashMatch,
)


class LedgerError(Exception):
    """A trade the ledger cannot book; `trade` is the offending one."""

    def __init__(self, trade: Trade, reason: str):
        self.trade = trade
        self.reason = reason
        super().__init__(f"trade {trade.trade_id} ({trade.date} {trade.account} {trade.side} "
                         f"{trade.quantity} {trade.symbol}): {reason}")


class BackdatedTrades(Exception):
    """New trades dated on or before the state's last day: the caller must recompute from all trades."""


def canonical_order(trades: Iterable[Trade]) -> list[Trade]:
    """Date, then account id, then input order: independent of how accounts are listed anywhere."""
    indexed = list(enumerate(trades))
    indexed.sort(key=lambda it: (it[1].date, it[1].account, it[0]))
    return [t for _, t in indexed]


class _Book:
    """The mutable working copy of one household's ledger while a batch of trades is applied."""

    def __init__(self, state: LedgerState, accounts: Mapping[str, Account], identical: IdenticalGroups):
        self.household = state.household
        self.accounts = accounts
        self.identical = identical
        self._group: dict[str, str] = {}
        self.lots: dict[str, Lot] = {lot.lot_id: lot for lot in state.lots}
        self.dispositions: dict[str, Disposition] = {d.disposition_id: d for d in state.dispositions}
        self.matches: list[WashMatch] = list(state.matches)
        self.seq = state.next_seq
        self.through = state.through
        # Indexes: open lots per (account, symbol); open unabsorbed lots per identical group (replacement
        # candidates, pruned to the window); taxable losses still short of replacements, per group.
        self.holdings: dict[tuple[str, str], dict[str, None]] = {}
        self.candidates: dict[str, dict[str, None]] = {}
        self.pending: dict[str, dict[str, None]] = {}
        for lot in sorted(self.lots.values(), key=wash_sales.replacement_key):
            if lot.quantity > 0:
                self._index(lot)
        for d in sorted(self.dispositions.values(), key=wash_sales.loss_key):
            if d.taxable and d.loss > 0 and d.unwashed_quantity > 0:
                self.pending.setdefault(self.group(d.symbol), {})[d.disposition_id] = None

    # -- indexes ---------------------------------------------------------------------------------------
    def group(self, symbol: str) -> str:
        key = self._group.get(symbol)
        if key is None:
            key = self._group[symbol] = self.identical.key(symbol)
        return key

    def _index(self, lot: Lot) -> None:
        self.holdings.setdefault((lot.account, lot.symbol), {})[lot.lot_id] = None
        if not lot.absorbed:
            self.candidates.setdefault(self.group(lot.symbol), {})[lot.lot_id] = None

    def _put(self, lot: Lot) -> None:
        self.lots[lot.lot_id] = lot
        held = self.holdings.setdefault((lot.account, lot.symbol), {})
        candidates = self.candidates.setdefault(self.group(lot.symbol), {})
        if lot.quantity > 0:
            held[lot.lot_id] = None
        else:
            held.pop(lot.lot_id, None)
        if lot.quantity > 0 and not lot.absorbed:
            candidates[lot.lot_id] = None
        else:
            candidates.pop(lot.lot_id, None)

    def _prune(self, day: date) -> None:
        """Forget candidates and pending losses whose 30-day window closed before `day`.

        Only an optimisation (matching checks the window itself): entries are roughly in date order, so
        each index is trimmed from the front until the first entry still in its window.
        """
        horizon = day - wash_sales.WINDOW
        for ids in self.candidates.values():
            stale = []
            for i in ids:
                if self.lots[i].purchased >= horizon:
                    break
                stale.append(i)
            for i in stale:
                del ids[i]
        for ids in self.pending.values():
            stale = []
            for i in ids:
                if self.dispositions[i].sold >= horizon:
                    break
                stale.append(i)
            for i in stale:
                del ids[i]

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- trades --------------------------------------------------------------------------------------
    def account(self, trade: Trade) -> Account:
        account = self.accounts.get(trade.account)
        if account is None:
            raise LedgerError(trade, f"unknown account {trade.account!r}")
        if account.household != self.household:
            raise LedgerError(trade, f"account {trade.account!r} is not in household {self.household!r}")
        return account

    def acquire(self, trade: Trade) -> Lot:
        self.account(trade)
        lot_id = trade.lot_id or trade.trade_id
        if lot_id in self.lots:
            raise LedgerError(trade, f"lot id {lot_id!r} is already used")
        cost = q(trade.quantity * trade.price + trade.fees)
        lot = Lot(lot_id=lot_id, purchase_id=lot_id, parent_id=None, account=trade.account,
                  symbol=trade.symbol, quantity=trade.quantity, cost=cost, adjustment=Decimal(0),
                  purchased=trade.date, acquired=trade.date, absorbed=False, seq=self._next_seq(),
                  trade_id=trade.trade_id, reinvested=trade.side is Side.REINVEST)
        self._put(lot)
        return lot

    def sell(self, trade: Trade) -> list[Disposition]:
        account = self.account(trade)
        held = [self.lots[i] for i in self.holdings.get((trade.account, trade.symbol), {})]
        try:
            picks = relief.select(held, trade.quantity, account.lot_method, trade.lot_id)
        except relief.ReliefError as exc:
            raise LedgerError(trade, str(exc)) from None
        proceeds = q(trade.quantity * trade.price - trade.fees)
        made: list[Disposition] = []
        allocated = Decimal(0)
        for n, (lot, shares) in enumerate(picks):
            last = n == len(picks) - 1
            part = proceeds - allocated if last else prorate(proceeds, shares, trade.quantity)
            allocated += part
            cost = prorate(lot.cost, shares, lot.quantity)
            adjustment = prorate(lot.adjustment, shares, lot.quantity)
            self._put(replace(lot, quantity=lot.quantity - shares, cost=lot.cost - cost,
                              adjustment=lot.adjustment - adjustment))
            d = Disposition(disposition_id=f"{trade.trade_id}#{lot.lot_id}", trade_id=trade.trade_id,
                            account=trade.account, symbol=trade.symbol, lot_id=lot.lot_id,
                            purchase_id=lot.purchase_id, quantity=shares, proceeds=part,
                            cost_basis=cost + adjustment, acquired=lot.acquired, purchased=lot.purchased,
                            sold=trade.date, taxable=account.type.taxable, seq=self._next_seq())
            self.dispositions[d.disposition_id] = d
            made.append(d)
        return made

    # -- wash sales ----------------------------------------------------------------------------------
    def settle(self, losses: Sequence[str], replacements: Sequence[str]) -> None:
        """Let each loss (in order) take replacement shares (earliest acquired first) until it is washed."""
        queue = list(replacements)
        for loss_id in losses:
            loss = self.dispositions[loss_id]
            i = 0
            while i < len(queue) and loss.unwashed_quantity > 0:
                lot = self.lots[queue[i]]
                if not wash_sales.can_replace(lot, loss):
                    i += 1
                    continue
                permanent = not self.accounts[lot.account].type.taxable
                loss, lots, match = wash_sales.wash(loss, lot, permanent)
                for changed in lots:
                    self._put(changed)
                self.matches.append(match)
                if len(lots) == 3:
                    # Split: the loss is fully washed; the unused rest takes the parent's place in line.
                    queue[i] = lots[2].lot_id
                else:
                    i += 1
            self.dispositions[loss_id] = loss
            if loss.unwashed_quantity <= 0:
                self.pending.get(self.group(loss.symbol), {}).pop(loss_id, None)

    def _open_candidates(self, group: str) -> list[str]:
        ids = [i for i in self.candidates.get(group, {}) if self.lots[i].quantity > 0
               and not self.lots[i].absorbed]
        ids.sort(key=lambda i: wash_sales.replacement_key(self.lots[i]))
        return ids

    def run_day(self, day: date, trades: Sequence[Trade]) -> None:
        self._prune(day)
        bought = [self.acquire(t) for t in trades if t.side.acquires]
        for group in sorted({self.group(lot.symbol) for lot in bought}):
            waiting = sorted(self.pending.get(group, {}),
                             key=lambda i: wash_sales.loss_key(self.dispositions[i]))
            if waiting:
                fresh = sorted((lot for lot in bought if self.group(lot.symbol) == group),
                               key=wash_sales.replacement_key)
                self.settle(waiting, [lot.lot_id for lot in fresh])
        sold = [d for t in trades if not t.side.acquires for d in self.sell(t)]
        losses = sorted((d for d in sold if d.taxable and d.loss > 0), key=wash_sales.loss_key)
        for group, members in groupby(sorted(losses, key=lambda d: self.group(d.symbol)),
                                      key=lambda d: self.group(d.symbol)):
            ids = [d.disposition_id for d in sorted(members, key=wash_sales.loss_key)]
            for i in ids:
                self.pending.setdefault(group, {})[i] = None
            self.settle(ids, self._open_candidates(group))
        self.through = day

    def freeze(self) -> LedgerState:
        return LedgerState(
            household=self.household,
            through=self.through,
            lots=tuple(sorted(self.lots.values(), key=lambda lot: (lot.seq, lot.lot_id))),
            dispositions=tuple(sorted(self.dispositions.values(), key=lambda d: d.seq)),
            matches=tuple(self.matches),
            next_seq=self.seq,
        )


def validate(trade: Trade) -> None:
    if trade.quantity <= 0:
        raise LedgerError(trade, "quantity must be positive")
    if trade.price < 0:
        raise LedgerError(trade, "price must not be negative")
    if trade.fees < 0:
        raise LedgerError(trade, "fees must not be negative")


def apply(state: LedgerState, trades: Iterable[Trade], accounts: Mapping[str, Account],
          identical: IdenticalGroups) -> LedgerState:
    """Book `trades` (all dated after `state.through`) on top of `state`."""
    ordered = canonical_order(trades)
    if not ordered:
        return state
    if state.through is not None and ordered[0].date <= state.through:
        raise BackdatedTrades(f"trade dated {ordered[0].date} is not after {state.through}")
    book = _Book(state, accounts, identical)
    for trade in ordered:
        validate(trade)
    for day, day_trades in groupby(ordered, key=lambda t: t.date):
        book.run_day(day, list(day_trades))
    return book.freeze()


def replay(household: str, trades: Iterable[Trade], accounts: Mapping[str, Account],
           identical: IdenticalGroups) -> LedgerState:
    """Recompute a household's ledger from all of its trades."""
    return apply(LedgerState(household=household), trades, accounts, identical)
