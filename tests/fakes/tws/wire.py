"""The TWS API wire format as ib_async 2.1.0 decodes it at server version 178.

Every frame is a 4-byte big-endian length and NUL-terminated text fields. The layouts below mirror
ib_async's `decoder.py` for SERVER_VERSION (no faProfile in orders since 177, pendingPriceRevision in
executions since 178, advancedOrderRejectJson in errors since 166, no version field in contract details
since 164). Fields we do not model are sent empty, which ib_async parses to its defaults.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fakes.tws.state import FakeExecution, FakeOrder, Instrument

SERVER_VERSION = 178  # ib_async 2.1.0 speaks 157..178
TZ_NAME = "America/New_York"

# placeOrder (message 3) field positions, found by encoding orders with ib_async's own Client and
# diffing (tests/brokers/ibkr/test_fake_wire.py keeps them honest). Valid for orders without combo legs,
# delta-neutral, scale, hedge or algo parameters: the only orders the adapter sends.
PLACE = {
    "order_id": 1, "con_id": 2, "symbol": 3, "sec_type": 4, "exchange": 9, "primary_exchange": 10,
    "currency": 11, "action": 16, "quantity": 17, "order_type": 18, "lmt_price": 19, "tif": 21,
    "account": 23, "order_ref": 26, "transmit": 27, "what_if": 84,
}  # fmt: skip
# the 12 contract fields every request carries: conId symbol secType lastTrade strike right multiplier
# exchange primaryExchange currency localSymbol tradingClass
CONTRACT_FIELDS = 12


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return str(value)


def frame(*fields: object) -> bytes:
    payload = "".join(fmt(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def recv_frame(sock: socket.socket) -> list[str]:
    (size,) = struct.unpack(">I", recv_exact(sock, 4))
    fields = recv_exact(sock, size).decode().split("\0")
    return fields[:-1] if fields and fields[-1] == "" else fields


def ib_time(t: datetime) -> str:
    """An execution time as TWS sends it: local exchange time with the zone name."""
    from zoneinfo import ZoneInfo

    return t.astimezone(ZoneInfo(TZ_NAME)).strftime("%Y%m%d %H:%M:%S ") + TZ_NAME


def contract11(inst: Instrument, exchange: str) -> list[object]:
    """conId symbol secType lastTrade strike right multiplier exchange currency localSymbol tradingClass."""
    return [inst.con_id, inst.symbol, "STK", "", 0, "", "", exchange, "USD", inst.symbol, inst.symbol]


def error(req_id: int, code: int, message: str) -> bytes:
    return frame(4, 2, req_id, code, message, "")


def position(account: str, inst: Instrument, qty: Decimal, avg_cost: Decimal) -> bytes:
    return frame(61, 3, account, *contract11(inst, ""), qty, avg_cost)


def portfolio(account: str, inst: Instrument, qty: Decimal, price: Decimal, avg_cost: Decimal) -> bytes:
    fields = [inst.con_id, inst.symbol, "STK", "", 0, "", "", inst.primary_exchange, "USD", inst.symbol, inst.symbol]
    value = qty * price
    return frame(7, 8, *fields, qty, price, value, avg_cost, value - qty * avg_cost, 0, account)


def order_status(o: FakeOrder, last_price: Decimal | None = None) -> bytes:
    return frame(
        3, o.order_id, o.status, o.filled, o.quantity - o.filled, o.avg_price, o.perm_id, 0,
        last_price if last_price is not None else o.avg_price, o.client_id, "", 0,
    )  # fmt: skip


def open_order(o: FakeOrder, inst: Instrument) -> bytes:
    head = [5, o.order_id, *contract11(inst, o.exchange)]
    head += [o.action, o.quantity, o.order_type, o.lmt_price, "", o.tif, "", o.account, "O", 0, o.order_ref]
    head += [o.client_id, o.perm_id, 0, 0, "", "", "", "", "", ""]  # ... sharesAllocation faGroup faMethod faPct
    body: list[object] = ["" for _ in range(29)]  # modelCode .. deltaNeutralAuxPrice (no delta-neutral order type)
    body += [""] * 7  # continuousUpdate .. comboLegsDescrip
    body += [0, 0, 0, "", "", "", ""]  # combo legs, order combo legs, smart params; scale x3; hedgeType
    body += ["", "", "", "", 0, ""]  # optOutSmartRouting clearingAccount clearingIntent notHeld dnc algoStrategy
    body += ["", 0, o.status] + [""] * 16  # solicited whatIf status, margins/commission/warnings, randomize
    body += [0] + [""] * 16 + [""] * 3 + [""] * 5  # conditions; adjusted..usePriceMgmtAlgo; >=159/160/162; >=170
    return frame(*head, *body)


def completed_order(o: FakeOrder, inst: Instrument) -> bytes:
    head = [101, *contract11(inst, o.exchange)]
    head += [o.action, o.quantity, o.order_type, o.lmt_price, "", o.tif, "", o.account, "O", 0, o.order_ref]
    head += [o.perm_id, 0, 0, "", "", "", "", ""]  # outsideRth hidden discretionaryAmt goodAfterTime fa x3
    body: list[object] = ["" for _ in range(28)]  # modelCode .. deltaNeutralAuxPrice (23), continuousUpdate .. (5)
    body += [0, 0, 0, "", "", "", ""]  # legs, order legs, smart params; scale x3; hedgeType
    body += ["", "", "", 0, ""]  # clearingAccount clearingIntent notHeld dncPresent algoStrategy
    body += ["", o.status, "", "", 0]  # solicited status randomizeSize randomizePrice; conditions
    body += ["", "", "", "", "", "", o.filled, "", "", "", "", "", ""]  # trailStopPrice .. parentPermId
    body += [o.completed_time, o.reason or o.status] + [""] * 5  # completedTime completedStatus; >=170
    return frame(*head, *body)


def exec_details(req_id: int, ex: FakeExecution, inst: Instrument) -> bytes:
    o = ex.order
    side = "BOT" if o.action == "BUY" else "SLD"
    return frame(
        11, req_id, o.order_id, *contract11(inst, inst.primary_exchange), ex.exec_id, ib_time(ex.time), o.account,
        inst.primary_exchange, side, ex.shares, ex.price, o.perm_id, o.client_id, 0, ex.cum_qty, ex.avg_price,
        o.order_ref, "", "", "", 1, 0,
    )  # fmt: skip


def commission_report(ex: FakeExecution) -> bytes:
    return frame(59, 1, ex.exec_id, ex.commission, "USD", "", "", "")


def account_value(account: str, tag: str, value: object, currency: str) -> bytes:
    return frame(6, 2, tag, value, currency, account)


def account_update_multi(req_id: int, account: str, tag: str, value: object, currency: str) -> bytes:
    return frame(73, 1, req_id, account, "", tag, value, currency)


def contract_details(req_id: int, inst: Instrument) -> bytes:
    return frame(
        10, req_id, inst.symbol, "STK", "", 0, "", "SMART", "USD", inst.symbol, inst.symbol, inst.symbol,
        inst.con_id, "0.01", "", "ACTIVETIM,ADJUST,ALERT,LMT,MKT,MOC,STP", f"SMART,{inst.primary_exchange}", 1, 0,
        inst.symbol, inst.primary_exchange, "", "", "", "", "US/Eastern", "", "", "", "", 0,
        1, "", "", "26", "", "ETF", "0.0001", "0.0001", "100",
    )  # fmt: skip


def tick_price(req_id: int, tick_type: int, price: Decimal, size: int) -> bytes:
    return frame(1, 6, req_id, tick_type, price, size, 0)


def historical_data(req_id: int, start: str, end: str, bars: Sequence[tuple[date, Decimal]]) -> bytes:
    fields: list[object] = [17, req_id, start, end, len(bars)]
    for day, close in bars:
        fields += [day.strftime("%Y%m%d"), close, close, close, close, 1000, close, 10]
    return frame(*fields)
