"""Carrying out a harvest plan's pairs: sell, wait for the fill, buy the replacement for what was sold.

For each pair: both intents are persisted first; the sell is submitted; the buy is sized from the sell's
actual fill (a partial fill buys for what was filled) and never beyond the account's cash; a sell that
does not fill means no buy; a rejected buy leaves cash and raises an alert (the next run plans again).
The fills go into the ledger and the sold group's do-not-buy-until restrictions are recorded at once.
On start-up (`resume`), every intent without a final state is settled with the broker before anything new
is sent.

New money (the plan's `purchases`: a direct index's underweight stocks, a book of ETFs' underweight asset
classes) is bought after the pairs, through the same machinery:
one intent per purchase (`tlh-<run>-<purchase>-buy`, its `lots` marked `new_money`) persisted before
anything is sent and claimed before the network call; an account whose broker was not read in this run, or
whose cash cannot be read right before the buy, buys nothing (an error alert); a purchase never spends more
than the account's cash at that moment.

A pause made after planning stops pairs, reinvestments and purchases alike, and only what nobody has begun:
an intent claimed or already at the broker (the plan carried out a second time, or resumed) keeps its
state, stays tracked, and a restart adopts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from brokers.protocol import Broker, BrokerError, OrderRequest, OrderSide, OrderState, TimeInForce
from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.ledger.restrictions import WINDOW_END
from daemon.service import orders
from daemon.service.order_steps import PairOutcome, _alert, _broker, _buy, _check_fill, _paused, _pending, _send
from daemon.service.orders import ABANDONED, PENDING, SKIPPED, SUBMITTING, Policy, client_order_id, fault_point
from daemon.service.purchases import (
    NEW_MONEY,
    PurchaseOrder,
    ReinvestOrder,
    _purchase_alert,
    _reinvest_alert,
    run_purchase,
    run_reinvestment,
    save_purchases,
    save_reinvestments,
)
from daemon.service.sync import SyncReport, pull_fills
from daemon.store.db import transaction
from daemon.store.models import HarvestRun, OrderIntent
from daemon.store.models import Restriction as RestrictionRow

__all__ = ["NEW_MONEY", "PairOrder", "PairOutcome", "PurchaseOrder", "ReinvestOrder", "execute", "resume",
           "run_pair", "run_purchase", "run_reinvestment", "save_intents", "save_purchases", "save_reinvestments"]

log = structlog.get_logger(__name__)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PairOrder:
    """What execution needs of a plan's pair, read back from the run's stored plan (fresh or on restart)."""

    run_id: str
    as_of: date
    pair_id: str
    household: str
    account: str
    sell_symbol: str
    sell_quantity: Decimal
    lot_ids: tuple[str, ...]
    buy_symbol: str
    buy_price: Decimal
    buy_notional: Decimal
    sell_price: Decimal | None = None  # the quote the plan sold at (plans stored before it: None)
    buy_quantity: Decimal | None = None  # the plan's shares to buy (`buy_quantity_estimate`), sized at the ask
    # Each sold lot's (shares, estimated gain at `sell_price`); None for plans stored before lot_sales.
    lot_gains: tuple[tuple[Decimal, Decimal], ...] | None = None

    @classmethod
    def from_plan(cls, run_id: str, as_of: date, plan: Mapping[str, Any]) -> list[PairOrder]:
        return [cls(run_id=run_id, as_of=as_of, pair_id=p["pair_id"], household=p["household"],
                    account=p["account"], sell_symbol=p["sell_symbol"], sell_quantity=Decimal(p["sell_quantity"]),
                    lot_ids=tuple(p["lots"]), buy_symbol=p["buy_symbol"], buy_price=Decimal(p["buy_price"]),
                    buy_notional=Decimal(p["buy_notional"]),
                    sell_price=Decimal(p["sell_price"]) if p.get("sell_price") else None,
                    buy_quantity=Decimal(p["buy_quantity_estimate"]) if p.get("buy_quantity_estimate") else None,
                    lot_gains=tuple((Decimal(s["quantity"]), Decimal(s["gain"])) for s in p["lot_sales"])
                    if "lot_sales" in p else None)
                for p in plan.get("pairs", [])]

    def cid(self, leg: str) -> str:
        return client_order_id(self.run_id, self.pair_id, leg)

    def may_have_lost(self, price: Decimal | None) -> bool:
        """Whether a sale filled at `price` may have realized a loss on a lot: each lot's planned gain moved
        by the fill's difference from the plan's price. Unknown (an old plan, no price) counts as a loss."""
        if self.lot_gains is None or self.sell_price is None or price is None:
            return True
        # The planned gains are in cents: a lot within a cent of even is taken as a loss.
        return any(gain + quantity * (price - self.sell_price) < CENT for quantity, gain in self.lot_gains)




def save_intents(engine: Engine, pairs: list[PairOrder]) -> None:
    """Persist both legs of every pair before anything is sent; an intent another process saved first (two
    runs executing one plan) is left as it is."""
    now = datetime.now(UTC)
    with transaction(engine) as session:
        for p in pairs:
            for leg, symbol, qty, notional, lots in (("sell", p.sell_symbol, p.sell_quantity, None, list(p.lot_ids)),
                                                     ("buy", p.buy_symbol, None, p.buy_notional, None)):
                if session.get(OrderIntent, p.cid(leg)) is not None:
                    continue
                try:
                    with session.begin_nested():
                        session.add(OrderIntent(client_order_id=p.cid(leg), run_id=p.run_id, pair_id=p.pair_id,
                                                leg=leg, account_id=p.account, symbol=symbol, side=leg, quantity=qty,
                                                notional=notional, lots=lots, status=PENDING,
                                                filled_quantity=Decimal(0), created_at=now, updated_at=now))
                except IntegrityError:
                    log.info("order.intent_exists", client_order_id=p.cid(leg))


def record_restrictions(engine: Engine, settings: Settings, p: PairOrder, sell: OrderState) -> None:
    """The sold identical group may not be bought in the household for 30 days after a sale that realized a
    loss (the wash-sale window). A sale at a gain restricts nothing, as in the engine's own plan: a swap back
    at a gain leaves its stand-in free to be another harvest's replacement."""
    if not p.may_have_lost(sell.filled_avg_price):
        return
    now, until = datetime.now(UTC), p.as_of + WINDOW_END
    sale = f"{p.sell_symbol} sold {p.as_of} in {p.account} ({p.run_id} {p.pair_id})"
    with transaction(engine) as session:
        for symbol in sorted(identical_groups(settings).members(p.sell_symbol)):
            exists = session.scalar(sa.select(RestrictionRow.id).where(
                RestrictionRow.household_id == p.household, RestrictionRow.symbol == symbol,
                RestrictionRow.sale_date == p.as_of, RestrictionRow.account_id == p.account))
            if exists is None:
                session.add(RestrictionRow(household_id=p.household, symbol=symbol, until=until, sale=sale,
                                           sale_date=p.as_of, account_id=p.account, run_id=p.run_id, created_at=now))


def buy_request(p: PairOrder, sell: OrderState, broker: Broker, cash: Decimal) -> OrderRequest | None:
    """Size the buy from what the sell actually raised: the planned notional scaled by the filled fraction,
    never more than the account's cash, which also pays the buy's commission (`_buy`)."""
    fraction = sell.filled_quantity / p.sell_quantity if p.sell_quantity else Decimal(0)
    notional = min((p.buy_notional * fraction).quantize(Decimal("0.01"), ROUND_DOWN), max(cash, Decimal(0)))
    return _buy(p.cid("buy"), p.account, p.buy_symbol, p.buy_price, notional, broker,
                (p.buy_notional, p.buy_quantity), max(cash, Decimal(0)))



def run_pair(engine: Engine, settings: Settings, p: PairOrder, brokers: Mapping[str, Broker],
             policy: Policy) -> PairOutcome:
    broker = _broker(settings, brokers, p.account)
    if not _pending(engine, p.cid("sell")):  # begun (or carried out) by another run: nothing to do
        return PairOutcome(p.pair_id, None, None, "another run is carrying out this pair")
    if (note := _paused(engine, p.account, p.as_of, [p.cid("sell"), p.cid("buy")])) is not None:
        return PairOutcome(p.pair_id, None, None, note)
    lots = p.lot_ids if broker.capabilities.specific_lots else ()
    request = OrderRequest(p.cid("sell"), p.account, p.sell_symbol, OrderSide.SELL, quantity=p.sell_quantity,
                           time_in_force=TimeInForce.DAY, lot_ids=lots)
    if not orders.claim(engine, p.cid("sell")):
        return PairOutcome(p.pair_id, None, None, "another run is carrying out this pair")
    sell = _send(engine, broker, request, policy)
    fault_point(policy, "after_sell_submit")
    return finish_pair(engine, settings, p, brokers, policy, sell)



def check_fill(engine: Engine, settings: Settings, p: PairOrder, leg: str, state: OrderState) -> bool:
    """A fill further from the plan's quote than `max_fill_deviation_pct` is booked (it happened) but is an
    error alert, and the account's harvesting pauses until someone looks (`tlh resume`). True when it was."""
    quote = p.sell_price if leg == "sell" else p.buy_price
    symbol = p.sell_symbol if leg == "sell" else p.buy_symbol
    return _check_fill(engine, settings, p.run_id, p.household, p.account, leg, symbol, quote, state)




def finish_pair(engine: Engine, settings: Settings, p: PairOrder, brokers: Mapping[str, Broker], policy: Policy,
                sell: OrderState) -> PairOutcome:
    broker = _broker(settings, brokers, p.account)
    sell = orders.wait_final(engine, broker, p.account, sell, policy)
    fault_point(policy, "after_sell_fill")
    check_fill(engine, settings, p, "sell", sell)
    if sell.filled_quantity <= 0:
        orders.update_intent(engine, p.cid("buy"), status=ABANDONED,
                             error=f"sell {sell.status.value}: nothing to buy for")
        _alert(engine, p.run_id, "order_failed", "warning",
               f"{p.pair_id}: sell of {p.sell_symbol} in {p.account} {sell.status.value}"
               f"{': ' + sell.reason if sell.reason else ''}; no buy placed", p.account)
        return PairOutcome(p.pair_id, sell, None, "sell not filled")
    record_restrictions(engine, settings, p, sell)
    pull_fills(engine, settings, brokers, SyncReport(), p.run_id)
    try:
        cash = broker.account(p.account).cash
    except Exception as exc:  # noqa: BLE001 - the sale happened: buy with what it raised, never leave it pending
        cash = (sell.filled_quantity * (sell.filled_avg_price or Decimal(0))).quantize(Decimal("0.01"), ROUND_DOWN)
        log.warning("order.cash_unread", pair=p.pair_id, account=p.account, error=str(exc), using=str(cash))
    request = buy_request(p, sell, broker, cash)
    if request is None:
        orders.update_intent(engine, p.cid("buy"), status=SKIPPED, error=f"nothing to buy with (cash {cash:.2f})")
        return PairOutcome(p.pair_id, sell, None, "no cash for the buy")
    if not orders.claim(engine, p.cid("buy")):
        return PairOutcome(p.pair_id, sell, None, "another run is placing this buy")
    buy = _send(engine, broker, request, policy)
    fault_point(policy, "after_buy_submit")
    buy = orders.wait_final(engine, broker, p.account, buy, policy)
    check_fill(engine, settings, p, "buy", buy)
    if buy.filled_quantity <= 0:
        _alert(engine, p.run_id, "order_failed", "error",
               f"{p.pair_id}: buy of {p.buy_symbol} in {p.account} {buy.status.value}"
               f"{': ' + buy.reason if buy.reason else ''}; the sale's cash stays uninvested until the next run "
               f"plans a replacement", p.account)
    else:
        _alert(engine, p.run_id, "orders_filled", "info",
               f"{p.pair_id}: sold {sell.filled_quantity.normalize():f} {p.sell_symbol} at {sell.filled_avg_price}, "
               f"bought {buy.filled_quantity.normalize():f} {p.buy_symbol} at {buy.filled_avg_price} in {p.account}",
               p.account)
    pull_fills(engine, settings, brokers, SyncReport(), p.run_id)
    return PairOutcome(p.pair_id, sell, buy)


def _run(engine: Engine, run_id: str) -> tuple[date, dict[str, Any]]:
    with transaction(engine) as session:
        run = session.get(HarvestRun, run_id)
        if run is None or run.plan is None:
            raise ValueError(f"no recorded plan for run {run_id}")
        return run.as_of, dict(run.plan)


def execute(engine: Engine, settings: Settings, run_id: str, brokers: Mapping[str, Broker],
            policy: Policy, unavailable: Mapping[str, str] | None = None) -> list[PairOutcome]:
    """Carry out the recorded plan of `run_id`: reinvestments, pair by pair, then the new money's purchases
    (the engine sized them from the cash left after the pairs). `unavailable`: accounts whose broker was not
    read in this run, which buy nothing."""
    as_of, plan = _run(engine, run_id)
    pairs = PairOrder.from_plan(run_id, as_of, plan)
    reinvestments = ReinvestOrder.from_plan(run_id, as_of, plan)
    purchases = PurchaseOrder.from_plan(run_id, as_of, plan)
    save_reinvestments(engine, reinvestments)
    save_intents(engine, pairs)
    save_purchases(engine, purchases)
    fault_point(policy, "after_intents")
    outcomes = []
    for r in reinvestments:  # planned first: what they buy counts as bought today
        try:
            outcomes.append(run_reinvestment(engine, settings, r, brokers, policy))
        except BrokerError as exc:
            _alert(engine, run_id, "error", "error", f"{r.reinvestment_id}: broker error: {exc}", r.account)
            outcomes.append(PairOutcome(r.reinvestment_id, None, None, f"broker error: {exc}"))
    for p in pairs:
        try:
            outcomes.append(run_pair(engine, settings, p, brokers, policy))
        except BrokerError as exc:
            _alert(engine, run_id, "error", "error", f"{p.pair_id}: broker error: {exc}", p.account)
            outcomes.append(PairOutcome(p.pair_id, None, None, f"broker error: {exc}"))
    for b in purchases:
        try:
            outcomes.append(run_purchase(engine, settings, b, brokers, policy, unavailable))
        except BrokerError as exc:
            _alert(engine, run_id, "error", "error", f"{b.purchase_id}: broker error: {exc}", b.account)
            outcomes.append(PairOutcome(b.purchase_id, None, None, f"broker error: {exc}", "purchase"))
    with transaction(engine) as session:
        run = session.get(HarvestRun, run_id)
        if run is not None:
            run.status, run.finished_at = "executed", datetime.now(UTC)
    return outcomes


def resume(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], policy: Policy, today: date) -> int:
    """Settle every intent without a final state before anything new is sent: an order the broker has is
    adopted (and a filled sell gets its buy, on the same trading day); a sell, a reinvestment or a purchase
    that never reached the broker is sent if its day is today (claimed first, as in a run); anything else is
    abandoned with an alert. Returns the intents settled."""
    with transaction(engine) as session:
        rows = session.execute(sa.select(OrderIntent.client_order_id, OrderIntent.run_id, OrderIntent.pair_id,
                                         OrderIntent.leg, OrderIntent.account_id, OrderIntent.status)
                               .where(OrderIntent.status.notin_(orders.FINAL))
                               .order_by(OrderIntent.created_at, OrderIntent.pair_id, OrderIntent.leg.desc())).all()
    settled = 0
    for cid, run_id, pair_id, leg, account_id, status in rows:
        with transaction(engine) as session:
            current = session.get(OrderIntent, cid)
            if current is None or current.status in orders.FINAL:
                continue  # settled meanwhile, by its pair's sell
        as_of, plan = _run(engine, run_id)
        p = next((x for x in PairOrder.from_plan(run_id, as_of, plan) if x.pair_id == pair_id), None)
        b = next((x for x in PurchaseOrder.from_plan(run_id, as_of, plan) if x.cid == cid), None)
        r = next((x for x in ReinvestOrder.from_plan(run_id, as_of, plan) if x.cid == cid), None)
        broker = _broker(settings, brokers, account_id)
        found = orders.lookup(broker, account_id, cid, policy)
        settled += 1
        if found is not None:
            log.info("order.resumed", client_order_id=cid, status=found.status.value)
            orders.update_intent(engine, cid, found)
            if p is not None:
                check_fill(engine, settings, p, leg, found)
            if leg == "sell" and p is not None:
                _after_sell(engine, settings, brokers, policy, today, p, found)
            elif leg == "buy" and not found.status.final:
                found = orders.wait_final(engine, broker, account_id, found, policy)
            if b is not None:
                _check_fill(engine, settings, run_id, b.household, account_id, "buy", b.symbol, b.price, found)
                _purchase_alert(engine, b, found)
            if r is not None:
                _check_fill(engine, settings, run_id, r.household, account_id, "buy", r.symbol, r.price, found)
                _reinvest_alert(engine, r, found)
            if leg == "buy":
                pull_fills(engine, settings, brokers, SyncReport(), run_id)
            continue
        if status == SUBMITTING:  # claimed, then the process died before the broker heard of it
            orders.unclaim(engine, cid)
            status = PENDING
        if leg == "sell" and status == PENDING and p is not None and as_of == today:
            log.info("order.resubmitting", client_order_id=cid)
            run_pair(engine, settings, p, brokers, policy)
            continue
        if b is not None and status == PENDING and as_of == today:  # new money of today: bought now
            log.info("order.resubmitting", client_order_id=cid)
            run_purchase(engine, settings, b, brokers, policy)
            continue
        if r is not None and status == PENDING and as_of == today:  # idle cash to reinvest today: bought now
            log.info("order.resubmitting", client_order_id=cid)
            run_reinvestment(engine, settings, r, brokers, policy)
            continue
        if leg == "buy" and p is not None and as_of == today:
            sell = orders.lookup(broker, account_id, p.cid("sell"), policy)
            if sell is not None and sell.filled_quantity > 0:
                finish_pair(engine, settings, p, brokers, policy, sell)
                continue
        orders.update_intent(engine, cid, status=ABANDONED, error="not at the broker and no longer valid")
        _alert(engine, run_id, "order_abandoned", "warning",
               f"{cid}: never reached the broker and is no longer valid (planned for {as_of}); abandoned"
               + ("; the new money stays in cash until the next run" if b is not None
                  else f"; the idle cash of {r.source} stays uninvested until the next run" if r is not None
                  else "; the sale's cash stays uninvested until the next run" if leg == "buy" else ""), account_id)
    return settled


def _after_sell(engine: Engine, settings: Settings, brokers: Mapping[str, Broker], policy: Policy, today: date,
                p: PairOrder, sell: OrderState) -> None:
    with transaction(engine) as session:
        buy = session.get(OrderIntent, p.cid("buy"))
        buy_pending = buy is not None and buy.status == PENDING
    if not buy_pending:
        return
    if p.as_of == today:
        finish_pair(engine, settings, p, brokers, policy, sell)
        return
    if sell.filled_quantity > 0:
        record_restrictions(engine, settings, p, sell)
    orders.update_intent(engine, p.cid("buy"), status=ABANDONED, error="the sell's trading day has passed")
    _alert(engine, p.run_id, "order_abandoned", "warning",
           f"{p.cid('buy')}: its sell ({sell.status.value}) was on {p.as_of}; the buy was never placed and the "
           f"cash stays uninvested until the next run", p.account)
