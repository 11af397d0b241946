"""Order intents and their submission: persisted before anything is sent, submitted at most once.

An intent's client order id is derived from the run and the pair (`tlh-<run>-<pair>-sell`), so whatever
fails in between, the broker can always be asked about it by that id. Transient errors are retried with
backoff, and before every retry the broker is asked whether the previous attempt arrived after all.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from brokers.protocol import Broker, BrokerError, DuplicateOrder, OrderRequest, OrderState, OrderStatus
from daemon import logs
from daemon.store.db import transaction
from daemon.store.models import Order, OrderIntent

log = logs.get_logger(__name__)  # structlog loaded when it logs

# Intent states beyond the broker's own: not sent yet, given up, not needed; and "submitting": claimed by
# one process (compare-and-set from pending) before any network call, so two runs never send it twice.
PENDING, ABANDONED, SKIPPED, SUBMITTED = "pending", "abandoned", "skipped", "submitted"
SUBMITTING = "submitting"
FINAL = {s.value for s in OrderStatus if s.final} | {ABANDONED, SKIPPED}


def client_order_id(run_id: str, pair_id: str, leg: str) -> str:
    return f"tlh-{run_id}-{pair_id}-{leg}"


@dataclass
class Policy:
    fill_timeout: float = 120.0  # seconds to wait for a fill before canceling
    poll_interval: float = 1.0
    retries: int = 5
    backoff: float = 0.5  # first retry delay; doubles
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    faults: set[str] = field(default_factory=lambda: set(filter(None, os.environ.get("TLH_FAULT", "").split(","))))


def fault_point(policy: Policy, name: str) -> None:
    """Crash here, for real, when asked to (TLH_FAULT=name): the fault-injection tests restart the process
    and check that nothing was lost or sent twice."""
    if name in policy.faults:
        log.warning("fault.injected", point=name)
        os.kill(os.getpid(), signal.SIGKILL)


def update_intent(engine: Engine, cid: str, state: OrderState | None = None, *, status: str | None = None,
                  error: str | None = None) -> None:
    now = datetime.now(UTC)
    with transaction(engine) as session:
        intent = session.get(OrderIntent, cid)
        assert intent is not None, cid
        if state is not None:
            intent.status = state.status.value
            intent.broker_order_id = state.broker_order_id
            intent.filled_quantity = state.filled_quantity
            intent.filled_avg_price = state.filled_avg_price
            if state.reason and state.status in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.EXPIRED):
                intent.error = state.reason
            if state.broker_order_id:
                row = session.query(Order).filter_by(client_order_id=cid,
                                                     broker_order_id=state.broker_order_id).one_or_none()
                if row is None:
                    row = Order(client_order_id=cid, broker_order_id=state.broker_order_id,
                                submitted_at=state.submitted_at or now, quantity=Decimal(0),
                                filled_quantity=Decimal(0), status=state.status.value, updated_at=now)
                    session.add(row)
                row.status = state.status.value
                row.quantity = state.quantity if state.quantity is not None else state.filled_quantity
                row.filled_quantity, row.filled_avg_price = state.filled_quantity, state.filled_avg_price
                row.updated_at = state.updated_at or now
        if status is not None:
            intent.status = status
        if error is not None:
            intent.error = error
        intent.updated_at = now


def _compare_and_set(engine: Engine, cid: str, old: str, new: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(sa.update(OrderIntent).where(OrderIntent.client_order_id == cid,
                                                           OrderIntent.status == old)
                              .values(status=new, updated_at=datetime.now(UTC)))
        return result.rowcount == 1


def claim(engine: Engine, cid: str) -> bool:
    """Take the intent for sending (pending -> submitting), atomically on SQLite and PostgreSQL: True for
    exactly one caller; anyone else must not send it (another run is, or did)."""
    won = _compare_and_set(engine, cid, PENDING, SUBMITTING)
    if not won:
        log.info("order.claimed_elsewhere", client_order_id=cid)
    return won


def skip_unsent(engine: Engine, cids: list[str], why: str) -> bool:
    """Skip work nobody has begun: `cids[0]` (the intent that starts it: a pair's sell, a buy of its own) and
    the rest with it, each only from pending (compare-and-set, one transaction). An intent claimed by another
    process, at the broker or settled keeps its state and stays tracked (resume adopts it). True when the
    work was skipped; False when it had begun, and nothing was changed."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for i, cid in enumerate(cids):
            done = conn.execute(sa.update(OrderIntent).where(OrderIntent.client_order_id == cid,
                                                             OrderIntent.status == PENDING)
                                .values(status=SKIPPED, error=why, updated_at=now)).rowcount
            if i == 0 and done != 1:
                return False
    return True


def unclaim(engine: Engine, cid: str) -> None:
    """The claimed intent did not get a state from the broker (refused, or retries exhausted): pending
    again, as before the claim, so resume settles it with the broker."""
    _compare_and_set(engine, cid, SUBMITTING, PENDING)


def lookup(broker: Broker, account: str, cid: str, policy: Policy) -> OrderState | None:
    for attempt in range(policy.retries):
        try:
            return broker.order(account, cid)
        except BrokerError as exc:
            if not exc.transient or attempt == policy.retries - 1:
                raise
            policy.sleep(policy.backoff * 2**attempt)
    return None


def submit_once(engine: Engine, broker: Broker, request: OrderRequest, policy: Policy) -> OrderState:
    """Send `request` unless the broker already has it; retry transient failures without duplicating."""
    cid = request.client_order_id
    for attempt in range(policy.retries):
        if attempt > 0:
            found = lookup(broker, request.account, cid, policy)
            if found is not None:
                log.info("order.adopted", client_order_id=cid, status=found.status.value)
                update_intent(engine, cid, found)
                return found
        try:
            state = broker.submit(request)
        except DuplicateOrder:
            found = lookup(broker, request.account, cid, policy)
            if found is None:
                raise BrokerError(f"{cid}: the broker reports a duplicate but cannot find it") from None
            update_intent(engine, cid, found)
            return found
        except BrokerError as exc:
            if not exc.transient or attempt == policy.retries - 1:
                update_intent(engine, cid, error=str(exc))
                raise
            log.warning("order.retry", client_order_id=cid, attempt=attempt + 1, error=str(exc))
            policy.sleep(policy.backoff * 2**attempt)
            continue
        log.info("order.submitted", client_order_id=cid, broker_order_id=state.broker_order_id,
                 status=state.status.value)
        update_intent(engine, cid, state)
        return state
    raise BrokerError(f"{cid}: not submitted after {policy.retries} attempts")


def wait_final(engine: Engine, broker: Broker, account: str, state: OrderState, policy: Policy) -> OrderState:
    """Poll until the order is final or the fill timeout passes; then cancel what is left and read it back."""
    deadline = policy.monotonic() + policy.fill_timeout
    cid = state.client_order_id
    while not state.status.final and policy.monotonic() < deadline:
        policy.sleep(policy.poll_interval)
        found = lookup(broker, account, cid, policy)
        if found is not None:
            state = found
            update_intent(engine, cid, state)
    if not state.status.final:
        log.warning("order.timeout", client_order_id=cid, filled=str(state.filled_quantity))
        try:
            broker.cancel(account, cid)
        except BrokerError as exc:
            log.warning("order.cancel_failed", client_order_id=cid, error=str(exc))
        found = lookup(broker, account, cid, policy)
        if found is not None:
            state = found
        update_intent(engine, cid, state)
    return state
