"""The fake Alpaca's state (one paper account per API key pair: orders, FILL activities) and JSON shapes.

Shapes follow Alpaca as alpaca-py 0.44 parses them: trading money and quantities as strings, market-data
prices as numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
OPEN = ("new", "accepted", "pending_new", "partially_filled", "held")  # GET /v2/orders?status=open
TIME_IN_FORCE = ("day", "gtc", "opg", "cls", "ioc", "fok")
NANO = Decimal("1e-9")
ZERO = Decimal(0)
Quotes = dict[str, tuple[Decimal, Decimal | None, Decimal | None, datetime]]  # price, bid, ask, time


class HttpError(Exception):
    """An Alpaca error response: `{"code": ..., "message": ...}` with an HTTP status."""

    def __init__(self, status: int, message: str, code: int | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or status * 100_000 + 10_000


def s(value: Decimal) -> str:
    """A decimal as Alpaca writes it: "10", "0.5234", "1000.5"."""
    return format(value.normalize(), "f") if value else "0"


def ts(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, symbol))


def _num(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class FakeOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    created_at: datetime
    status: str = "accepted"
    filled_qty: Decimal = ZERO
    filled_value: Decimal = ZERO
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None

    def leaves(self, price: Decimal) -> Decimal:
        """Shares still to fill (a notional order's at `price`)."""
        if self.qty is not None:
            return self.qty - self.filled_qty
        assert self.notional is not None
        return max(ZERO, ((self.notional - self.filled_value) / price).quantize(NANO, ROUND_DOWN))

    def json(self) -> dict[str, Any]:
        avg = (self.filled_value / self.filled_qty).quantize(Decimal("0.0001")) if self.filled_qty else None
        return {
            "id": self.id, "client_order_id": self.client_order_id, "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at or self.created_at), "submitted_at": ts(self.created_at),
            "filled_at": ts(self.filled_at), "expired_at": None, "canceled_at": ts(self.canceled_at),
            "failed_at": ts(self.failed_at), "replaced_at": None, "replaced_by": None, "replaces": None,
            "asset_id": asset_id(self.symbol), "symbol": self.symbol, "asset_class": "us_equity",
            "notional": None if self.notional is None else s(self.notional),
            "qty": None if self.qty is None else s(self.qty), "filled_qty": s(self.filled_qty),
            "filled_avg_price": None if avg is None else s(avg), "order_class": "", "order_type": "market",
            "type": "market", "side": self.side, "time_in_force": self.time_in_force, "limit_price": None,
            "stop_price": None, "status": self.status, "extended_hours": False, "legs": None,
            "trail_percent": None, "trail_price": None, "hwm": None, "expires_at": None,
            "position_intent": "buy_to_open" if self.side == "buy" else "sell_to_close",
        }


@dataclass
class FakeAccount:
    key_id: str
    secret: str
    cash: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    trading_blocked: bool = False
    account_blocked: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def by_client_id(self, client_order_id: str) -> FakeOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    def new_order(self, body: Mapping[str, Any], prices: Mapping[str, Decimal], now: datetime) -> FakeOrder:
        """Validate a POST /v2/orders body as Alpaca does (for market orders) and book the order."""
        client_order_id = str(body.get("client_order_id") or uuid.uuid4())
        if self.by_client_id(client_order_id) is not None:
            raise HttpError(422, "client_order_id must be unique", 40010001)
        symbol, side, tif = str(body.get("symbol", "")).upper(), body.get("side"), body.get("time_in_force")
        qty, notional = _num(body.get("qty")), _num(body.get("notional"))
        if (qty is None) == (notional is None):
            raise HttpError(422, "qty or notional is required, not both", 40010001)
        if (qty or notional or ZERO) <= 0:
            raise HttpError(422, "qty and notional must be > 0", 40010001)
        if side not in ("buy", "sell") or tif not in TIME_IN_FORCE or body.get("type") != "market":
            raise HttpError(422, "invalid side, time_in_force or type (the fake takes market orders)", 40010001)
        # Alpaca takes fractional quantities and notional amounts on DAY orders only.
        if (notional is not None or (qty is not None and qty % 1)) and tif != "day":
            raise HttpError(422, "fractional orders must be DAY orders", 42210000)
        if symbol not in prices:
            raise HttpError(422, f'asset "{symbol}" not found', 40010001)
        if self.trading_blocked or self.account_blocked:
            raise HttpError(403, "trading is blocked for this account", 40310000)
        price = prices[symbol]
        shares = qty if qty is not None else (notional or ZERO) / price
        if side == "buy" and shares * price > self.cash:
            raise HttpError(403, "insufficient buying power", 40310000)
        held = sum((o.leaves(price) for o in self.orders.values()
                    if o.symbol == symbol and o.side == "sell" and o.status in OPEN), ZERO)
        available = self.positions.get(symbol, ZERO) - held
        if side == "sell" and shares > available:
            raise HttpError(403, f"insufficient qty available for order (requested: {s(shares)}, "
                                 f"available: {s(available)})", 40310000)
        order = FakeOrder(str(uuid.uuid4()), client_order_id, symbol, side, str(tif), qty, notional, now)
        self.orders[order.id] = order
        return order

    def fill(self, order: FakeOrder, qty: Decimal | None, price: Decimal, now: datetime) -> None:
        """Fill `qty` (default: the rest) of an open order at `price`: cash, position, a FILL activity."""
        leaves = order.leaves(price)
        qty = leaves if qty is None else qty
        assert ZERO < qty <= leaves, f"cannot fill {qty} of order {order.id}: {leaves} left"
        value, held = qty * price, self.positions.get(order.symbol, ZERO)
        if order.side == "buy":
            self.cash -= value
            self.positions[order.symbol] = held + qty
            self.cost[order.symbol] = self.cost.get(order.symbol, ZERO) + value
        else:
            self.cash += value
            self.cost[order.symbol] -= self.cost[order.symbol] * qty / held
            self.positions[order.symbol] = held - qty
            if not self.positions[order.symbol]:
                del self.positions[order.symbol], self.cost[order.symbol]
        order.filled_qty += qty
        order.filled_value += value
        left = order.leaves(price)
        order.status, order.updated_at = ("filled" if left <= 0 else "partially_filled"), now
        order.filled_at = now if left <= 0 else None
        self.activities.append({
            "id": f"{now.astimezone(NY):%Y%m%d%H%M%S%f}"[:17] + f"::{uuid.uuid4()}", "activity_type": "FILL",
            "transaction_time": ts(now), "type": "fill" if left <= 0 else "partial_fill", "price": s(price),
            "qty": s(qty), "side": order.side, "symbol": order.symbol, "leaves_qty": s(left),
            "order_id": order.id, "cum_qty": s(order.filled_qty), "order_status": order.status})

    def non_trade(self, activity_type: str, day: date, symbol: str, qty: Decimal | None,
                  net_amount: Decimal = ZERO, **extra: Any) -> dict[str, Any]:
        """Record a non-trade activity as Alpaca reports one (`date`, signed `qty`, `net_amount`)."""
        item = {"id": f"{day:%Y%m%d}000000000::{uuid.uuid4()}", "activity_type": activity_type,
                "date": day.isoformat(), "net_amount": s(net_amount), "symbol": symbol,
                "qty": None if qty is None else s(qty), "per_share_amount": None, "status": "executed", **extra}
        self.activities.append(item)
        return item

    def _move(self, old: str, new: str, ratio: Decimal) -> tuple[Decimal, Decimal]:
        """The position in `old` becomes `ratio` times as many shares of `new`, the same cost."""
        held, cost = self.positions.pop(old), self.cost.pop(old)
        self.positions[new] = self.positions.get(new, ZERO) + held * ratio
        self.cost[new] = self.cost.get(new, ZERO) + cost
        return held, held * ratio

    def split(self, symbol: str, ratio: Decimal, day: date) -> None:
        """A split: SPLIT out of the old shares and SPLIT in of the new, the position multiplied."""
        before, after = self._move(symbol, symbol, ratio)
        self.non_trade("SPLIT", day, symbol, -before)
        self.non_trade("SPLIT", day, symbol, after)

    def rename(self, old: str, new: str, day: date, activity_type: str = "NC") -> None:
        """A name/symbol change (NC or SC): the old symbol out, the new one in, as many shares."""
        before, after = self._move(old, new, Decimal(1))
        self.non_trade(activity_type, day, old, -before)
        self.non_trade(activity_type, day, new, after)

    def merge(self, old: str, new: str, ratio: Decimal, day: date) -> None:
        """A stock-for-stock merger (MA): the old shares out, `ratio` new shares each in."""
        before, after = self._move(old, new, ratio)
        self.non_trade("MA", day, old, -before)
        self.non_trade("MA", day, new, after)

    def cancel(self, order_id: str, now: datetime) -> None:
        order = self.orders.get(order_id)
        if order is None:
            raise HttpError(404, "order not found", 40410000)
        if order.status not in OPEN:
            raise HttpError(422, "order is not cancelable", 42210000)
        order.status, order.canceled_at, order.updated_at = "canceled", now, now

    def activity_page(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        """GET /v2/account/activities: the `activity_types` asked for (default all); `direction`,
        `page_size` <= 100, `page_token` = an id."""
        wanted = {t for t in q.get("activity_types", "").split(",") if t}
        items = [a for a in self.activities if not wanted or a["activity_type"] in wanted]
        items = items if q.get("direction", "desc") == "asc" else items[::-1]
        page_size = int(q.get("page_size", 100))
        if not 1 <= page_size <= 100:
            raise HttpError(422, "page_size must be between 1 and 100", 40010001)
        if q.get("page_token"):
            ids = [a["id"] for a in items]
            if q["page_token"] not in ids:
                raise HttpError(422, "invalid page_token", 40010001)
            items = items[ids.index(q["page_token"]) + 1:]
        return items[:page_size]

    def orders_json(self, q: Mapping[str, str]) -> list[dict[str, Any]]:
        status, limit = q.get("status", "open"), int(q.get("limit", 50))
        orders = [o for o in self.orders.values() if status == "all" or (o.status in OPEN) == (status == "open")]
        orders.sort(key=lambda o: o.created_at, reverse=q.get("direction", "desc") == "desc")
        return [o.json() for o in orders[:limit]]

    def account_json(self, prices: Mapping[str, Decimal]) -> dict[str, Any]:
        long_value = sum((q * prices[sym] for sym, q in self.positions.items() if sym in prices), ZERO)
        equity = self.cash + long_value
        return {"id": self.id, "account_number": "PA" + self.id[:8].upper(), "status": "ACTIVE",
                "crypto_status": "ACTIVE", "currency": "USD", "cash": s(self.cash), "buying_power": s(self.cash),
                "non_marginable_buying_power": s(self.cash), "portfolio_value": s(equity), "equity": s(equity),
                "last_equity": s(equity), "long_market_value": s(long_value), "short_market_value": "0",
                "multiplier": "1", "pattern_day_trader": False, "trading_blocked": self.trading_blocked,
                "transfers_blocked": False, "account_blocked": self.account_blocked,
                "trade_suspended_by_user": False, "shorting_enabled": False, "daytrade_count": 0,
                "created_at": "2024-01-02T15:00:00Z"}

    def positions_json(self, prices: Mapping[str, Decimal]) -> list[dict[str, Any]]:
        out = []
        for symbol, qty in self.positions.items():
            cost = self.cost.get(symbol, ZERO)
            price = prices.get(symbol) or cost / qty
            out.append({"asset_id": asset_id(symbol), "symbol": symbol, "exchange": "ARCA",
                        "asset_class": "us_equity", "asset_marginable": True, "qty": s(qty),
                        "qty_available": s(qty), "avg_entry_price": s((cost / qty).quantize(Decimal("0.0001"))),
                        "side": "long", "cost_basis": s(cost), "market_value": s(qty * price),
                        "current_price": s(price), "unrealized_pl": s(qty * price - cost),
                        "lastday_price": s(price), "change_today": "0"})
        return out


def clock_json(now: datetime, is_open: bool) -> dict[str, Any]:
    """GET /v2/clock: the next 09:30 and 16:00 New York weekday times after `now` (no holidays)."""
    local = now.astimezone(NY)

    def next_at(at: dtime) -> datetime:
        when = datetime.combine(local.date(), at, NY)
        while when <= local or when.weekday() >= 5:
            when += timedelta(days=1)
        return when

    return {"timestamp": local.isoformat(), "is_open": is_open,
            "next_open": next_at(dtime(9, 30)).isoformat(), "next_close": next_at(dtime(16)).isoformat()}


def calendar_json(start: date, end: date) -> list[dict[str, Any]]:
    """GET /v2/calendar: every weekday from `start` to `end` (no holidays), times as HH:MM New York."""
    days = (start + timedelta(n) for n in range((end - start).days + 1))
    return [{"date": d.isoformat(), "open": "09:30", "close": "16:00", "session_open": "0400",
             "session_close": "2000", "settlement_date": (d + timedelta(1)).isoformat()}
            for d in days if d.weekday() < 5]


def market_data(path: str, q: Mapping[str, str], quotes: Quotes,
                bars_by_symbol: Mapping[str, list[tuple[date, Decimal]]], trade_ids: Iterator[int]) -> dict[str, Any]:
    """The data API: latest quotes and trades, daily bars (prices as JSON numbers); unknown symbols left out."""
    symbols = [s for s in q.get("symbols", "").split(",") if s]
    if not symbols:
        raise HttpError(400, "symbols is required", 40010001)
    known = [s for s in symbols if s in quotes]  # Alpaca leaves unknown symbols out
    if path == "/v2/stocks/quotes/latest":
        return {"quotes": {s: {"t": ts(at), "ax": "V", "ap": float(ask or p), "as": 1, "bx": "V",
                               "bp": float(bid or p), "bs": 1, "c": ["R"], "z": "B"}
                           for s in known for p, bid, ask, at in [quotes[s]]}}
    if path == "/v2/stocks/trades/latest":
        return {"trades": {s: {"t": ts(quotes[s][3]), "x": "V", "p": float(quotes[s][0]),
                               "s": 100, "c": ["@"], "i": next(trade_ids), "z": "B"} for s in known}}
    if path == "/v2/stocks/bars":
        if q.get("timeframe") != "1Day":
            raise HttpError(422, "the fake serves daily bars only", 40010001)
        start, end = (datetime.fromisoformat(q[k]) if k in q else None for k in ("start", "end"))
        rows = [(s, datetime.combine(d, dtime(), NY), c) for s in symbols for d, c in bars_by_symbol.get(s, [])]
        rows = [r for r in rows if (start is None or r[1] >= start) and (end is None or r[1] <= end)]
        offset, limit = int(q.get("page_token") or 0), int(q.get("limit") or 1000)
        bars: dict[str, list[dict[str, Any]]] = {}
        for s, t, c in rows[offset:offset + limit]:
            bars.setdefault(s, []).append({"t": ts(t), "o": float(c), "h": float(c), "l": float(c),
                                           "c": float(c), "v": 1000, "n": 10, "vw": float(c)})
        more = offset + limit < len(rows)
        return {"bars": bars, "next_page_token": str(offset + limit) if more else None}
    raise HttpError(404, "endpoint not found", 40410000)
