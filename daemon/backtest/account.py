"""One simulated taxable account (its own household): cash, the ledger state in memory, the day's trades.

Every trade goes through `daemon.ledger.apply`, once per trading day that has trades. The ledger state lives
here, indexed by symbol: open lots, and the dispositions of the last 31 days (older ones can no longer take
part in a wash sale; they become per-year gain rows). `apply` is given the part of the state its trades can
touch: the lots and recent sales of every symbol identical to one traded today (wash sales only ever connect
identical symbols), so its work does not grow with the rest of the book. Fills follow the paper broker's rule
(`brokers.paper.fill_price`).

The engine decides what the simulator trades (harvest pairs, new money, rebalancing and tax sales); its
guards (`BuyGuard`, `rebalance.LossGuard`) see the booked state here plus today's trades not booked yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from operator import attrgetter

import numpy as np

from brokers.paper import fill_price
from daemon.engine.conflicts import BuyGuard
from daemon.engine.holdings import GroupIndex, Holdings, index
from daemon.engine.types import Restriction
from daemon.ledger import Account, AccountType, IdenticalGroups, LedgerState, Lot, LotMethod, Side, Trade, apply
from daemon.ledger.gains import GainRow, rows
from daemon.ledger.money import q
from daemon.ledger.types import ZERO, Disposition, WashMatch

ACCOUNT = "taxable"
QTY = Decimal("1e-9")  # the paper broker's share quantum
CENT = Decimal("0.01")
KEEP = timedelta(days=31)


_lot_order = attrgetter("seq", "lot_id")
_sale_order = attrgetter("seq")


class SimAccount:
    def __init__(self, household: str, identical: IdenticalGroups, spread_bps: Decimal, col: Mapping[str, int]):
        self.account = Account(ACCOUNT, household, AccountType.TAXABLE, LotMethod.SPECIFIC)
        self.accounts = {ACCOUNT: self.account}
        self.identical = identical
        self.spread = spread_bps
        self.col = col
        self.household = household
        self.through: date | None = None
        self.next_seq = 0
        self.version = 0  # counts the days whose trades were booked: the ledger state changed
        self.cash = ZERO
        self.lots: dict[str, list[Lot]] = {}  # open lots per symbol, in (seq, lot id) order
        self.sales: dict[str, list[Disposition]] = {}  # dispositions of the last 31 days per symbol
        self.fshares = np.zeros(len(col))  # open shares per history column, for valuations
        self.max_basis: dict[str, float] = {}  # highest adjusted basis per share of a symbol's open lots
        self.arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # per symbol: open lots' shares, bases
        self.rows: dict[int, list[GainRow]] = {}  # final gain rows (window closed) per year of sale
        self.washes: list[tuple[date, WashMatch]] = []
        self.gains: dict[int, Decimal] = {}  # per year of sale: the gains of the lots sold at a gain
        self.trades: list[Trade] = []  # today's
        self.journal: list[Trade] = []  # every trade booked, in order (to replay the account elsewhere)
        self.tags: dict[str, str] = {}  # trade id -> what made it (harvest, swap_back, rebalance, ...)
        self.sold_qty: dict[str, Decimal] = {}  # lot id -> shares sold today
        self.loss_groups: set[str] = set()  # groups sold at a loss today
        self.bought_groups: set[str] = set()  # groups bought today
        self._keys: dict[str, str] = {}
        self.groups = GroupIndex(identical)
        self._grouped = frozenset().union(*identical.groups)  # the symbols in an identical group
        self._index: tuple[date, Holdings] | None = None
        self._lots_sorted: tuple[Lot, ...] | None = None
        self._sales_sorted: tuple[Disposition, ...] | None = None
        self._n = 0
        self.prefix = household[:1]

    # -- identity ----------------------------------------------------------------------------------------
    def key(self, symbol: str) -> str:
        k = self._keys.get(symbol)
        if k is None:
            k = self._keys[symbol] = self.identical.key(symbol)
        return k

    def shares(self, symbol: str) -> Decimal:
        return sum((lot.quantity for lot in self.lots.get(symbol, ())), ZERO)

    def available(self, lot: Lot) -> Decimal:
        return lot.quantity - self.sold_qty.get(lot.lot_id, ZERO)

    # -- trades ------------------------------------------------------------------------------------------
    def _id(self) -> str:
        self._n += 1
        return f"{self.prefix}{self._n}"

    def buy(self, day: date, symbol: str, notional: Decimal, close: Decimal, tag: str) -> Trade | None:
        price = fill_price(close, self.spread, "buy")
        quantity = (notional / price).quantize(QTY, rounding=ROUND_DOWN)
        if quantity <= 0:
            return None
        trade = Trade(self._id(), day, ACCOUNT, symbol, Side.BUY, quantity, price)
        self.cash -= q(quantity * price)
        self.trades.append(trade)
        self.tags[trade.trade_id] = tag
        self.bought_groups.add(self.key(symbol))
        return trade

    def sell(self, day: date, lot: Lot, quantity: Decimal, close: Decimal, tag: str) -> Trade:
        price = fill_price(close, self.spread, "sell")
        # A day's sells of one symbol are one order at the simulated broker: one sale for the wash-sale rule.
        trade = Trade(self._id(), day, ACCOUNT, lot.symbol, Side.SELL, quantity, price, lot_id=lot.lot_id,
                      order_id=f"{day}-{lot.symbol}")
        proceeds = q(quantity * price)
        self.cash += proceeds
        self.sold_qty[lot.lot_id] = self.sold_qty.get(lot.lot_id, ZERO) + quantity
        if lot.basis * quantity > proceeds * lot.quantity:
            self.loss_groups.add(self.key(lot.symbol))
        self.trades.append(trade)
        self.tags[trade.trade_id] = tag
        return trade

    def state(self, only: set[str] | None = None) -> LedgerState:
        """The ledger state: every open lot (or those of `only`) and every sale of the last 31 days."""
        if only is None:
            lots = self._sorted_lots()
        else:
            lots = tuple(sorted((lot for s in only for lot in self.lots.get(s, ())), key=_lot_order))
        return LedgerState(self.household, self.through, lots, self._sorted_sales(), (), self.next_seq)

    # The open lots and the recent sales in the ledger's order, sorted once per booked day (`commit` resets).
    def _sorted_lots(self) -> tuple[Lot, ...]:
        if self._lots_sorted is None:
            self._lots_sorted = tuple(sorted((lot for lots in self.lots.values() for lot in lots), key=_lot_order))
        return self._lots_sorted

    def _sorted_sales(self) -> tuple[Disposition, ...]:
        if self._sales_sorted is None:
            self._sales_sorted = tuple(sorted((d for ds in self.sales.values() for d in ds), key=_sale_order))
        return self._sales_sorted

    def commit(self, day: date) -> list[Disposition]:
        """Book today's trades; returns today's dispositions."""
        if not self.trades:
            return []
        groups = {self.key(t.symbol) for t in self.trades}
        # The traded symbols and every symbol held or sold lately that is identical to one (which must be in a
        # group: a symbol in none is identical only to itself).
        scope = {t.symbol for t in self.trades}
        if self._grouped:
            scope.update(s for s in (*self.lots, *self.sales) if s in self._grouped and self.key(s) in groups)
        part = LedgerState(self.household, self.through,
                           tuple(sorted((lot for s in scope for lot in self.lots.get(s, ())), key=_lot_order)),
                           tuple(sorted((d for s in scope for d in self.sales.get(s, ())), key=_sale_order)),
                           (), self.next_seq)
        new = apply(part, self.trades, self.accounts, self.identical)
        self.version += 1
        self.journal.extend(self.trades)
        self.through, self.next_seq = new.through, new.next_seq
        self.washes.extend((day, m) for m in new.matches)
        for symbol in scope:
            self.lots.pop(symbol, None)
            self.sales.pop(symbol, None)
        for lot in new.lots:
            if lot.quantity > 0:
                self.lots.setdefault(lot.symbol, []).append(lot)
        today: list[Disposition] = []
        for d in new.dispositions:
            self.sales.setdefault(d.symbol, []).append(d)
            if d.sold == day:
                today.append(d)
                if d.taxable and d.gain > 0:
                    self.gains[day.year] = self.gains.get(day.year, ZERO) + d.gain
        self._archive(day - KEEP)
        for symbol in scope:
            self.fshares[self.col[symbol]] = float(self.shares(symbol))
            held = self.lots.get(symbol, ())
            self.max_basis[symbol] = max((float(lot.basis / lot.quantity) for lot in held), default=0.0)
            self.arrays[symbol] = (np.array([float(lot.quantity) for lot in held]),
                                   np.array([float(lot.basis) for lot in held]))
        self.trades = []
        self.sold_qty.clear()
        self.loss_groups.clear()
        self.bought_groups.clear()
        self._index = None
        self._lots_sorted = self._sales_sorted = None
        return today

    def _archive(self, horizon: date) -> None:
        """Sales older than the wash-sale window are final: they become gain rows."""
        for symbol in list(self.sales):
            sales = self.sales[symbol]
            n = 0
            while n < len(sales) and sales[n].sold < horizon:
                n += 1
            if n:
                for d in sales[:n]:
                    if d.taxable:
                        self.rows.setdefault(d.sold.year, []).extend(rows([d]))
                if n == len(sales):
                    del self.sales[symbol]
                else:
                    self.sales[symbol] = sales[n:]

    # -- guards: the engine's, over the booked state, plus today's trades not booked yet ----------------
    def _indexed(self, day: date) -> Holdings:
        """The engine's index of the booked book (recent purchases, pending losses), once per day."""
        if self._index is None or self._index[0] != day:
            self._index = (day, index(self.state(), day, self.groups))
        return self._index[1]

    def blocked(self, day: date, restrictions: Sequence[Restriction]) -> set[str]:
        """Group keys the simulator may not buy today: what the engine's `BuyGuard` blocks (losses of the last
        30 days not fully washed, the engine's active do-not-buy-until restrictions) and the groups sold at a
        loss today."""
        # The guard reads only the pending losses, which the sales alone give: the lots are left out.
        pending = index(LedgerState(self.household, self.through, (), self._sorted_sales(), (), self.next_seq), day,
                        self.groups)
        return BuyGuard(pending, restrictions, day, self.groups).blocked() | self.loss_groups

    def recent(self, day: date) -> Mapping[str, Sequence[Lot]]:
        """The booked purchases of the last 30 days per identical-group key (the engine's index)."""
        return self._indexed(day).recent

    # -- valuation and the end -----------------------------------------------------------------------------
    def value(self, prices: np.ndarray) -> float:
        return float(self.cash) + float(self.fshares @ prices)

    def year_rows(self, year: int) -> list[GainRow]:
        recent = sorted((d for sales in self.sales.values() for d in sales if d.sold.year == year and d.taxable),
                        key=_sale_order)
        return [*self.rows.get(year, []), *rows(recent)]

    def liquidation(self, day: date, closes: Mapping[str, Decimal]) -> tuple[Decimal, list[GainRow]]:
        """Sell every open lot on `day` (after the last booked day) through the ledger, without changing this
        account: the proceeds after the spread and the gain rows."""
        trades: list[Trade] = []
        proceeds = ZERO
        for symbol, lots in sorted(self.lots.items()):
            price = fill_price(closes[symbol], self.spread, "sell")
            for lot in lots:
                trades.append(Trade(f"liq-{lot.lot_id}", day, ACCOUNT, symbol, Side.SELL, lot.quantity, price,
                                    lot_id=lot.lot_id, order_id=f"liq-{symbol}"))
                proceeds += q(lot.quantity * price)
        if not trades:
            return ZERO, []
        new = apply(self.state(), trades, self.accounts, self.identical)
        return proceeds, rows(d for d in new.dispositions if d.sold == day)
