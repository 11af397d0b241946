"""One household's ledger, indexed once per run so that planning stays linear in its lots.

- positions: open lots per account and symbol (what can be sold);
- recent: not yet absorbed shares per identical group bought in the last 30 days, in any account of the
  household, IRAs included, still held or already sold (every acquisition in the window would wash a loss
  sold today, whichever `replacement_already_sold` policy the ledger uses);
- pending: taxable losses of the last 30 days per identical group that are not fully washed yet (a
  purchase of anything identical today would wash them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from daemon.ledger.types import ZERO, Disposition, IdenticalGroups, LedgerState, Lot
from daemon.ledger.wash_sales import WINDOW


class GroupIndex:
    """`IdenticalGroups` with constant-time look-ups: the group key and members of a symbol."""

    def __init__(self, identical: IdenticalGroups):
        self._key: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] = {}
        for group in identical.groups:
            key = min(group)
            for symbol in group:
                self._key.setdefault(symbol, key)
                self._members.setdefault(symbol, group)

    def key(self, symbol: str) -> str:
        return self._key.get(symbol, symbol)

    def members(self, symbol: str) -> frozenset[str]:
        return self._members.get(symbol) or frozenset({symbol})

    def identical(self, a: str, b: str) -> bool:
        return a == b or self.key(a) == self.key(b)


@dataclass
class Holdings:
    household: str
    positions: dict[str, dict[str, list[Lot]]] = field(default_factory=dict)
    recent: dict[str, list[Lot]] = field(default_factory=dict)
    pending: dict[str, list[Disposition]] = field(default_factory=dict)


def index(state: LedgerState, as_of: date, groups: GroupIndex) -> Holdings:
    start = as_of - WINDOW
    held = Holdings(state.household)
    positions = held.positions
    for lot in state.lots:
        if not lot.quantity:
            continue
        by_symbol = positions.get(lot.account)
        if by_symbol is None:
            by_symbol = positions[lot.account] = {}
        same = by_symbol.get(lot.symbol)
        if same is None:
            by_symbol[lot.symbol] = [lot]
        else:
            same.append(lot)
        if lot.purchased >= start and not lot.absorbed and lot.origin.replaceable:
            held.recent.setdefault(groups.key(lot.symbol), []).append(lot)
    for d in state.dispositions:
        if d.sold >= start and d.taxable and d.unwashed_quantity > 0 and d.loss > 0:
            held.pending.setdefault(groups.key(d.symbol), []).append(d)
        if d.purchased >= start and d.quantity > 0 and not d.absorbed and d.origin.replaceable:
            held.recent.setdefault(groups.key(d.symbol), []).append(sold_shares(d))
    return held


def sold_shares(d: Disposition) -> Lot:
    """Shares bought in the window and already sold, as a lot (named by the sale): still an acquisition."""
    return Lot(lot_id=d.disposition_id, purchase_id=d.purchase_id, parent_id=None, account=d.account,
               symbol=d.symbol, quantity=d.quantity, cost=d.cost_basis, adjustment=ZERO, purchased=d.purchased,
               acquired=d.acquired, absorbed=False, seq=d.lot_seq, trade_id=d.trade_id, origin=d.origin)
