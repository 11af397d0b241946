"""Corporate actions as ledger events: what each one does to a lot (pure functions over `Lot` values).

The book (`daemon.ledger.book`) replays them in time order with trades and keeps its indexes; the
arithmetic of each kind lives here (shared/reference/wash-sales.md, "Corporate actions"):

- split / reverse split: quantity x ratio, total basis and dates unchanged; cash in lieu of a fraction is
  a sale of that fraction (the book does the sale);
- symbol change: the same security under a new ticker;
- cash merger: a sale of every lot at the cash price;
- stock-for-stock merger: quantity x ratio of the new company, basis and holding period carried; cash boot
  is gain recognized up to the boot;
- spin-off: the parent's basis split by the issuer's fraction (Form 8937), dates carried;
- return of capital: basis down by the cash per share; beyond zero, a capital gain;
- worthless: a sale at zero as of the last day of the tax year (§165(g)).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, time
from decimal import Decimal

from daemon.ledger.money import q
from daemon.ledger.types import ZERO, Lot, Origin


class ActionKind(enum.StrEnum):
    SPLIT = "split"
    SYMBOL_CHANGE = "symbol_change"
    CASH_MERGER = "cash_merger"
    STOCK_MERGER = "stock_merger"
    SPINOFF = "spinoff"
    RETURN_OF_CAPITAL = "return_of_capital"
    WORTHLESS = "worthless"


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One corporate action on `symbol`, effective on `date` (before the day's trades unless `time` says).

    `account` None: every account of the household holding the symbol then.
    """

    action_id: str
    date: date
    symbol: str
    kind: ActionKind
    account: str | None = None
    ratio: Decimal | None = None  # split: new shares per old; stock merger / spin-off: new shares per old
    new_symbol: str | None = None
    cash_per_share: Decimal | None = None  # cash merger price, boot, return of capital, cash-in-lieu price
    basis_fraction: Decimal | None = None  # spin-off: the share of the parent's basis the new shares take
    time: time | None = None

    @property
    def event_id(self) -> str:
        return self.action_id

    @property
    def trade_id(self) -> str:  # dispositions name the event that made them
        return self.action_id


class ActionError(ValueError):
    """The action's own fields are inconsistent (checked before anything is applied)."""


def check(action: CorporateAction) -> None:
    """Raise ActionError when the fields the kind needs are missing or out of range."""
    kind = action.kind

    def need(name: str, value: object) -> None:
        if value is None or value == "":
            raise ActionError(f"{kind}: {name} is required")

    if kind in (ActionKind.SPLIT, ActionKind.STOCK_MERGER, ActionKind.SPINOFF):
        need("ratio", action.ratio)
        assert action.ratio is not None
        if action.ratio <= 0:
            raise ActionError(f"{kind}: ratio must be positive, got {action.ratio}")
    if kind in (ActionKind.SYMBOL_CHANGE, ActionKind.STOCK_MERGER, ActionKind.SPINOFF):
        need("new_symbol", action.new_symbol)
        if action.new_symbol == action.symbol:
            raise ActionError(f"{kind}: new_symbol must differ from symbol")
    if kind in (ActionKind.CASH_MERGER, ActionKind.RETURN_OF_CAPITAL):
        need("cash_per_share", action.cash_per_share)
    if action.cash_per_share is not None and action.cash_per_share < 0:
        raise ActionError(f"{kind}: cash_per_share must not be negative")
    if kind is ActionKind.SPINOFF:
        need("basis_fraction", action.basis_fraction)
        assert action.basis_fraction is not None
        if not ZERO <= action.basis_fraction <= 1:
            raise ActionError(f"spinoff: basis_fraction must be between 0 and 1, got {action.basis_fraction}")


def split_lot(lot: Lot, ratio: Decimal) -> Lot:
    return replace(lot, quantity=q(lot.quantity * ratio))


def rename_lot(lot: Lot, symbol: str) -> Lot:
    return replace(lot, symbol=symbol)


def merge_lot(lot: Lot, ratio: Decimal, symbol: str) -> Lot:
    """Tax-free reorganization: the same basis and holding period in the new company's shares."""
    return replace(lot, symbol=symbol, quantity=q(lot.quantity * ratio))


def spin_off(lot: Lot, ratio: Decimal, symbol: str, fraction: Decimal, seq: int) -> tuple[Lot, Lot]:
    """(the parent lot with its remaining basis, the spun-off lot carrying the parent's dates)."""
    cost = q(lot.cost * fraction)
    adjustment = q(lot.adjustment * fraction)
    loss_basis = None if lot.loss_basis is None else q(lot.loss_basis * fraction)
    child_id = f"{lot.lot_id}>{symbol}"
    child = replace(lot, lot_id=child_id, purchase_id=child_id, parent_id=lot.lot_id, symbol=symbol,
                    quantity=q(lot.quantity * ratio), cost=cost, adjustment=adjustment, seq=seq,
                    origin=Origin.SPINOFF, loss_basis=loss_basis)
    parent = replace(lot, cost=lot.cost - cost, adjustment=lot.adjustment - adjustment,
                     loss_basis=None if lot.loss_basis is None else lot.loss_basis - (loss_basis or ZERO))
    return parent, child


def return_capital(lot: Lot, per_share: Decimal) -> tuple[Lot, Decimal]:
    """(the lot with its basis reduced, the excess over its basis: a capital gain)."""
    cash = q(lot.quantity * per_share)
    reduce = min(cash, max(lot.basis, ZERO))
    from_cost = min(reduce, max(lot.cost, ZERO))
    from_adjustment = reduce - from_cost
    loss_basis = None if lot.loss_basis is None else max(lot.loss_basis - cash, ZERO)
    return (replace(lot, cost=lot.cost - from_cost, adjustment=lot.adjustment - from_adjustment,
                    loss_basis=loss_basis), cash - reduce)


def worthless_date(day: date) -> date:
    """§165(g): a security that becomes worthless is treated as sold on the last day of the tax year."""
    return date(day.year, 12, 31)
