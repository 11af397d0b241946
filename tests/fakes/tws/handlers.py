"""The fake TWS's request handlers: one method per client message id, replies per tests.fakes.tws.wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.fakes.tws import wire
from tests.fakes.tws.state import FakeExecution, FakeOrder, Instrument, ReceivedOrder

if TYPE_CHECKING:
    from tests.fakes.tws.server import Conn, FakeTws

NEW_YORK = ZoneInfo(wire.TZ_NAME)
NO_DEFINITION = "No security definition has been found for the request"
NO_HISTORY = "Historical Market Data Service error message:HMDS query returned no data"
DURATION_DAYS = {"S": 0, "D": 1, "W": 7, "M": 31, "Y": 366}


class Handlers:
    def __init__(self, tws: FakeTws) -> None:
        self.tws = tws
        self.book = tws.book
        self.table: dict[int, Callable[[Conn, list[str]], None]] = {
            71: self.start_api, 61: self.req_positions, 64: self.cancel_positions, 5: self.req_open_orders,
            16: self.req_all_open_orders, 99: self.req_completed_orders, 6: self.req_account_updates,
            76: self.req_account_updates_multi, 77: self.cancel_account_updates_multi, 7: self.req_executions,
            9: self.req_contract_details, 3: self.place_order, 4: self.cancel_order, 1: self.req_mkt_data,
            20: self.req_historical_data, 49: self.req_current_time, 8: self.req_ids,
        }  # fmt: skip
        self.ignored = {2, 15, 25, 59, 62, 63}  # cancelMktData, autoOpenOrders, cancelHistorical, dataType...

    def dispatch(self, conn: Conn, msg_id: int, fields: list[str]) -> None:
        handler = self.table.get(msg_id)
        if handler is not None:
            handler(conn, fields)
        elif msg_id not in self.ignored:
            raise NotImplementedError(f"message {msg_id} is not supported by the fake TWS")

    # -- session ---------------------------------------------------------------------------------------
    def start_api(self, conn: Conn, f: list[str]) -> None:
        client_id = int(f[2])
        if any(c.alive and c.client_id == client_id for c in self.tws.conns if c is not conn):
            conn.send(wire.error(-1, 326, "Unable to connect as the client id is already in use."))
            conn.close()
            return
        conn.client_id = client_id
        conn.send(wire.frame(9, 1, self._next_order_id(client_id)), wire.frame(15, 1, ",".join(self.book.accounts)))

    def req_ids(self, conn: Conn, f: list[str]) -> None:
        conn.send(wire.frame(9, 1, self._next_order_id(conn.client_id)))

    def req_current_time(self, conn: Conn, f: list[str]) -> None:
        conn.send(wire.frame(49, 1, int(self.book.clock().timestamp())))

    def _next_order_id(self, client_id: int) -> int:
        return max((o.order_id for o in self.book.orders if o.client_id == client_id), default=0) + 1

    # -- positions and accounts ----------------------------------------------------------------------------
    def req_positions(self, conn: Conn, f: list[str]) -> None:
        conn.positions = True
        rows = [
            wire.position(code, self.book.instrument(s), q, c)
            for code, acct in self.book.accounts.items()
            for s, (q, c) in acct.positions.items()
        ]
        conn.send(*rows, wire.frame(62, 1))

    def cancel_positions(self, conn: Conn, f: list[str]) -> None:
        conn.positions = False

    def req_account_updates(self, conn: Conn, f: list[str]) -> None:
        subscribe, code = f[2] == "1", f[3]
        if not subscribe:
            conn.account_updates.discard(code)
            return
        conn.account_updates.add(code)
        conn.send(*self._account_frames(code, None), wire.frame(8, 1, "12:00"), wire.frame(54, 1, code))

    def req_account_updates_multi(self, conn: Conn, f: list[str]) -> None:
        req_id, code = int(f[2]), f[3]
        conn.multi[req_id] = code
        codes = list(self.book.accounts) if code in ("", "All") else [code]
        rows = [frame for c in codes if c in self.book.accounts for frame in self._account_frames(c, req_id)]
        conn.send(*rows, wire.frame(74, 1, req_id))

    def cancel_account_updates_multi(self, conn: Conn, f: list[str]) -> None:
        conn.multi.pop(int(f[2]), None)

    def _account_frames(self, code: str, multi_req: int | None) -> list[bytes]:
        values = self.book.account_values(code)
        if multi_req is not None:
            return [wire.account_update_multi(multi_req, code, t, v, cur) for t, v, cur in values]
        acct = self.book.accounts[code]
        book = self.book
        held = acct.positions.items()
        portfolio = [wire.portfolio(code, book.instrument(s), q, book.mark(s), c) for s, (q, c) in held]
        return [wire.account_value(code, t, v, cur) for t, v, cur in values] + portfolio

    def push_account(self, code: str, symbol: str) -> None:
        """After a fill: standing subscriptions hear about the new position and balances."""
        inst = self.book.instrument(symbol)
        qty, cost = self.book.accounts[code].positions.get(symbol, [Decimal(0), Decimal(0)])
        for conn in self.tws.conns:
            frames = [wire.position(code, inst, qty, cost)] if conn.positions else []
            if code in conn.account_updates:
                frames += self._account_frames(code, None)
                frames.append(wire.portfolio(code, inst, qty, self.book.mark(symbol), cost))
            for req_id, sub in conn.multi.items():
                if sub in ("", "All", code):
                    frames += self._account_frames(code, req_id)
            if frames:
                conn.send(*frames)

    # -- orders -------------------------------------------------------------------------------------------
    def req_open_orders(self, conn: Conn, f: list[str], everyone: bool = False) -> None:
        mine = [o for o in self.book.orders if o.is_open and (everyone or o.client_id in (conn.client_id, 0))]
        frames = [fr for o in mine for fr in (wire.open_order(o, self._inst(o)), wire.order_status(o))]
        conn.send(*frames, wire.frame(53, 1))

    def req_all_open_orders(self, conn: Conn, f: list[str]) -> None:
        self.req_open_orders(conn, f, everyone=True)

    def req_completed_orders(self, conn: Conn, f: list[str]) -> None:
        done = [wire.completed_order(o, self._inst(o)) for o in self.book.orders if not o.is_open]
        conn.send(*done, wire.frame(102))

    def place_order(self, conn: Conn, f: list[str]) -> None:
        p = {name: f[i] if i < len(f) else "" for name, i in wire.PLACE.items()}
        order_id = int(p["order_id"])
        rec = ReceivedOrder(
            conn.client_id, order_id, p["account"], p["symbol"], p["action"], Decimal(p["quantity"] or 0),
            p["order_type"], p["tif"], p["order_ref"], p["what_if"] == "1",
        )  # fmt: skip
        self.book.received.append(rec)
        inst = self._lookup(int(p["con_id"] or 0), p["symbol"], p["sec_type"])
        if self.book.find_order(conn.client_id, order_id) is not None:
            conn.send(wire.error(order_id, 103, "Duplicate order id"))
            return
        if inst is None or rec.what_if:
            conn.send(wire.error(order_id, 200, NO_DEFINITION if inst is None else "what-if is not supported"))
            return
        order = FakeOrder(
            order_id, conn.client_id, self.book.next_perm_id(), rec.account, inst.symbol, rec.action, rec.quantity,
            rec.order_type, rec.tif, rec.order_ref, p["exchange"] or "SMART", p["lmt_price"],
        )  # fmt: skip
        self.book.orders.append(order)
        reason = self.book.check(order) or (self.tws.reject_reason if self.tws.fill_mode == "reject" else None)
        if reason:
            self.book.close(order, "Inactive", reason)
            conn.send(wire.error(order_id, 201, reason))
            return
        conn.send(wire.open_order(order, inst), wire.order_status(order))
        price = self.book.fill_price(order)
        if self.tws.fill_mode == "immediate" and price is not None:
            self.fill(order, order.quantity, price)

    def fill(self, order: FakeOrder, qty: Decimal, price: Decimal) -> FakeExecution:
        ex = self.book.execute(order, qty, price)
        inst = self._inst(order)
        owner = self._owner(order)
        if owner is not None:
            owner.send(
                wire.exec_details(-1, ex, inst), wire.order_status(order, price), wire.open_order(order, inst),
                wire.commission_report(ex),
            )  # fmt: skip
        self.push_account(order.account, order.symbol)
        return ex

    def cancel_order(self, conn: Conn, f: list[str]) -> None:
        order_id = int(f[2])
        order = self.book.find_order(conn.client_id, order_id)
        if order is None:
            conn.send(wire.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."))
        elif not order.is_open:
            msg = f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {order.status}."
            conn.send(wire.error(order_id, 10148, msg))
        else:
            self.book.close(order, "Cancelled", "Cancelled by the API")
            conn.send(wire.order_status(order), wire.error(order_id, 202, "Order Canceled - reason:"))

    def req_executions(self, conn: Conn, f: list[str]) -> None:
        req_id, client_id, code, symbol, side = int(f[2]), int(f[3] or 0), f[4], f[6], f[9]
        frames: list[bytes] = []
        for ex in self.book.executions:
            o = ex.order
            if (client_id and o.client_id != client_id) or (code and o.account != code):
                continue
            if (symbol and o.symbol != symbol) or (side and o.action != side):
                continue
            frames += [wire.exec_details(req_id, ex, self._inst(o)), wire.commission_report(ex)]
        conn.send(*frames, wire.frame(55, 1, req_id))

    def _owner(self, order: FakeOrder) -> Conn | None:
        return next((c for c in self.tws.conns if c.alive and c.client_id == order.client_id), None)

    def _inst(self, order: FakeOrder) -> Instrument:
        return self.book.instrument(order.symbol)

    # -- contracts and market data --------------------------------------------------------------------------
    def _lookup(self, con_id: int, symbol: str, sec_type: str) -> Instrument | None:
        if sec_type not in ("", "STK"):
            return None
        if con_id:
            return next((i for i in self.book.instruments.values() if i.con_id == con_id), None)
        return self.book.known(symbol)

    def req_contract_details(self, conn: Conn, f: list[str]) -> None:
        req_id = int(f[2])
        inst = self._lookup(int(f[3] or 0), f[4], f[5])
        if inst is None:
            conn.send(wire.error(req_id, 200, NO_DEFINITION))
        else:
            conn.send(wire.contract_details(req_id, inst), wire.frame(52, 1, req_id))

    def req_mkt_data(self, conn: Conn, f: list[str]) -> None:
        req_id = int(f[2])
        inst = self._lookup(int(f[3] or 0), f[4], f[5])
        if inst is None or inst.last is None:
            conn.send(wire.error(req_id, 200, NO_DEFINITION))
            return
        ticks = [(1, inst.bid), (2, inst.ask), (4, inst.last)]
        frames = [wire.tick_price(req_id, t, p, 100) for t, p in ticks if p is not None]
        snapshot = f[17] == "1"
        conn.send(*frames, *([wire.frame(57, 1, req_id)] if snapshot else []))

    def req_historical_data(self, conn: Conn, f: list[str]) -> None:
        req_id = int(f[1])
        inst = self._lookup(int(f[2] or 0), f[3], f[4])
        end = self._end_date(f[15])
        number, unit = f[17].split()
        start = end - timedelta(days=int(number) * DURATION_DAYS[unit])
        bars = sorted((d, c) for d, c in (inst.history.items() if inst else ()) if start < d <= end)
        if not bars:
            conn.send(wire.error(req_id, 162, NO_HISTORY))
            return
        conn.send(wire.historical_data(req_id, start.strftime("%Y%m%d"), end.strftime("%Y%m%d"), bars))

    def _end_date(self, text: str) -> date:
        """endDateTime: "" (now), "yyyymmdd hh:mm:ss[ zone]" (exchange time unless zoned), "yyyymmdd-hh:mm:ss" (UTC)."""
        if not text:
            return self.book.clock().astimezone(NEW_YORK).date()
        if "-" in text:
            moment = datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
        else:
            day, clock_time, *zone = text.split(" ")
            tz = ZoneInfo(zone[0]) if zone else NEW_YORK
            moment = datetime.strptime(day + clock_time, "%Y%m%d%H:%M:%S").replace(tzinfo=tz)
        return moment.astimezone(NEW_YORK).date()
