"""The built-in paper broker: no network, no account, deterministic.

Its book lives in the lot store (`paper_orders`, `paper_fills`). Positions are what the store's imported
history holds (trades from any source but this broker) plus this broker's own fills; cash starts at
`[brokers.paper] starting_cash` and moves with the fills. Market orders fill at the as-of close, adjusted
by half the spread (`spread_bps`, or the price file's bid/ask), in the buyer's disfavour.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from brokers.protocol import (
    AccountSnapshot,
    BrokerError,
    Capabilities,
    DuplicateOrder,
    Fill,
    FillPage,
    MarketClock,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderStatus,
    Position,
    Quote,
)
from daemon.config.models import AccountConfig, PaperBrokerConfig
from daemon.market_calendar import NEW_YORK, next_session
from daemon.prices import PriceBook
from daemon.store.db import reading, transaction
from daemon.store.models import LotRow, PaperFill, PaperOrder, TradeRow

SOURCE = "paper"
QTY = Decimal("1e-9")
BPS = Decimal(10_000)


def fill_price(close: Decimal, spread_bps: Decimal, side: str) -> Decimal:
    """The paper broker's fill rule: the close, half the spread (`spread_bps`) against the trader, to 1e-6.
    `side` is "buy" or "sell" (an `OrderSide` works too). The backtest simulator fills with the same rule."""
    half = spread_bps / 2 / BPS
    return (close * (1 + half) if side == "buy" else close * (1 - half)).quantize(Decimal("1e-6"))


class FillMode(enum.StrEnum):
    IMMEDIATE = "immediate"
    MANUAL = "manual"  # orders wait for fill_pending(): tests of fill waits and partial fills
    REJECT = "reject"


class PaperBroker:
    name = "paper"
    capabilities = Capabilities(fractional=True, notional=True, specific_lots=True, market_on_close=True)
    paper = True

    def __init__(self, engine: Engine, config: PaperBrokerConfig, accounts: Sequence[AccountConfig],
                 prices: PriceBook, as_of: date, *, now: Callable[[], datetime] | None = None,
                 fill_mode: FillMode = FillMode.IMMEDIATE):
        self.engine = engine
        self.config = config
        self.accounts = {a.id: a for a in accounts if a.broker == "paper"}
        self.prices = prices
        self.as_of = as_of
        self._now = now or (lambda: datetime.now(UTC))
        self.fill_mode = fill_mode

    # -- reading ---------------------------------------------------------------------------------------
    def _check(self, account: str) -> None:
        if account not in self.accounts:
            raise BrokerError(f"paper broker has no account {account!r}")

    def _holdings(self, session: Any, account: str) -> dict[str, Decimal]:
        held: dict[str, Decimal] = {}
        trades = session.execute(sa.select(TradeRow.symbol, TradeRow.side, TradeRow.quantity)
                                 .where(TradeRow.account_id == account, TradeRow.source != SOURCE))
        fills = session.execute(sa.select(PaperFill.symbol, PaperFill.side, PaperFill.quantity)
                                .where(PaperFill.account_id == account))
        for symbol, side, quantity in [*trades, *fills]:
            sign = -1 if side == "sell" else 1
            held[symbol] = held.get(symbol, Decimal(0)) + sign * quantity
        return {s: q for s, q in held.items() if q != 0}

    def _cash(self, session: Any, account: str) -> Decimal:
        cash = self.config.starting_cash
        for side, quantity, price in session.execute(
                sa.select(PaperFill.side, PaperFill.quantity, PaperFill.price)
                .where(PaperFill.account_id == account)):
            cash += quantity * price if side == "sell" else -quantity * price
        return cash

    def _close(self, symbol: str) -> Decimal | None:
        quote = self.prices.quote(symbol, self.as_of)
        return quote.close if quote else None

    def account(self, account: str) -> AccountSnapshot:
        self._check(account)
        with reading(self.engine) as session:
            held = self._holdings(session, account)
            cash = self._cash(session, account)
        equity = cash + sum((q * (self._close(s) or 0) for s, q in held.items()), Decimal(0))
        return AccountSnapshot(account=account, cash=cash, equity=equity, paper=True)

    def positions(self, account: str) -> list[Position]:
        self._check(account)
        with reading(self.engine) as session:
            held = self._holdings(session, account)
        return [Position(account, s, q) for s, q in sorted(held.items())]

    def fills(self, account: str, cursor: str | None = None) -> FillPage:
        self._check(account)
        after = int(cursor) if cursor else 0
        with reading(self.engine) as session:
            rows = session.execute(sa.select(PaperFill, PaperOrder.broker_order_id)
                                   .join(PaperOrder, PaperOrder.client_order_id == PaperFill.client_order_id)
                                   .where(PaperFill.account_id == account, PaperFill.seq > after)
                                   .order_by(PaperFill.seq)).all()
            fills = tuple(Fill(fill_id=f.fill_id, account=account, symbol=f.symbol, side=OrderSide(f.side),
                               quantity=f.quantity, price=f.price, time=f.time, broker_order_id=oid,
                               client_order_id=f.client_order_id, lot_id=f.lot_id) for f, oid in rows)
            last = rows[-1][0].seq if rows else after
        return FillPage(fills=fills, cursor=str(last) if last else cursor)

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        out = {}
        half = self.config.spread_bps / 2 / BPS
        for symbol in symbols:
            q = self.prices.quote(symbol, self.as_of)
            if q is not None:
                out[symbol] = Quote(symbol, q.close, q.bid if q.bid else q.close * (1 - half),
                                    q.ask if q.ask else q.close * (1 + half), q.day)
        return out

    def closes(self, symbols: Sequence[str], start: date, end: date) -> dict[str, list[tuple[date, Decimal]]]:
        return {s: self.prices.closes(s, start, min(end, self.as_of)) for s in symbols}

    def clock(self) -> MarketClock:
        now = self._now()
        upcoming = next_session(now)
        if upcoming is None:
            raise BrokerError("no session in the calendar after now")
        return MarketClock(now=now, is_open=upcoming.open <= now < upcoming.close,
                           next_open=upcoming.open, next_close=upcoming.close)

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        # Its fills move the cash by shares x price alone: the spread is its only cost.
        return Decimal(0)

    # -- orders ------------------------------------------------------------------------------------------
    def _state(self, row: PaperOrder) -> OrderState:
        return OrderState(client_order_id=row.client_order_id, account=row.account_id, symbol=row.symbol,
                          side=OrderSide(row.side), status=OrderStatus(row.status),
                          broker_order_id=row.broker_order_id, quantity=row.quantity, notional=row.notional,
                          filled_quantity=row.filled_quantity, filled_avg_price=row.filled_avg_price,
                          submitted_at=row.submitted_at, updated_at=row.updated_at, reason=row.reason)

    def submit(self, order: OrderRequest) -> OrderState:
        self._check(order.account)
        with transaction(self.engine) as session:
            if session.get(PaperOrder, order.client_order_id) is not None:
                raise DuplicateOrder(f"client order id {order.client_order_id} already used")
            count = session.scalar(sa.select(sa.func.count()).select_from(PaperOrder)) or 0
            stamp = self._now()
            row = PaperOrder(client_order_id=order.client_order_id, broker_order_id=f"paper-{count + 1}",
                             account_id=order.account, symbol=order.symbol, side=order.side.value,
                             quantity=order.quantity, notional=order.notional,
                             time_in_force=order.time_in_force.value, lot_ids=list(order.lot_ids) or None,
                             status=OrderStatus.NEW.value, filled_quantity=Decimal(0), trade_date=self.as_of,
                             submitted_at=stamp, updated_at=stamp)
            session.add(row)
            session.flush()
            if self.fill_mode is FillMode.REJECT:
                self._finish(row, OrderStatus.REJECTED, "rejected by the paper broker (fill_mode=reject)")
            elif self.fill_mode is FillMode.IMMEDIATE:
                self._fill(session, row, None)
            return self._state(row)

    def _finish(self, row: PaperOrder, status: OrderStatus, reason: str | None = None) -> None:
        row.status, row.reason, row.updated_at = status.value, reason, self._now()

    def _fill(self, session: Any, row: PaperOrder, limit: Decimal | None) -> None:
        """Fill `row` (up to `limit` more shares) at the as-of close, half a spread against the trader."""
        close = self._close(row.symbol)
        if close is None:
            return self._finish(row, OrderStatus.REJECTED, f"no price for {row.symbol} on {self.as_of}")
        price = fill_price(close, self.config.spread_bps, row.side)
        wanted = row.quantity if row.quantity is not None else \
            (row.notional / price).quantize(QTY, rounding=ROUND_DOWN)
        shares = wanted - row.filled_quantity if limit is None else min(limit, wanted - row.filled_quantity)
        if row.side == "sell":
            held = self._holdings(session, row.account_id).get(row.symbol, Decimal(0))
            if shares > held:
                return self._finish(row, OrderStatus.REJECTED, f"sells {shares} but the account holds {held}")
        elif shares * price > self._cash(session, row.account_id) + Decimal("0.005"):
            return self._finish(row, OrderStatus.REJECTED, "insufficient buying power")
        moment = datetime.combine(self.as_of, time(16, 0), NEW_YORK).astimezone(UTC)
        for n, (lot_id, part) in enumerate(self._lot_parts(session, row, shares)):
            session.add(PaperFill(fill_id=f"{row.broker_order_id}-{row.filled_quantity}-{n}",
                                  client_order_id=row.client_order_id, account_id=row.account_id,
                                  symbol=row.symbol, side=row.side, quantity=part, price=price, lot_id=lot_id,
                                  time=moment))
        total = row.filled_quantity + shares
        previous = (row.filled_avg_price or Decimal(0)) * row.filled_quantity
        row.filled_avg_price = ((previous + price * shares) / total).quantize(Decimal("1e-6"))
        row.filled_quantity = total
        self._finish(row, OrderStatus.FILLED if total >= wanted else OrderStatus.PARTIALLY_FILLED)
        return None

    def _lot_parts(self, session: Any, row: PaperOrder, shares: Decimal) -> list[tuple[str | None, Decimal]]:
        """A specific-lot sell fills lot by lot, in the order named, from the ledger's open lots."""
        if row.side != "sell" or not row.lot_ids:
            return [(None, shares)]
        open_qty = dict(session.execute(sa.select(LotRow.lot_id, LotRow.quantity).where(
            LotRow.account_id == row.account_id, LotRow.lot_id.in_(row.lot_ids))).all())
        parts, left = [], shares
        for lot_id in row.lot_ids:
            take = min(left, open_qty.get(lot_id, Decimal(0)))
            if take > 0:
                parts.append((lot_id, take))
                left -= take
        if left > 0:
            raise BrokerError(f"lots {row.lot_ids} hold less than {shares} shares of {row.symbol}")
        return parts

    def fill_pending(self, client_order_id: str, quantity: Decimal | None = None) -> OrderState:
        """Fill (part of) a waiting order: for tests and simulations in manual fill mode."""
        with transaction(self.engine) as session:
            row = session.get(PaperOrder, client_order_id)
            if row is None or OrderStatus(row.status).final:
                raise BrokerError(f"no open paper order {client_order_id}")
            self._fill(session, row, quantity)
            return self._state(row)

    def order(self, account: str, client_order_id: str) -> OrderState | None:
        with reading(self.engine) as session:
            row = session.get(PaperOrder, client_order_id)
            return self._state(row) if row is not None and row.account_id == account else None

    def cancel(self, account: str, client_order_id: str) -> None:
        with transaction(self.engine) as session:
            row = session.get(PaperOrder, client_order_id)
            if row is None or row.account_id != account:
                raise BrokerError(f"no paper order {client_order_id} in {account}")
            if not OrderStatus(row.status).final:
                self._finish(row, OrderStatus.CANCELED, "canceled")

    def open_orders(self, account: str) -> list[OrderState]:
        with reading(self.engine) as session:
            rows = session.scalars(sa.select(PaperOrder).where(
                PaperOrder.account_id == account,
                PaperOrder.status.in_([OrderStatus.NEW.value, OrderStatus.PARTIALLY_FILLED.value]))).all()
            return [self._state(r) for r in rows]

    def close(self) -> None:
        return None

