"""The one broker protocol. Every adapter implements it with these types; no SDK type crosses it.

An adapter serves one broker connection, which may hold several of our accounts: every call names our
account id, and the adapter maps it to the broker's own account (IB account code, Alpaca key pair).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable


class BrokerError(Exception):
    """A broker call failed. `transient` errors (timeouts, 5xx, 429) may be retried; others may not."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.status = status


class DuplicateOrder(BrokerError):
    """The broker already has an order with this client order id: look it up, never send it again."""


class OrderSide(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(enum.StrEnum):
    DAY = "day"
    CLOSE = "cls"  # market on close


class OrderStatus(enum.StrEnum):
    NEW = "new"  # accepted by the broker, not filled yet
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


@dataclass(frozen=True, slots=True)
class Capabilities:
    fractional: bool = False  # fractional-share quantities
    notional: bool = False  # orders sized in dollars
    specific_lots: bool = False  # a sell can name the lots it relieves
    market_on_close: bool = False


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    account: str
    cash: Decimal
    equity: Decimal
    trading_blocked: bool = False
    paper: bool = True  # the broker's own paper/live setting


@dataclass(frozen=True, slots=True)
class Position:
    account: str
    symbol: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str  # the broker's execution id: the key for idempotent sync
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    time: datetime  # timezone-aware
    fees: Decimal = Decimal(0)
    broker_order_id: str | None = None
    client_order_id: str | None = None
    lot_id: str | None = None  # the lot a specific-lot sell relieved, where the broker says


class ActivityKind(enum.StrEnum):
    """What a non-trade activity does to the account's shares (the ledger's corporate actions and transfers)."""

    SPLIT = "split"  # ratio = new shares per old (4 for 4:1, 0.1 for 1:10)
    SYMBOL_CHANGE = "symbol_change"  # new_symbol
    CASH_MERGER = "cash_merger"  # cash_per_share
    STOCK_MERGER = "stock_merger"  # ratio, new_symbol, optional cash_per_share (boot)
    SPINOFF = "spinoff"  # ratio, new_symbol, basis_fraction (Form 8937)
    RETURN_OF_CAPITAL = "return_of_capital"  # cash_per_share
    WORTHLESS = "worthless"
    TRANSFER_IN = "transfer_in"  # quantity, acquired and basis where the broker knows them
    TRANSFER_OUT = "transfer_out"  # quantity
    UNMAPPED = "unmapped"  # the adapter could not tell what it does: `problem` says why


@dataclass(frozen=True, slots=True)
class Activity:
    """A non-trade account activity (corporate action, securities transfer), or one the adapter could not map.

    A corporate action that the broker reports as several activities (old symbol out, new symbol in) is one
    Activity: `activity_id` joins the broker's ids with "+", and `raw` keeps every item as the broker sent it
    (plain JSON values), so that nothing is lost when it has to be put aside.
    """

    activity_id: str
    account: str
    kind: ActivityKind
    day: date  # effective date, exchange time zone
    symbol: str | None
    broker_type: str  # the broker's own code(s): "SPLIT", "NC+SC", "CorporateAction FS"
    raw: tuple[dict[str, object], ...] = ()
    ratio: Decimal | None = None
    new_symbol: str | None = None
    cash_per_share: Decimal | None = None
    basis_fraction: Decimal | None = None
    quantity: Decimal | None = None  # transfers: shares in or out
    price: Decimal | None = None  # transfers: value per share where given
    acquired: date | None = None  # transfers in: the original acquisition date
    basis: Decimal | None = None  # transfers in: the total basis the shares carry
    time: datetime | None = None
    problem: str | None = None  # UNMAPPED: why, and what the user can do


@dataclass(frozen=True, slots=True)
class FillPage:
    fills: tuple[Fill, ...]
    cursor: str | None  # pass back to get the fills (and activities) after these
    # Non-trade activities after the cursor (corporate actions, transfers), where the broker reports them.
    activities: tuple[Activity, ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    last: Decimal | None
    bid: Decimal | None = None
    ask: Decimal | None = None
    day: date | None = None


@dataclass(frozen=True, slots=True)
class MarketClock:
    now: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal | None = None
    notional: Decimal | None = None  # dollars, for buys where the broker takes notional orders
    time_in_force: TimeInForce = TimeInForce.DAY
    lot_ids: tuple[str, ...] = ()  # specific-lot sells, where the broker can

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError("an order has either a quantity or a notional, not both")


@dataclass(frozen=True, slots=True)
class OrderState:
    client_order_id: str
    account: str
    symbol: str
    side: OrderSide
    status: OrderStatus
    broker_order_id: str | None = None
    quantity: Decimal | None = None
    notional: Decimal | None = None
    filled_quantity: Decimal = Decimal(0)
    filled_avg_price: Decimal | None = None
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    reason: str | None = None  # why rejected/canceled, as the broker said
    fills: tuple[Fill, ...] = field(default=())


@runtime_checkable
class Broker(Protocol):
    """What the daemon needs from a broker. Implementations: brokers.paper, brokers.alpaca, brokers.ibkr."""

    name: str
    capabilities: Capabilities

    def account(self, account: str) -> AccountSnapshot: ...

    def positions(self, account: str) -> list[Position]: ...

    def fills(self, account: str, cursor: str | None = None) -> FillPage: ...
    # Optional: `reread(account, raw) -> FillPage` maps activities kept in the quarantine (their `raw` items)
    # again, for `tlh sync --retry`; adapters whose activities are never unmapped need not have it.

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]: ...

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]: ...

    def clock(self) -> MarketClock: ...

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal: ...
    # The broker's commission on buying `quantity` shares at `price`, estimated before the order (never below
    # what it will charge; 0 where it charges none): the service sizes a buy of all the cash so that the
    # shares and this fit, since a cash account's broker refuses a buy whose commission the cash lacks.

    def submit(self, order: OrderRequest) -> OrderState: ...

    def order(self, account: str, client_order_id: str) -> OrderState | None: ...

    def cancel(self, account: str, client_order_id: str) -> None: ...

    def open_orders(self, account: str) -> list[OrderState]: ...

    def close(self) -> None: ...
