"""Accounts, positions, fills and orders over ib_async, on the IbSession's thread.

Orders carry our client order id in `orderRef` and the IB account code in `account`; lookups search the
session's trades (ib_async loads open and completed orders at connect) after a round trip to TWS, so any
status pushed before it has been applied.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import structlog
from ib_async import IB, CommissionReport, ExecutionFilter, Trade
from ib_async import util as ib_util

from brokers.ibkr import parsing
from brokers.ibkr.data import Contracts
from brokers.ibkr.session import IbSession, wait_until
from brokers.protocol import AccountSnapshot, BrokerError, DuplicateOrder, FillPage, OrderRequest, OrderState, Position

log = structlog.get_logger(__name__)

UNACKNOWLEDGED = ("PendingSubmit", "ApiPending")


class IbkrExecution:
    def __init__(self, session: IbSession, contracts: Contracts):
        self._session = session
        self._contracts = contracts
        self._rejections: dict[str, str] = {}  # client order id -> reason; IB forgets it after a reconnect

    # -- accounts ------------------------------------------------------------------------------------------
    def account(self, account: str) -> AccountSnapshot:
        code = self._session.code(account)

        def read(ib: IB) -> AccountSnapshot:
            _refresh_account_values(ib, code, self._session.timeout)
            values: dict[str, str] = {}
            for v in ib.accountValues(code):
                if v.modelCode == "" and (v.currency == "USD" or (v.currency == "BASE" and v.tag not in values)):
                    values[v.tag] = v.value
            try:
                cash, equity = Decimal(values["TotalCashValue"]), Decimal(values["NetLiquidation"])
            except (KeyError, InvalidOperation):
                missing = f"ibkr account: no TotalCashValue/NetLiquidation for {code}"
                raise BrokerError(missing, transient=True) from None
            # IB paper-trading account codes start with "D" (DU1234567): the broker's own paper/live setting.
            return AccountSnapshot(account=account, cash=cash, equity=equity, paper=code.startswith("D"))

        return self._session.call("account", read)

    def positions(self, account: str) -> list[Position]:
        code = self._session.code(account)

        def read(ib: IB) -> list[Position]:
            ib.reqPositions()  # a round trip: every update TWS pushed before it has been applied
            return [Position(account, p.contract.symbol, parsing.quantity(p.position))
                    for p in ib.positions(code) if p.contract.secType == "STK" and p.position]

        return self._session.call("positions", read)

    def fills(self, account: str, cursor: str | None = None) -> FillPage:
        """Recent executions (TWS keeps about a day; history comes from the Flex report), oldest first."""
        code = self._session.code(account)
        after = parsing.decode_cursor(cursor) if cursor else None

        def read(ib: IB) -> FillPage:
            raw = ib.reqExecutions(ExecutionFilter(acctCode=code))
            reports = _reports(ib)
            got = {f.execution.execId: parsing.fill(f, account, reports.get(f.execution.execId)) for f in raw}
            new = sorted((f for f in got.values() if parsing.after(f, after)), key=lambda f: (f.time, f.fill_id))
            if not new:
                return FillPage((), cursor)
            latest = new[-1].time
            seen = {f.fill_id for f in new if f.time == latest}
            if after is not None and after[0] == latest:
                seen |= after[1]
            return FillPage(tuple(new), parsing.encode_cursor(latest, seen))

        return self._session.call("fills", read)

    # -- orders ----------------------------------------------------------------------------------------------
    def submit(self, request: OrderRequest) -> OrderState:
        code = self._session.code(request.account)
        order = parsing.ib_order(request, code)
        cid = request.client_order_id

        def place(ib: IB) -> OrderState:
            if self._find(ib, code, cid, refresh=True) is not None:
                raise DuplicateOrder(f"ibkr submit: an order with client order id {cid} already exists in {code}")
            contract = self._contracts.one(ib, request.symbol)
            trade = ib.placeOrder(contract, order)
            log.info("order.submitted", broker="ibkr", account=request.account, client_order_id=cid,
                     symbol=request.symbol, side=request.side.value, quantity=str(request.quantity),
                     order_type=order.orderType)
            try:
                wait_until(ib, lambda: trade.orderStatus.status not in UNACKNOWLEDGED, self._session.timeout)
            except ConnectionError:
                raise BrokerError(f"ibkr submit: connection lost after sending order {cid}: it may have reached "
                                  "IB; look it up by client order id before sending it again", transient=True) from None
            return self._state(ib, trade, request.account)

        return self._session.call("submit", place)

    def order(self, account: str, client_order_id: str) -> OrderState | None:
        code = self._session.code(account)

        def read(ib: IB) -> OrderState | None:
            trade = self._find(ib, code, client_order_id, refresh=True)
            return None if trade is None else self._state(ib, trade, account)

        return self._session.call("order", read)

    def cancel(self, account: str, client_order_id: str) -> None:
        code = self._session.code(account)

        def cancel(ib: IB) -> None:
            trade = self._find(ib, code, client_order_id, refresh=True)
            if trade is None:
                raise BrokerError(f"ibkr cancel: no order {client_order_id} in {code}")
            if trade.isDone():
                return
            ib.cancelOrder(trade.order)
            log.info("order.cancel_requested", broker="ibkr", account=account, client_order_id=client_order_id)
            if not wait_until(ib, trade.isDone, self._session.timeout):
                raise BrokerError(f"ibkr cancel: {client_order_id} not confirmed canceled within "
                                  f"{self._session.timeout:g} s", transient=True)

        self._session.call("cancel", cancel)

    def open_orders(self, account: str) -> list[OrderState]:
        code = self._session.code(account)

        def read(ib: IB) -> list[OrderState]:
            ib.reqAllOpenOrders()
            return [self._state(ib, t, account) for t in ib.openTrades() if t.order.account == code]

        return self._session.call("open orders", read)

    # -- helpers ----------------------------------------------------------------------------------------------
    def _find(self, ib: IB, code: str, client_order_id: str, refresh: bool = False) -> Trade | None:
        def match() -> Trade | None:
            found = [t for t in ib.trades() if t.order.orderRef == client_order_id and t.order.account == code]
            # this session's own trade (it has an order id and a log) over a completed-orders copy
            return max(found, key=lambda t: (t.order.orderId != 0, len(t.log), t.order.permId), default=None)

        if refresh:
            ib.reqAllOpenOrders()  # every client's, in case the client id changed
        trade = match()
        if trade is None and refresh:
            ib.reqCompletedOrders(apiOnly=False)
            trade = match()
        return trade

    def _state(self, ib: IB, trade: Trade, account: str) -> OrderState:
        cid = trade.order.orderRef
        reason = parsing.rejection(trade)
        if reason and cid:
            self._rejections[cid] = reason
        return parsing.order_state(trade, account, _reports(ib), self._rejections.get(cid))


def _reports(ib: IB) -> dict[str, CommissionReport]:
    return {f.execution.execId: f.commissionReport for f in ib.fills()}


def _refresh_account_values(ib: IB, code: str, timeout: float) -> None:
    """A fresh reqAccountUpdatesMulti for one account, cancelled once answered (no standing subscription: IB's
    blocking IB.reqAccountUpdatesMulti leaves one open per call). ib_async's client methods are untyped."""
    client = ib.client
    req_id = client.getReqId()
    answered = ib.wrapper.startReq(req_id)  # type: ignore[no-untyped-call]
    client.reqAccountUpdatesMulti(req_id, code, "", False)  # type: ignore[no-untyped-call]
    try:
        ib_util.run(answered, timeout=timeout)
    finally:
        if client.isConnected():  # type: ignore[no-untyped-call]
            client.cancelAccountUpdatesMulti(req_id)  # type: ignore[no-untyped-call]
