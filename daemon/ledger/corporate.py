"""Corporate actions applied to a household's book, in time order with its trades.

The per-lot arithmetic of each kind is in `daemon.ledger.actions`; this module keeps the book's indexes right
as lots change symbol, quantity or basis, and turns an action's cash (in lieu, merger, excess return of
capital, worthless removal) into dispositions that go through the wash-sale rule like any sale.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.ledger import actions
from daemon.ledger.actions import ActionKind, CorporateAction
from daemon.ledger.events import LedgerError
from daemon.ledger.money import prorate, q
from daemon.ledger.types import ZERO, Account, Lot

if TYPE_CHECKING:
    from daemon.ledger.book import _Book as Book


def _scope(book: Book, action: CorporateAction) -> list[tuple[Account, list[Lot]]]:
    if action.account is not None:
        names = [action.account]
    else:
        names = book.holders(action.symbol)
    out = []
    for name in names:
        account = book.account(action, name)
        out.append((account, list(book.held_lots(name, action.symbol))))
    return out

def _in_sale_order(scope: list[tuple[Account, list[Lot]]]) -> list[tuple[Account, list[Lot]]]:
    """The accounts of an action that sells (cash merger, worthless removal) in the order of their earliest
    acquired shares, never by account id (not a tax fact): losses of one day are processed earliest-acquired
    first (wash-sales.md, "Matching"). An account's lots are disposed together as one sale; a later account's
    lots are still open when an earlier one's loss looks back, so they can be its replacement."""
    def first(entry: tuple[Account, list[Lot]]) -> tuple[object, ...]:
        lots = entry[1]
        if not lots:
            return (1, entry[0].id)
        x = min(lots, key=lambda lot: (lot.acquired, lot.purchased, lot.seq, lot.lot_id))
        return (0, x.acquired, x.purchased, x.seq, x.lot_id)

    return sorted(scope, key=first)


def _live(book: Book, account: Account, action: CorporateAction) -> list[Lot]:
    # Read when the account's turn comes: an earlier account's loss may have washed (split) its lots.
    return list(book.held_lots(account.id, action.symbol))


def apply_action(book: Book, action: CorporateAction) -> None:
    scope = _scope(book, action)
    held = [lot for _, lots in scope for lot in lots]
    if action.kind is ActionKind.SYMBOL_CHANGE:
        assert action.new_symbol is not None
        if book.current(action.symbol) == action.symbol:
            _rename(book, action.symbol, action.new_symbol)
        for lot in held:
            book._put(actions.rename_lot(lot, action.new_symbol))
        return
    if action.kind is ActionKind.SPLIT:
        _split_factor(book, action)
    if not held:
        if action.account is not None:
            raise LedgerError(action, f"account {action.account!r} holds no {action.symbol} on {action.date}")
        return  # no account of this household held it: nothing to do here
    if action.kind is ActionKind.SPLIT:
        _split(book, action, scope)
    elif action.kind is ActionKind.CASH_MERGER:
        assert action.cash_per_share is not None
        for account, _ in _in_sale_order(scope):
            lots = _live(book, account, action)
            shares = sum((lot.quantity for lot in lots), ZERO)
            made = book.dispose(action, account, [(lot, lot.quantity) for lot in lots],
                                q(shares * action.cash_per_share), action.date)
            book.losses(made)
    elif action.kind is ActionKind.STOCK_MERGER:
        assert action.ratio is not None and action.new_symbol is not None
        for lot in held:
            if action.cash_per_share:
                # Boot in a reorganization is gain recognized up to the boot, never a loss. Without the
                # new shares' value the gain is taken to be at least the boot, so the basis carries whole.
                book.cash_gain(action, lot, q(lot.quantity * action.cash_per_share), action.date)
            book._put(actions.merge_lot(lot, action.ratio, action.new_symbol))
    elif action.kind is ActionKind.SPINOFF:
        assert action.ratio is not None and action.new_symbol is not None
        assert action.basis_fraction is not None
        for lot in held:
            parent, child = actions.spin_off(lot, action.ratio, action.new_symbol, action.basis_fraction,
                                             book._next_seq())
            if child.lot_id in book.lots:
                raise LedgerError(action, f"lot id {child.lot_id!r} is already used")
            book._put(parent)
            book._put(child)
    elif action.kind is ActionKind.RETURN_OF_CAPITAL:
        assert action.cash_per_share is not None
        for lot in held:
            reduced, excess = actions.return_capital(lot, action.cash_per_share)
            book._put(reduced)
            if excess > 0:
                book.cash_gain(action, lot, excess, action.date)
    elif action.kind is ActionKind.WORTHLESS:
        day = actions.worthless_date(action.date)
        for account, _ in _in_sale_order(scope):
            lots = _live(book, account, action)
            book.losses(book.dispose(action, account, [(lot, lot.quantity) for lot in lots], ZERO, day))

def _rename(book: Book, old: str, new: str) -> None:
    before = book.group(old)
    book._record_rename(old, new)
    after = book.group(old)
    if after != before:
        # The new ticker belongs to another configured group: the renamed security's own open losses and
        # candidates move to it; the other members' entries stay in the old group (they are not renamed).
        for index, record in ((book.pending, book.dispositions), (book.candidates, book.lots),
                              (book.sold, book.dispositions)):
            entries = index.get(before)
            if not entries:
                continue
            moving = [x for x in map(record.get, entries) if x is not None and book.group(x.symbol) == after]
            for x in moving:
                key = x.lot_id if index is book.candidates else x.disposition_id
                del entries[key]
                book._add(index, after, key, x.sold if index is book.pending else x.purchased)
    if old in book.factors:
        book.factors[new] = book.factors.pop(old) * book.factors.get(new, Decimal(1))

def _split_factor(book: Book, action: CorporateAction) -> None:
    """The security's share count changes even when nobody holds it now: losses sold before the split
    compare with later purchases in post-split shares."""
    assert action.ratio is not None
    key = f"{action.symbol}|{action.date.isoformat()}|{action.ratio}"
    if key not in book.splits_applied:  # one split of the security, however many account rows name it
        book.splits_applied.add(key)
        symbol = book.current(action.symbol)
        book.factors[symbol] = book.factors.get(symbol, Decimal(1)) * action.ratio

def _split(book: Book, action: CorporateAction, scope: Sequence[tuple[Account, list[Lot]]]) -> None:
    assert action.ratio is not None
    for account, _ in scope:
        new = [actions.split_lot(lot, action.ratio) for lot in _live(book, account, action)]
        for lot in new:
            book._put(lot)
        if action.cash_per_share is None:
            continue
        total = sum((lot.quantity for lot in new), ZERO)
        fraction = total - int(total)
        if fraction <= 0:
            continue
        # Cash in lieu of the fractional share: a sale of that fraction, its basis taken pro rata.
        picks: list[tuple[Lot, Decimal]] = []
        given = ZERO
        for n, lot in enumerate(new):
            part = fraction - given if n == len(new) - 1 else prorate(fraction, lot.quantity, total)
            given += part
            if part > 0:
                picks.append((book.lots[lot.lot_id], part))
        book.losses(book.dispose(action, account, picks, q(fraction * action.cash_per_share), action.date))
