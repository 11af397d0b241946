"""The single-buy paths of an execution: reinvestments and new-money purchases, each one buy without a sale.

A reinvestment (`ReinvestOrder`) buys an earlier harvest's idle cash (`source`: the buy that never filled); a
purchase (`PurchaseOrder`) buys new money for an underweight stock (direct index) or asset class (`targets`).
Each is one intent (`tlh-<run>-<id>-buy`), persisted before anything is sent (`save_reinvestments`,
`save_purchases`, through one shared `_save_buys`) and claimed before the network call; neither ever spends
more than the account's cash read right before the buy; a pause stops it as it stops a pair. `execute` runs
them and `resume` settles them; both stay importable from `daemon.service.execute`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from brokers.protocol import Broker, BrokerError, OrderRequest, OrderState
from daemon.config.models import Settings
from daemon.service import orders
from daemon.service.idle import REINVESTS
from daemon.service.order_steps import PairOutcome, _alert, _broker, _buy, _check_fill, _paused, _pending, _send
from daemon.service.orders import PENDING, Policy, client_order_id, fault_point
from daemon.service.sync import SyncReport, pull_fills
from daemon.store.db import transaction
from daemon.store.models import OrderIntent

log = structlog.get_logger("daemon.service.execute")


def _save_buys(engine: Engine, buys: Iterable[tuple[str, str, str, str, str, Decimal, list[str]]]) -> None:
    """One buy intent per (client order id, run, item id, account, symbol, notional, lots), before anything is
    sent; an intent another process saved first (two runs executing one plan) is left as it is."""
    now = datetime.now(UTC)
    with transaction(engine) as session:
        for cid, run_id, item_id, account, symbol, notional, lots in buys:
            if session.get(OrderIntent, cid) is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(OrderIntent(client_order_id=cid, run_id=run_id, pair_id=item_id,
                                            leg="buy", account_id=account, symbol=symbol, side="buy",
                                            quantity=None, notional=notional, lots=lots, status=PENDING,
                                            filled_quantity=Decimal(0), created_at=now, updated_at=now))
            except IntegrityError:
                log.info("order.intent_exists", client_order_id=cid)


def _planned(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a stored plan gives every single buy (a reinvestment, a purchase) alike."""
    return {"household": item["household"], "account": item["account"], "symbol": item["symbol"],
            "price": Decimal(item["price"]), "notional": Decimal(item["notional"]),
            "quantity": Decimal(item["quantity_estimate"]) if item.get("quantity_estimate") else None}


@dataclass(frozen=True)
class ReinvestOrder:
    """A plan's reinvestment: a buy of an earlier harvest's idle cash (`source`: the buy that never filled)."""

    run_id: str
    as_of: date
    reinvestment_id: str
    household: str
    account: str
    symbol: str
    price: Decimal
    notional: Decimal
    source: str
    quantity: Decimal | None = None  # the plan's shares (its `quantity_estimate`), sized at the ask

    @classmethod
    def from_plan(cls, run_id: str, as_of: date, plan: Mapping[str, Any]) -> list[ReinvestOrder]:
        return [cls(run_id=run_id, as_of=as_of, reinvestment_id=r["reinvestment_id"], source=r["source"],
                    **_planned(r))
                for r in plan.get("reinvestments", [])]

    @property
    def cid(self) -> str:
        return client_order_id(self.run_id, self.reinvestment_id, "buy")


def save_reinvestments(engine: Engine, items: list[ReinvestOrder]) -> None:
    _save_buys(engine, ((r.cid, r.run_id, r.reinvestment_id, r.account, r.symbol, r.notional,
                         [f"{REINVESTS}{r.source}"]) for r in items))


def run_reinvestment(engine: Engine, settings: Settings, r: ReinvestOrder, brokers: Mapping[str, Broker],
                     policy: Policy) -> PairOutcome:
    """Buy with the idle cash, never beyond the account's cash now; a pause stops it like a pair."""
    broker = _broker(settings, brokers, r.account)
    if not _pending(engine, r.cid):  # placed (or being placed) by another run: nothing to do
        return PairOutcome(r.reinvestment_id, None, None, "another run placed this buy")
    if (note := _paused(engine, r.account, r.as_of, [r.cid])) is not None:
        return PairOutcome(r.reinvestment_id, None, None, note)
    try:
        cash = broker.account(r.account).cash
    except BrokerError as exc:  # fail closed: no buy without the cash read now; the next run plans it again
        why = f"its cash could not be read ({exc})"
        if not orders.skip_unsent(engine, [r.cid], why):
            return PairOutcome(r.reinvestment_id, None, None, "another run placed this buy")
        _alert(engine, r.run_id, "uninvested_cash", "error",
               f"{r.reinvestment_id}: ${r.notional:,.2f} of {r.symbol} not bought in {r.account}: {why}; the idle "
               f"cash of {r.source} stays uninvested until the next run", r.account)
        return PairOutcome(r.reinvestment_id, None, None, why)
    request = _buy_within(r, cash, broker)
    if request is None:
        if not orders.skip_unsent(engine, [r.cid], f"nothing to buy with (cash {cash:.2f})"):
            return PairOutcome(r.reinvestment_id, None, None, "another run placed this buy")
        return PairOutcome(r.reinvestment_id, None, None, "no cash to reinvest")
    if not orders.claim(engine, r.cid):
        return PairOutcome(r.reinvestment_id, None, None, "another run is placing this buy")
    buy = _send(engine, broker, request, policy)
    fault_point(policy, "after_reinvest_submit")
    buy = orders.wait_final(engine, broker, r.account, buy, policy)
    _check_fill(engine, settings, r.run_id, r.household, r.account, "buy", r.symbol, r.price, buy)
    _reinvest_alert(engine, r, buy)
    pull_fills(engine, settings, brokers, SyncReport(), r.run_id)
    return PairOutcome(r.reinvestment_id, None, buy)


def _reinvest_alert(engine: Engine, r: ReinvestOrder, buy: OrderState) -> None:
    if buy.filled_quantity > 0:
        _alert(engine, r.run_id, "orders_filled", "info",
               f"{r.reinvestment_id}: bought {buy.filled_quantity.normalize():f} {r.symbol} at "
               f"{buy.filled_avg_price} in {r.account} with the idle cash of {r.source}", r.account)
    else:  # loud even when still open at the broker (its cancel failed): the next start adopts it
        _alert(engine, r.run_id, "order_failed", "error",
               f"{r.reinvestment_id}: buy of {r.symbol} in {r.account} {buy.status.value}"
               f"{': ' + buy.reason if buy.reason else ''}; the idle cash of {r.source} stays uninvested until "
               f"the next run", r.account)


NEW_MONEY = "new_money"  # a purchase intent's `lots`: a buy of new money, with no sale behind it


@dataclass(frozen=True)
class PurchaseOrder:
    """A plan's purchase: new money for an underweight stock (direct index) or asset class (`targets`)."""

    run_id: str
    as_of: date
    purchase_id: str
    household: str
    account: str
    symbol: str
    price: Decimal
    notional: Decimal
    quantity: Decimal | None = None  # the plan's shares (its `quantity_estimate`), sized at the ask

    @classmethod
    def from_plan(cls, run_id: str, as_of: date, plan: Mapping[str, Any]) -> list[PurchaseOrder]:
        return [cls(run_id=run_id, as_of=as_of, purchase_id=b["purchase_id"], **_planned(b))
                for b in plan.get("purchases", [])]

    @property
    def cid(self) -> str:
        return client_order_id(self.run_id, self.purchase_id, "buy")


def save_purchases(engine: Engine, items: list[PurchaseOrder]) -> None:
    """One intent per purchase, before anything is sent; one another process saved first is left as it is."""
    _save_buys(engine, ((b.cid, b.run_id, b.purchase_id, b.account, b.symbol, b.notional, [NEW_MONEY])
                        for b in items))


def _not_bought(engine: Engine, b: PurchaseOrder, severity: str, why: str) -> PairOutcome:
    # Only a purchase nobody has taken: one placed (or being placed) by another process keeps its state.
    if not orders.skip_unsent(engine, [b.cid], why):
        return PairOutcome(b.purchase_id, None, None, "another run placed this buy", "purchase")
    _alert(engine, b.run_id, "purchase_skipped", severity,
           f"{b.purchase_id}: ${b.notional:,.2f} of {b.symbol} not bought in {b.account}: {why}; the new money "
           f"stays in cash until the next run", b.account)
    return PairOutcome(b.purchase_id, None, None, why, "purchase")


def _buy_within(item: ReinvestOrder | PurchaseOrder, cash: Decimal, broker: Broker) -> OrderRequest | None:
    """The buy of a single buy's dollars, never beyond the account's cash with the broker's commission (shares
    at the plan's ask: `_buy`)."""
    left = max(cash, Decimal(0))
    return _buy(item.cid, item.account, item.symbol, item.price, min(item.notional, left), broker,
                (item.notional, item.quantity), left)


def run_purchase(engine: Engine, settings: Settings, b: PurchaseOrder, brokers: Mapping[str, Broker],
                 policy: Policy, unavailable: Mapping[str, str] | None = None) -> PairOutcome:
    """Buy the new money, never beyond the account's cash read right now; fail closed: an account not read
    in this run, or whose cash cannot be read now, buys nothing. A pause stops it as it stops a pair."""
    if not _pending(engine, b.cid):  # carried out (or being carried out) by another run: nothing to do
        return PairOutcome(b.purchase_id, None, None, "another run placed this buy", "purchase")
    if unavailable and b.account in unavailable:
        return _not_bought(engine, b, "error", f"its broker could not be read in this run ({unavailable[b.account]})")
    broker = _broker(settings, brokers, b.account)
    if (note := _paused(engine, b.account, b.as_of, [b.cid])) is not None:
        return PairOutcome(b.purchase_id, None, None, note, "purchase")
    if getattr(broker, "stopping", False):  # the daemon is shutting down: a purchase is a new order, not begun
        return _not_bought(engine, b, "warning", "the daemon is stopping")
    try:
        cash = broker.account(b.account).cash
    except BrokerError as exc:
        return _not_bought(engine, b, "error", f"its cash could not be read ({exc})")
    request = _buy_within(b, cash, broker)
    if request is None:
        return _not_bought(engine, b, "warning", f"the account's cash is ${cash:,.2f}")
    if not orders.claim(engine, b.cid):
        return PairOutcome(b.purchase_id, None, None, "another run is placing this buy", "purchase")
    buy = _send(engine, broker, request, policy)
    fault_point(policy, "after_purchase_submit")
    buy = orders.wait_final(engine, broker, b.account, buy, policy)
    _check_fill(engine, settings, b.run_id, b.household, b.account, "buy", b.symbol, b.price, buy)
    _purchase_alert(engine, b, buy)
    pull_fills(engine, settings, brokers, SyncReport(), b.run_id)
    return PairOutcome(b.purchase_id, None, buy, "new money", "purchase")


def _purchase_alert(engine: Engine, b: PurchaseOrder, buy: OrderState) -> None:
    if buy.filled_quantity > 0:
        _alert(engine, b.run_id, "orders_filled", "info",
               f"{b.purchase_id}: bought {buy.filled_quantity.normalize():f} {b.symbol} at {buy.filled_avg_price} "
               f"in {b.account} with new money", b.account)
    elif buy.status.final:
        _alert(engine, b.run_id, "order_failed", "error",
               f"{b.purchase_id}: buy of {b.symbol} in {b.account} {buy.status.value}"
               f"{': ' + buy.reason if buy.reason else ''}; the new money stays in cash until the next run",
               b.account)
