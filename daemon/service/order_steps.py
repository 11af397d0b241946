"""The steps every order of an execution shares: a pair, a reinvestment and a purchase alike.

Its outcome (`PairOutcome`), the alert it raises, the broker of its account, whether its intent is still
pending, the pause check made after planning, the submit of a claimed intent, the check of a fill against the
plan's quote (a fill too far off pauses the account), and the sizing of a buy of so many dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal

import structlog
from sqlalchemy.engine import Engine

from brokers.protocol import Broker, BrokerError, OrderRequest, OrderSide, OrderState
from daemon.config.models import Settings
from daemon.service import orders, pause
from daemon.service.orders import PENDING, Policy
from daemon.store.db import transaction
from daemon.store.models import Alert, OrderIntent

log = structlog.get_logger("daemon.service.execute")


@dataclass
class PairOutcome:
    pair_id: str
    sell: OrderState | None
    buy: OrderState | None
    note: str = ""
    kind: str = "pair"  # "pair" (a harvest or swap back), or "purchase" (new money: a buy without a sale)


def _alert(engine: Engine, run_id: str, kind: str, severity: str, message: str, account: str | None) -> None:
    with transaction(engine) as session:
        session.add(Alert(created_at=datetime.now(UTC), run_id=run_id, kind=kind, severity=severity,
                          household_id=None, account_id=account, message=message, data={}))
    log.info(f"alert.{kind}", run_id=run_id, account=account, message=message)


def _buy(cid: str, account: str, symbol: str, price: Decimal, notional: Decimal, broker: Broker,
         planned: tuple[Decimal, Decimal | None] | None = None, cash: Decimal | None = None) -> OrderRequest | None:
    """A buy of `notional` dollars: a notional order where the broker takes them, else the shares it buys
    (fractional or whole, as the broker allows). None when that is nothing.

    `planned`: the plan's (notional, shares) of this buy. The engine sized those shares at the ask, so the
    shares are sized at the plan's price per share (notional / shares), not at `price` (the last): at the
    last they would cost more than the dollars at the ask (a cash account's broker refuses the buy, a margin
    account lends the difference) and could be more than the plan's shares. When the dollars cover the whole
    plan, the shares are the plan's own (no division's rounding between the plan and the order).

    `cash`: the account's cash now, which must also pay the broker's commission (`Broker.commission`). The
    dollars are the shares' (the engine counts `commission_usd` apart), so a buy within them can still lack
    its commission when it spends all the cash (a harvest's replacement bought with the whole sale, new money):
    with `commission_usd` left at 0, IB refused such a buy for INSUFFICIENT CASH. So the shares are cut to
    what the cash covers with their commission; a broker charging nothing gets exactly what it got before."""
    notional = notional.quantize(Decimal("0.01"), ROUND_DOWN)
    if notional < 1:
        return None
    if broker.capabilities.notional:
        if cash is not None:
            notional = _notional_within(notional, price, cash, broker)
            if notional < 1:
                return None
        return OrderRequest(cid, account, symbol, OrderSide.BUY, notional=notional)
    step = Decimal("1e-9") if broker.capabilities.fractional else Decimal(1)
    plan_notional, plan_shares = planned or (Decimal(0), None)
    if plan_shares is not None and plan_shares > 0 and plan_notional > 0:
        price = max(price, plan_notional / plan_shares)
        if notional >= plan_notional.quantize(Decimal("0.01"), ROUND_DOWN):
            quantity = plan_shares.quantize(step, ROUND_DOWN)
        else:
            quantity = (notional / price).quantize(step, ROUND_DOWN)
    else:
        quantity = (notional / price).quantize(step, ROUND_DOWN) if price > 0 else Decimal(0)
    if quantity > 0 and cash is not None:
        quantity = _shares_within(quantity, price, cash, step, broker)
    if quantity <= 0:
        return None
    return OrderRequest(cid, account, symbol, OrderSide.BUY, quantity=quantity)


def _shares_within(quantity: Decimal, price: Decimal, cash: Decimal, step: Decimal, broker: Broker) -> Decimal:
    """The most shares, at most `quantity` and in multiples of `step`, whose cost at `price` and the broker's
    commission on them the cash covers. Unchanged where the commission is nothing (the dollars already kept the
    shares within the cash, to the plan's cent) or where the cash covers it."""
    fee = broker.commission(quantity, price)
    if fee <= 0 or quantity * price + fee <= cash:
        return quantity
    # A commission grows with the shares (per share, a minimum, a maximum), so the cost does: bisect on the
    # count of steps (at most ~60 rounds for fractions of 1e-9) rather than guess at the rule's kinks.
    lo, hi = 0, int(quantity / step)  # lo's shares fit (none cost nothing); hi's do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        shares = mid * step
        if shares * price + broker.commission(shares, price) <= cash:
            lo = mid
        else:
            hi = mid
    return lo * step


def _notional_within(notional: Decimal, price: Decimal, cash: Decimal, broker: Broker) -> Decimal:
    """A dollar order's notional with room for the commission on the shares it buys at `price`, in the cash."""
    fee = broker.commission(notional / price, price) if price > 0 else Decimal(0)
    if fee <= 0 or notional + fee <= cash:
        return notional
    # The commission on fewer dollars is no more than on these, so the smaller notional fits with its own.
    return min(notional, cash - fee).quantize(Decimal("0.01"), ROUND_DOWN)


def _broker(settings: Settings, brokers: Mapping[str, Broker], account_id: str) -> Broker:
    account = settings.account(account_id)
    if account is None or account.broker not in brokers:
        raise BrokerError(f"no broker for account {account_id!r}")
    return brokers[account.broker]


def _pending(engine: Engine, cid: str) -> bool:
    with transaction(engine) as session:
        intent = session.get(OrderIntent, cid)
        return intent is not None and intent.status == PENDING


def _paused(engine: Engine, account: str, as_of: date, cids: list[str]) -> str | None:
    """The pause check of every new order (a pair, a reinvestment, a purchase), made after planning (paused by
    hand, or by an earlier fill): None when the account may trade. Paused: the work is skipped only if nobody
    has begun it (`orders.skip_unsent`); an intent already claimed or at the broker (a second execution of the
    plan, a resume) keeps its state and stays tracked. Returns the outcome's note."""
    with transaction(engine) as session:
        stopped = pause.is_paused(session, account, as_of)
    if stopped is None:
        return None
    if not orders.skip_unsent(engine, cids, stopped.describe()):
        return "already sent by another run: a pause stops only what has not been sent"
    log.warning("order.skipped_paused", client_order_id=cids[0], account=account, pause=stopped.describe())
    return f"account paused: {stopped.reason}"


def _check_fill(engine: Engine, settings: Settings, run_id: str, household: str, account: str, leg: str,
                symbol: str, quote: Decimal | None, state: OrderState) -> bool:
    price = state.filled_avg_price
    if quote is None or quote <= 0 or price is None or state.filled_quantity <= 0:
        return False
    deviation = abs(price / quote - 1)
    limit = settings.harvest.max_fill_deviation_pct
    if deviation <= limit:
        return False
    reason = (f"{leg} of {state.filled_quantity.normalize():f} {symbol} ({state.client_order_id}) filled at "
              f"{price} against the plan's quote {quote}: {deviation * 100:.1f} % off, above "
              f"max_fill_deviation_pct {limit * 100:.0f} %")
    with transaction(engine) as session:
        if not any(x.kind == pause.FILL_DEVIATION and x.run_id == run_id and state.client_order_id in x.reason
                   for x in pause.unresolved(session)):
            pause.pause(session, account=account, reason=reason, kind=pause.FILL_DEVIATION, by="daemon",
                        run_id=run_id)
            session.add(Alert(created_at=datetime.now(UTC), run_id=run_id, kind="fill_deviation",
                              severity="error", household_id=household, account_id=account,
                              message=f"{account}: {reason}; the fill is booked, and harvesting in {account} "
                                      f"is paused until `tlh resume --account {account}`",
                              data={"client_order_id": state.client_order_id, "quote": str(quote),
                                    "fill_price": str(price), "deviation": f"{deviation:.6f}"}))
    log.error("order.fill_deviation", account=account, client_order_id=state.client_order_id,
              price=str(price), quote=str(quote))
    return True


def _send(engine: Engine, broker: Broker, request: OrderRequest, policy: Policy) -> OrderState:
    """Submit a claimed intent; without an answer from the broker it is pending again (for resume)."""
    try:
        return orders.submit_once(engine, broker, request, policy)
    except BaseException:
        orders.unclaim(engine, request.client_order_id)
        raise
