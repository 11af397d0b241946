"""The fake TWS's book: paper accounts, instruments, orders and executions. No sockets here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

FillMode = Literal["immediate", "manual", "reject"]
OPEN_STATES = ("PreSubmitted", "Submitted", "PendingCancel")


@dataclass
class Instrument:
    symbol: str
    con_id: int
    primary_exchange: str = "ARCA"
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    history: dict[date, Decimal] = field(default_factory=dict)


@dataclass
class PaperAccount:
    code: str
    cash: Decimal
    positions: dict[str, list[Decimal]] = field(default_factory=dict)  # symbol -> [quantity, average cost]
    account_type: str = "INDIVIDUAL"


@dataclass
class FakeOrder:
    order_id: int  # the client's order id
    client_id: int
    perm_id: int
    account: str
    symbol: str
    action: str  # BUY / SELL
    quantity: Decimal
    order_type: str
    tif: str
    order_ref: str
    exchange: str = "SMART"
    lmt_price: str = ""
    status: str = "Submitted"
    filled: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    reason: str = ""
    completed_time: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


@dataclass(frozen=True)
class FakeExecution:
    exec_id: str
    order: FakeOrder
    time: datetime
    shares: Decimal
    price: Decimal
    commission: Decimal
    cum_qty: Decimal
    avg_price: Decimal


@dataclass(frozen=True)
class ReceivedOrder:
    """One placeOrder message as it arrived (kept even when rejected): assert exactly-once with these."""

    client_id: int
    order_id: int
    account: str
    symbol: str
    action: str
    quantity: Decimal
    order_type: str
    tif: str
    order_ref: str
    what_if: bool


class PaperBook:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.accounts: dict[str, PaperAccount] = {}
        self.instruments: dict[str, Instrument] = {}
        self.orders: list[FakeOrder] = []
        self.executions: list[FakeExecution] = []
        self.received: list[ReceivedOrder] = []
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.commission_per_share = Decimal("0.005")
        self.commission_min = Decimal("1.00")
        self._next_perm = 900_000_001

    # -- set-up -----------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = Instrument(symbol, 756_000 + len(self.instruments))
        return inst

    def known(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def add_account(self, code: str, cash: Decimal, positions: dict[str, tuple[Decimal, Decimal]], kind: str) -> None:
        acct = self.accounts[code] = PaperAccount(code, cash, account_type=kind)
        for symbol, (qty, cost) in positions.items():
            self.instrument(symbol)
            acct.positions[symbol] = [qty, cost]

    def next_perm_id(self) -> int:
        self._next_perm += 1
        return self._next_perm

    # -- reads --------------------------------------------------------------------------------------
    def mark(self, symbol: str) -> Decimal:
        inst = self.instrument(symbol)
        if inst.last is not None:
            return inst.last
        return max(inst.history.items())[1] if inst.history else Decimal(0)

    def equity(self, code: str) -> Decimal:
        acct = self.accounts[code]
        return acct.cash + sum((q * self.mark(s) for s, (q, _) in acct.positions.items()), Decimal(0))

    def account_values(self, code: str) -> list[tuple[str, object, str]]:
        acct = self.accounts[code]
        gross = self.equity(code) - acct.cash
        return [
            ("AccountCode", code, ""),
            ("AccountType", acct.account_type, ""),
            ("TotalCashValue", acct.cash, "USD"),
            ("CashBalance", acct.cash, "USD"),
            ("NetLiquidation", self.equity(code), "USD"),
            ("GrossPositionValue", gross, "USD"),
            ("AvailableFunds", acct.cash, "USD"),
            ("BuyingPower", acct.cash, "USD"),
        ]

    def find_order(self, client_id: int, order_id: int) -> FakeOrder | None:
        return next((o for o in self.orders if o.client_id == client_id and o.order_id == order_id), None)

    def by_ref(self, order_ref: str) -> FakeOrder:
        matches = [o for o in self.orders if o.order_ref == order_ref]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} orders with orderRef {order_ref!r}")
        return matches[0]

    # -- orders ---------------------------------------------------------------------------------------
    def check(self, order: FakeOrder) -> str | None:
        """Why IB would reject this order, or None."""
        if order.account not in self.accounts:
            return f"Order rejected - reason:Account {order.account} is not managed by this login"
        if order.quantity <= 0:
            return "Order rejected - reason:The order size must be positive"
        price = self.fill_price(order)
        if price is None:
            return f"Order rejected - reason:No market data for {order.symbol}"
        acct = self.accounts[order.account]
        if order.action == "BUY" and order.quantity * price + self.commission(order.quantity, price) > acct.cash:
            return "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. INSUFFICIENT CASH"
        held = acct.positions.get(order.symbol, [Decimal(0)])[0]
        if order.action == "SELL" and order.quantity > held:
            return "Order rejected - reason:Short sale is not permitted in this account"
        return None

    def fill_price(self, order: FakeOrder) -> Decimal | None:
        inst = self.known(order.symbol)
        if inst is None or inst.last is None:
            return None
        side = inst.ask if order.action == "BUY" else inst.bid
        return side if side is not None else inst.last

    def commission(self, qty: Decimal, price: Decimal) -> Decimal:
        fee = max(self.commission_min, qty * self.commission_per_share)
        return min(fee, (qty * price / 100).quantize(Decimal("0.01"))).quantize(Decimal("0.0001"))

    def execute(self, order: FakeOrder, qty: Decimal, price: Decimal) -> FakeExecution:
        acct = self.accounts[order.account]
        fee = self.commission(qty, price)
        pos = acct.positions.setdefault(order.symbol, [Decimal(0), Decimal(0)])
        if order.action == "BUY":
            acct.cash -= qty * price + fee
            pos[1] = (pos[0] * pos[1] + qty * price + fee) / (pos[0] + qty)
            pos[0] += qty
        else:
            acct.cash += qty * price - fee
            pos[0] -= qty
            if pos[0] == 0:
                del acct.positions[order.symbol]
        order.avg_price = (order.avg_price * order.filled + qty * price) / (order.filled + qty)
        order.filled += qty
        if order.filled == order.quantity:
            order.status = "Filled"
            order.completed_time = self.clock().strftime("%Y%m%d %H:%M:%S UTC")
        ex = FakeExecution(
            exec_id=f"0000e0d5.{order.perm_id:08x}.01.{len(self.executions) + 1:02d}",
            order=order, time=self.clock(), shares=qty, price=price, commission=fee,
            cum_qty=order.filled, avg_price=order.avg_price,
        )  # fmt: skip
        self.executions.append(ex)
        return ex

    def close(self, order: FakeOrder, status: str, reason: str = "") -> None:
        order.status = status
        order.reason = reason
        order.completed_time = self.clock().strftime("%Y%m%d %H:%M:%S UTC")
