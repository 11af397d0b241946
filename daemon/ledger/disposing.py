"""The selling half of the book: relieving lots and recording the dispositions a sale (or a transfer out, or a
corporate action's cash) makes.

`Disposing` is a mixin of the book (`daemon.ledger.book._Book`), which owns the records and the indexes used
here (lots, dispositions, the holdings, the candidates / sold indexes, the window's horizon, the sequence
number). It lives apart from the book's event and index bookkeeping because it is one step of the fold with its
own vocabulary (picks, proceeds shared pro rata, basis, closed lots' shared zeros); the wash-sale matching of
the losses it makes is the other mixin, `daemon.ledger.washing.Washing`. As a mixin its methods are still the
book's own methods: the hot loop pays no extra call or lookup.

- `sell` picks the lots a trade relieves (`_take`: the account's relief order; `_picks`: a named lot) and
  `dispose` relieves them, sharing the proceeds by shares, and records one disposition per lot;
- `cash_gain` records cash that is a capital gain without shares sold (merger boot, return of capital beyond
  basis).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from daemon.ledger import relief, wash_sales
from daemon.ledger.actions import CorporateAction
from daemon.ledger.events import Event, LedgerError
from daemon.ledger.money import CONTEXT, QUANTUM, prorate
from daemon.ledger.types import (
    ZERO,
    Account,
    AccountType,
    Disposition,
    Lot,
    Side,
    Trade,
    make_disposition,
)

_ONE = Decimal(1)
# Python 3.11 looks an enum member up through a descriptor (slower than the comparison it is for): the hot
# paths compare with these module constants instead.
_TAXABLE = AccountType.TAXABLE
_TRANSFER_OUT = Side.TRANSFER_OUT
_REPLACEABLE = wash_sales.REPLACEABLE
# One shared record of each positive zero, by exponent (so it prints the same): a closed lot's figures are
# zeros, and a Decimal is 104 bytes.
_ZEROS: dict[int, Decimal] = {}
_ZERO_AT_QUANTUM = _ZEROS.setdefault(-12, Decimal("0E-12"))  # a closed lot's cost, nearly always


class Disposing:
    """The book's selling methods (a mixin: the book holds the state below and the index methods)."""

    accounts: Mapping[str, Account]
    lots: dict[str, Lot]
    dispositions: dict[str, Disposition]
    holdings: dict[tuple[str, str], list[tuple[object, ...]]]
    _held_at: dict[str, tuple[list[tuple[object, ...]], tuple[object, ...]]]
    _checked: dict[str, Account]
    factors: dict[str, Decimal]
    candidates: dict[str, dict[str, None]]
    sold: dict[str, dict[str, None]]
    horizon: date | None
    adjust: bool
    seq: int
    _group: dict[str, str]  # the book's cache of `group`

    def _picks(self, event: Event, account: Account, symbol: str, quantity: Decimal,
               named: str | None) -> list[tuple[Lot, Decimal]]:
        if named is None:
            return self._take(event, account.id, symbol, quantity)
        try:
            pool = [lot for lot in self.held_lots(account.id, symbol) if relief.matches_named(lot, named)]
            if not pool:
                raise relief.ReliefError(f"no open lot {named!r}")
            return relief.take(sorted(pool, key=relief.fifo_key), quantity, f"lot {named!r}")
        except relief.ReliefError as exc:
            raise LedgerError(event, str(exc)) from None

    def _take(self, event: Event, account: str, symbol: str, quantity: Decimal) -> list[tuple[Lot, Decimal]]:
        """`relief.take` over the holding's keys: the first lots in relief order, only as many as needed."""
        picks: list[tuple[Lot, Decimal]] = []
        left = quantity
        lots = self.lots
        keys = self.holdings.get((account, symbol), ())
        for key in keys:
            lot = lots[key[-1]]  # type: ignore[index]
            if left <= lot.quantity:
                picks.append((lot, left))
                return picks
            picks.append((lot, lot.quantity))
            left -= lot.quantity
        # Not enough: relief.take raises the error, counted the same way.
        try:
            return relief.take((lots[key[-1]] for key in keys), quantity)  # type: ignore[index]
        except relief.ReliefError as exc:
            raise LedgerError(event, str(exc)) from None

    def dispose(self, event: Event, account: Account, picks: Sequence[tuple[Lot, Decimal]], proceeds: Decimal,
                sold: date, kind: str = "sale", total: Decimal | None = None) -> list[Disposition]:
        """Relieve `picks` and record their dispositions; `proceeds` is shared pro rata by shares (`total`:
        the picks' shares in all, when the caller knows them)."""
        made: list[Disposition] = []
        allocated = Decimal(0)
        last = len(picks) - 1
        sale = kind == "sale"
        # The total shares, to share the proceeds by: a sale of one lot's shares takes all of them.
        if total is None and last and sale:
            total = sum((shares for _, shares in picks), Decimal(0))
        taxable = account.type is _TAXABLE and sale
        order_id = event.order_id if isinstance(event, Trade) else None
        event_id, at, account_id = event.event_id, event.time, account.id
        moves = self._relief_of(account_id)[1]
        horizon = self.horizon
        dispositions = self.dispositions
        indexed = self.adjust
        symbol: str | None = None
        group = ""
        factor = _ONE
        seq = self.seq
        zeros, held_at = _ZEROS, self._held_at
        multiply, divide = CONTEXT.multiply, CONTEXT.divide
        for n, (lot, shares) in enumerate(picks):
            held = lot.quantity
            lot_cost, lot_adjustment, lot_loss_basis = lot.cost, lot.adjustment, lot.loss_basis
            if shares == held:  # the whole lot (prorate's exact case)
                cost, adjustment, loss_basis = lot_cost, lot_adjustment, lot_loss_basis
            else:
                cost = prorate(lot_cost, shares, held)
                adjustment = prorate(lot_adjustment, shares, held)
                loss_basis = None if lot_loss_basis is None else prorate(lot_loss_basis, shares, held)
            if not sale:
                part = cost + adjustment  # shares that leave without a sale: no gain or loss
            elif n == last:
                part = proceeds - allocated
            else:  # prorate(), inline (one call per lot of most sales): shares < total here
                part = divide(multiply(proceeds, shares), total).quantize(QUANTUM, None, CONTEXT)
                allocated += part
            basis, acquired = cost + adjustment, lot.acquired
            if loss_basis is not None and part < basis:
                # A gift received below the donor's basis: a loss is measured from the value at the gift
                # (and its holding period starts then); between the two there is neither gain nor loss.
                if part < loss_basis:
                    basis, acquired = loss_basis, lot.purchased
                else:
                    basis = part
            if loss_basis is not None:
                lot.loss_basis = lot_loss_basis - loss_basis  # type: ignore[operator]
            lot_id, purchased, origin, absorbed = lot.lot_id, lot.purchased, lot.origin, lot.absorbed
            # Shares that may still replace a loss (or, sold, be a replacement already sold).
            replaceable = not absorbed and origin in _REPLACEABLE and (horizon is None or purchased >= horizon)
            if lot.symbol != symbol:
                symbol = lot.symbol
                group = self._group.get(symbol) or self.group(symbol)
                factor = self.factor(symbol) if self.factors else _ONE
            left = held - shares
            if left > ZERO:
                lot.quantity = left
                lot.cost = lot_cost - cost
                lot.adjustment = lot_adjustment - adjustment
                if moves:
                    self._unhold(lot_id)
                    self._hold(lot)
                if replaceable:
                    self._add(self.candidates, group, lot_id, purchased)
            else:
                if left:  # more shares than the lot held: never so from the ledger's own picks
                    lot.quantity, lot.cost, lot.adjustment = left, lot_cost - cost, lot_adjustment - adjustment
                else:  # the whole lot (shares == held: cost and adjustment are the lot's own): shared zeros
                    lot.quantity = zeros.setdefault(left.adjusted(), left)  # a zero's adjusted() is its exponent
                    if lot_cost.same_quantum(_ZERO_AT_QUANTUM):  # x - x: a positive zero with x's exponent
                        lot.cost = _ZERO_AT_QUANTUM
                    else:
                        zero = lot_cost - lot_cost
                        lot.cost = zeros.setdefault(zero.adjusted(), zero)
                    if lot_adjustment is not ZERO:
                        zero = lot_adjustment - lot_adjustment
                        lot.adjustment = zeros.setdefault(zero.adjusted(), zero)
                # Closed: out of the holding (`_unhold`, inline); it leaves the candidates when next met.
                holding = held_at.pop(lot_id, None)
                if holding is not None:
                    keys, key = holding
                    del keys[bisect_left(keys, key)]
            seq += 1
            disposition_id = f"{event_id}#{lot_id}"
            d = make_disposition(disposition_id, event_id, account_id, symbol, lot_id, lot.purchase_id, shares,
                                 part, basis, acquired, purchased, sold, taxable, seq, ZERO, ZERO, ZERO, kind,
                                 lot.seq, origin, lot.washed_from, absorbed, factor, ZERO, at, order_id)
            dispositions[disposition_id] = d
            if indexed and replaceable:
                self._add(self.sold, group, disposition_id, purchased)
            made.append(d)
        self.seq = seq
        return made

    def cash_gain(self, event: CorporateAction, lot: Lot, cash: Decimal, day: date) -> Disposition:
        """Cash that is a capital gain without shares sold (merger boot, return of capital beyond basis)."""
        account = self.account(event, lot.account)
        d = make_disposition(disposition_id=f"{event.action_id}#{lot.lot_id}", trade_id=event.action_id,
                             account=lot.account, symbol=lot.symbol, lot_id=lot.lot_id, purchase_id=lot.purchase_id,
                             quantity=ZERO, proceeds=cash, cost_basis=ZERO, acquired=lot.acquired,
                             purchased=lot.purchased, sold=day, taxable=account.type is _TAXABLE, seq=self._next_seq(),
                             lot_seq=lot.seq, origin=lot.origin, absorbed=True, time=event.time)
        self._put_disposition(d)
        return d

    def sell(self, trade: Trade) -> list[Disposition]:
        account = self._checked.get(trade.account) or self.account(trade, trade.account)
        picks = (self._take(trade, account.id, trade.symbol, trade.quantity) if trade.lot_id is None
                 else self._picks(trade, account, trade.symbol, trade.quantity, trade.lot_id))
        if trade.side is _TRANSFER_OUT:
            return self.dispose(trade, account, picks, ZERO, trade.date, kind="transfer_out")
        proceeds = (trade.quantity * trade.price - trade.fees).quantize(QUANTUM, None, CONTEXT)  # q(), inline
        # The picks relieve exactly the shares sold (or relief raised): they are the total to prorate by.
        return self.dispose(trade, account, picks, proceeds, trade.date, total=trade.quantity)
