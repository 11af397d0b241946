"""New money on Interactive Brokers (a direct index's underweight stocks, a book of ETFs' underweight asset
classes): the engine's purchases carried out by the real cycle through IbkrBroker, the real ib_async and the
fake TWS on loopback. IB takes neither dollar amounts nor fractions of a share through our adapter, so each
purchase reaches TWS once as a whole-share market BUY of the plan's shares (sized at the ask), named by run and
purchase (`tlh-<run>-bN-buy`), never for more than the account's cash, and a second run of the day sends
nothing. The direct index is tests/service/direct_household.py's ("di": 10 AAA and 10 BBB at 100, $6,000 of
cash), here at IB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from brokers.ibkr import IbkrBroker
from brokers.ibkr.commission import commission as ib_commission
from brokers.protocol import AccountSnapshot, Capabilities
from daemon import bookkeeping
from daemon.config.models import IbkrBrokerConfig, Settings
from daemon.importers.csv_trades import parse
from daemon.market_calendar import trade_date
from daemon.service.cycle import CycleResult, run_cycle
from daemon.service.execute import execute
from daemon.service.market import book_from_brokers
from daemon.service.order_steps import _buy
from daemon.service.orders import Policy
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.models import AccountRow, Alert, OrderIntent
from tests.brokers.ibkr.conftest import ACCOUNTS, TAXABLE, make_broker, wait_disconnected
from tests.fakes.tws_server import FakeTws
from tests.service.direct_household import CONSTITUENTS, seed

TODAY = trade_date(datetime.now(UTC))
CASH = Decimal(6000)
# last, bid, ask: IB buys at the ask, and the engine plans whole shares at the ask.
QUOTES = {"AAA": ("100", "99.99", "100.01"), "BBB": ("100", "99.99", "100.01"), "CCC": ("50", "49.95", "50.05"),
          "DDD": ("40", "39.96", "40.04")}
# The engine's plan at IB: the most underweight first, each deficit (to 25 % of $8,000) in whole shares at the
# ask, within the $5,840 above the 2 % cash reserve: $2,000 buys 39 CCC and 49 DDD, $1,000 9 AAA and 9 BBB.
PLANNED = [("b1", "CCC", 39, Decimal("50.05")), ("b2", "DDD", 49, Decimal("40.04")),
           ("b3", "AAA", 9, Decimal("100.01")), ("b4", "BBB", 9, Decimal("100.01"))]


@pytest.fixture
def di_tws() -> Iterator[FakeTws]:
    with FakeTws() as fake:
        fake.add_account(TAXABLE, CASH, {"AAA": (10, "100"), "BBB": (10, "100")})
        for symbol, (last, bid, ask) in QUOTES.items():
            fake.set_price(symbol, last, bid=bid, ask=ask)
        yield fake
        assert fake.errors == []  # the fake understood every request


def _settings(tmp_path: Path, db_url: str, tws: FakeTws, **harvest: str) -> Settings:
    (tmp_path / "index.csv").write_text(CONSTITUENTS)
    return Settings.model_validate({
        "database_url": db_url, "mode": "paper", "substitutes": "",
        "accounts": [{"id": "di", "household": "h", "broker": "ibkr", "broker_account": TAXABLE,
                      "direct_index": {"constituents": str(tmp_path / "index.csv")}}],
        "harvest": {"circuit_breaker": False, "max_turnover_pct": 1, "max_price_age_days": 10, **harvest},
        "brokers": {"ibkr": {"port": tws.port, "timeout_seconds": 5}},
    })


def _policy() -> Policy:
    return Policy(fill_timeout=2, poll_interval=0.02, retries=2, backoff=0.0, sleep=lambda s: None, faults=set())


def _cycle(engine: Any, s: Settings, broker: Any, symbols: Iterable[str] = tuple(QUOTES)) -> CycleResult:
    prices = book_from_brokers({"ibkr": broker}, set(symbols), s, TODAY)
    return run_cycle(engine, s, {"ibkr": broker}, prices, TODAY, "paper", _policy())


def _intents(engine: Any) -> dict[str, OrderIntent]:
    with transaction(engine) as session:
        return {i.client_order_id: i for i in session.scalars(sa.select(OrderIntent))}


def _alerts(engine: Any, kind: str) -> list[str]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(Alert.message).where(Alert.kind == kind).order_by(Alert.id)))


def _held(engine: Any) -> dict[str, Decimal]:
    with transaction(engine) as session:
        lots = ledger_repo.load_ledger(session, "h").open_lots
    return {sym: sum((lot.quantity for lot in lots if lot.symbol == sym), Decimal(0)) for sym in QUOTES}


def _in_sync(engine: Any) -> bool:
    with transaction(engine) as session:
        row = session.get(AccountRow, "di")
        return row is not None and row.in_sync


def _spent(tws: FakeTws) -> Decimal:
    """What the executions cost the account at IB: shares at their fill price plus IB's commission."""
    return sum((x.shares * x.price + x.commission for x in tws.executions), Decimal(0))


def test_new_money_reaches_tws_once_each_in_whole_shares(di_tws: FakeTws, engine: Any, db_url: str,
                                                          tmp_path: Path) -> None:
    tws = di_tws
    s = _settings(tmp_path, db_url, tws)
    seed(engine, s)
    broker = make_broker(tws, accounts=s.accounts)
    try:
        first = _cycle(engine, s, broker)
        run_id = first.plan.run_id
        assert first.unavailable == {} and first.plan.pairs == ()
        assert [(b.purchase_id, b.symbol, b.quantity_estimate, b.notional) for b in first.plan.purchases] == [
            (pid, symbol, qty, qty * ask) for pid, symbol, qty, ask in PLANNED]

        # Each purchase reached TWS exactly once: a whole-share market BUY for the day, in the account's
        # code, tagged with the intent's client order id.
        assert [(o.account, o.symbol, o.action, o.quantity, o.order_type, o.tif, o.order_ref, o.what_if)
                for o in tws.received] == [
            (TAXABLE, symbol, "BUY", qty, "MKT", "DAY", f"tlh-{run_id}-{pid}-buy", False)
            for pid, symbol, qty, _ in PLANNED]
        assert [(x.order.order_ref, x.shares, x.price) for x in tws.executions] == [
            (f"tlh-{run_id}-{pid}-buy", qty, ask) for pid, symbol, qty, ask in PLANNED]
        assert [(o.pair_id, o.kind, o.buy is not None and o.buy.status.value) for o in first.outcomes] == [
            (pid, "purchase", "filled") for pid, _, _, _ in PLANNED]

        # One durable intent per purchase, named by run and purchase, filled.
        intents = _intents(engine)
        assert sorted((i.client_order_id, i.run_id, i.pair_id, i.leg, i.side, i.symbol, i.status, i.lots,
                       i.filled_quantity) for i in intents.values()) == sorted(
            (f"tlh-{run_id}-{pid}-buy", run_id, pid, "buy", "buy", symbol, "filled", ["new_money"], qty)
            for pid, symbol, qty, _ in PLANNED)

        # Nothing beyond the cash: the shares and IB's commissions came out of the $6,000, the reserve stays.
        assert _spent(tws) == sum((qty * ask for _, _, qty, ask in PLANNED), Decimal(0)) + 4  # $1 an order
        assert tws.cash(TAXABLE) == CASH - _spent(tws) >= Decimal(160) - 4
        assert {sym: tws.position(TAXABLE, sym) for sym in QUOTES} == {"AAA": 19, "BBB": 19, "CCC": 39, "DDD": 49}
        assert _held(engine) == {"AAA": 19, "BBB": 19, "CCC": 39, "DDD": 49}  # the fills are in the ledger
        assert len(_alerts(engine, "orders_filled")) == 4 and _alerts(engine, "order_failed") == []
    finally:
        broker.close()

    # The same day again, as a new process (a new connection to TWS): its sync finds the ledger and IB agree
    # (each fill booked once), nothing is planned, nothing reaches TWS twice; carrying out the first run's
    # plan a second time sends nothing either.
    wait_disconnected(tws)
    broker = make_broker(tws, accounts=s.accounts)
    try:
        again = _cycle(engine, s, broker)
        assert again.sync.in_sync and again.unavailable == {} and _in_sync(engine)
        assert again.plan.purchases == () and again.outcomes == []
        assert all(o.buy is None for o in execute(engine, s, run_id, {"ibkr": broker}, _policy()))
    finally:
        broker.close()
    assert len(tws.received) == 4 and len(tws.executions) == 4
    assert {i.status for i in _intents(engine).values()} == {"filled"}
    assert _held(engine) == {"AAA": 19, "BBB": 19, "CCC": 39, "DDD": 49}


class _WithdrawnAfterPlanning:
    """The IB adapter, with `amount` withdrawn from the account at IB right after the plan read its cash."""

    def __init__(self, inner: IbkrBroker, tws: FakeTws, amount: Decimal):
        self.inner, self.tws, self.amount, self.reads = inner, tws, amount, 0
        self.name, self.capabilities, self.paper = inner.name, inner.capabilities, inner.paper

    def account(self, account: str) -> AccountSnapshot:
        snapshot = self.inner.account(account)
        self.reads += 1
        if self.reads == 1:
            with self.tws.lock:
                self.tws.book.accounts[TAXABLE].cash -= self.amount
        return snapshot

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_less_cash_than_planned_buys_whole_shares_it_can_pay_for(di_tws: FakeTws, engine: Any, db_url: str,
                                                                tmp_path: Path) -> None:
    """$4,500 leaves the account between planning and buying: b1 buys the CCC that the $1,500 left pays for at
    the price IB fills at (not at the last price, which would be more than the cash), b2 one DDD with what
    is left, b3 and b4 nothing (a warning each). A cash account at IB would reject a buy beyond the cash; a
    margin account would lend it."""
    tws = di_tws
    s = _settings(tmp_path, db_url, tws)
    seed(engine, s)
    broker = _WithdrawnAfterPlanning(make_broker(tws, accounts=s.accounts), tws, Decimal(4500))
    try:
        result = _cycle(engine, s, broker)
        assert [b.symbol for b in result.plan.purchases] == ["CCC", "DDD", "AAA", "BBB"]
        run_id = result.plan.run_id
        ccc = (Decimal(1500) / Decimal("50.05")).to_integral_value(ROUND_FLOOR)  # 29, not 1500 / 50 = 30
        assert [(o.symbol, o.quantity, o.order_ref) for o in tws.received] == [
            ("CCC", ccc, f"tlh-{run_id}-b1-buy"), ("DDD", 1, f"tlh-{run_id}-b2-buy")]
        assert [tws.order(o.order_ref).status for o in tws.received] == ["Filled", "Filled"]
        assert _spent(tws) <= Decimal(1500) and tws.cash(TAXABLE) >= 0
        status = {i.pair_id: i.status for i in _intents(engine).values()}
        assert status == {"b1": "filled", "b2": "filled", "b3": "skipped", "b4": "skipped"}
        assert len(_alerts(engine, "purchase_skipped")) == 2 and _alerts(engine, "order_failed") == []
    finally:
        broker.inner.close()


ETF_QUOTES = {"VTI": ("200", "199.90", "200.10"), "ITOT": ("100", "99.95", "100.05"),
              "BND": ("80", "79.96", "80.04"), "AGG": ("90", "89.95", "90.05")}


@pytest.fixture
def etf_tws() -> Iterator[FakeTws]:
    with FakeTws() as fake:
        fake.add_account(TAXABLE, CASH, {"VTI": (10, "200")})
        for symbol, (last, bid, ask) in ETF_QUOTES.items():
            fake.set_price(symbol, last, bid=bid, ask=ask)
        yield fake
        assert fake.errors == []


def test_a_book_of_etfs_new_money_reaches_tws_once_each(etf_tws: FakeTws, engine: Any, db_url: str) -> None:
    """`[accounts.targets]` at IB: 10 VTI ($2,000) and $6,000 of cash toward half stocks, half bonds; the
    engine buys the underweight classes' primaries (BND for $4,000, VTI for $2,000) in whole shares at the
    ask, and TWS gets exactly those orders, once."""
    tws = etf_tws
    s = Settings.model_validate({
        "database_url": db_url, "mode": "paper", "substitutes": "",
        "accounts": [{"id": "etfs", "household": "h", "broker": "ibkr", "broker_account": TAXABLE,
                      "targets": {"stocks": "0.5", "bonds": "0.5"}}],
        "asset_classes": [{"name": "stocks", "members": ["VTI", "ITOT"]},
                          {"name": "bonds", "members": ["BND", "AGG"]}],
        "harvest": {"circuit_breaker": False, "max_price_age_days": 10},
        "brokers": {"ibkr": {"port": tws.port, "timeout_seconds": 5}},
    })
    history = (f"date,account,symbol,side,quantity,price,fees,lot_id\n"
               f"{TODAY - timedelta(days=200)},etfs,VTI,buy,10,200,,v1\n")
    bookkeeping.book(engine, s, parse(history, "history.csv", {"etfs"}))
    broker = make_broker(tws, accounts=s.accounts)
    try:
        first = _cycle(engine, s, broker, ETF_QUOTES)
        run_id = first.plan.run_id
        # 49 BND at 80.04 ($3,921.96 of the $4,000) and 9 VTI at 200.10 ($1,800.90 of the $2,000).
        assert [(b.symbol, b.quantity_estimate) for b in first.plan.purchases] == [("BND", 49), ("VTI", 9)]
        assert [(o.account, o.symbol, o.action, o.quantity, o.order_type, o.order_ref) for o in tws.received] == [
            (TAXABLE, b.symbol, "BUY", b.quantity_estimate, "MKT", f"tlh-{run_id}-{b.purchase_id}-buy")
            for b in first.plan.purchases]
        assert {(i.pair_id, i.status, i.filled_quantity) for i in _intents(engine).values()} == {
            ("b1", "filled", 49), ("b2", "filled", 9)}
        assert _spent(tws) == 49 * Decimal("80.04") + 9 * Decimal("200.10") + 2 <= CASH
        assert (tws.position(TAXABLE, "BND"), tws.position(TAXABLE, "VTI")) == (49, 19)
        again = _cycle(engine, s, broker, ETF_QUOTES)  # the same day: nothing bought twice
        assert again.plan.purchases == () and again.sync.in_sync and len(tws.received) == 2
    finally:
        broker.close()


def test_a_harvests_replacement_is_the_plans_whole_shares(engine: Any, db_url: str, tmp_path: Path) -> None:
    """The same sizing for a harvest's buy: 1,000 AAA bought at $10 are at $8 and the account has no other
    cash. IB charges $0.005 a share ($5 for the sale, ~$8 for the buy), and `commission_usd = 8` says so: the
    plan buys the replacement's whole shares that the sale's $7,990 pays for at its $5.01 ask with both
    commissions, and IB gets exactly those shares. (Sized at the last, $5, they would be 3 more, costing more
    than the sale raised: a cash account refuses the buy.)"""
    with FakeTws() as tws:
        result = _harvest(tmp_path, db_url, engine, tws, commission_usd="8")
        (pair,) = result.plan.pairs
        assert (pair.sell_symbol, pair.sell_quantity) == ("AAA", 1000)
        assert pair.buy_quantity_estimate == 1591  # ($7,990 - 2 x $8) / $5.01, in whole shares
        run_id = result.plan.run_id
        assert [(o.symbol, o.action, o.quantity, o.order_ref) for o in tws.received] == [
            ("AAA", "SELL", 1000, f"tlh-{run_id}-p1-sell"),
            (pair.buy_symbol, "BUY", pair.buy_quantity_estimate, f"tlh-{run_id}-p1-buy")]
        assert [tws.order(o.order_ref).status for o in tws.received] == ["Filled", "Filled"]
        assert tws.cash(TAXABLE) >= 0
        assert tws.errors == []


def _harvest(tmp_path: Path, db_url: str, engine: Any, tws: FakeTws, **harvest: str) -> CycleResult:
    """The day's cycle at IB for `_harvest_household`."""
    s = _harvest_household(tmp_path, db_url, engine, tws, **harvest)
    broker = make_broker(tws, accounts=s.accounts)
    try:
        return _cycle(engine, s, broker)
    finally:
        broker.close()


def _harvest_household(tmp_path: Path, db_url: str, engine: Any, tws: FakeTws, **harvest: str) -> Settings:
    """1,000 AAA bought at $10, now at $8, and no other cash: a harvest into BBB, CCC or DDD at $5.01 the ask."""
    tws.add_account(TAXABLE, 0, {"AAA": (1000, "10")})
    for symbol, (last, bid, ask) in {"AAA": ("8", "7.99", "8.01"), "BBB": ("5", "4.99", "5.01"),
                                     "CCC": ("5", "4.99", "5.01"), "DDD": ("5", "4.99", "5.01")}.items():
        tws.set_price(symbol, last, bid=bid, ask=ask)
    s = _settings(tmp_path, db_url, tws, **harvest)
    history = (f"date,account,symbol,side,quantity,price,fees,lot_id\n"
               f"{TODAY - timedelta(days=200)},di,AAA,buy,1000,10,,a1\n")
    bookkeeping.book(engine, s, parse(history, "history.csv", {"di"}))
    return s


def test_a_harvests_replacement_leaves_room_for_ibs_commission_by_default(engine: Any, db_url: str,
                                                                          tmp_path: Path) -> None:
    """The harvest above with `commission_usd` left at its default 0: the plan spends the whole sale on the
    replacement, as if IB charged nothing. The sale raises $7,990 less IB's $5; at the $5.01 ask the plan's
    shares, or the 1,593 that $7,985 pays for, cost more than the cash with IB's commission on them, and TWS
    refused that buy (INSUFFICIENT CASH) in a cash account. Now the buy is the most whole shares the cash
    covers with their commission, and it fills."""
    with FakeTws() as tws:
        result = _harvest(tmp_path, db_url, engine, tws)
        (pair,) = result.plan.pairs
        ask = Decimal("5.01")
        assert pair.buy_quantity_estimate == 1594  # $7,990 / $5.01: no commission planned
        # What the sale left in the account, by the fake's own IB rule ($0.005 a share, $1 minimum, 1 % maximum).
        cash = 1000 * Decimal("7.99") - tws.book.commission(Decimal(1000), Decimal("7.99"))
        assert cash == Decimal(7985)

        def fits(n: int) -> bool:
            return n * ask + tws.book.commission(Decimal(n), ask) <= cash

        covered = max(n for n in range(int(pair.buy_quantity_estimate) + 1) if fits(n))
        assert covered == 1592 and not fits(1593)  # $7,975.92 + $7.96; 1,593 would cost $7,988.90
        run_id = result.plan.run_id
        assert [(o.symbol, o.action, o.quantity, o.order_ref) for o in tws.received] == [
            ("AAA", "SELL", 1000, f"tlh-{run_id}-p1-sell"), (pair.buy_symbol, "BUY", covered, f"tlh-{run_id}-p1-buy")]
        assert [tws.order(o.order_ref).status for o in tws.received] == ["Filled", "Filled"]
        assert tws.position(TAXABLE, pair.buy_symbol) == covered
        assert tws.cash(TAXABLE) == cash - covered * ask - tws.book.commission(Decimal(covered), ask) >= 0
        assert {i.leg: (i.status, i.filled_quantity) for i in _intents(engine).values()} == {
            "sell": ("filled", 1000), "buy": ("filled", covered)}
        assert _alerts(engine, "order_failed") == [] and len(_alerts(engine, "orders_filled")) == 1
        assert tws.errors == []


WHOLE = Capabilities(fractional=False, notional=False, specific_lots=False, market_on_close=True)


class _Free:
    """A broker without dollar orders that charges no commission (IB Lite's rule, say)."""

    capabilities = WHOLE

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        return Decimal(0)


def test_ibs_commission_estimate_is_per_share_with_its_minimum_and_maximum() -> None:
    broker = IbkrBroker(IbkrBrokerConfig(), ACCOUNTS)  # never connects: the estimate needs no TWS
    try:
        assert broker.commission(Decimal(1000), Decimal(50)) == Decimal("5.00")  # $0.005 a share
        assert broker.commission(Decimal(100), Decimal(50)) == Decimal("1.00")  # the $1 minimum
        assert broker.commission(Decimal(10), Decimal(5)) == Decimal("0.50")  # at most 1 % of the $50 traded
        assert broker.commission(Decimal(1593), Decimal("5.01")) == Decimal("7.97")  # $7.965: up, never short
        assert broker.commission(Decimal(0), Decimal(5)) == 0
    finally:
        broker.close()


@pytest.mark.parametrize(("dollars", "cash", "plan", "ib", "free"), [
    # The harvest above: the sale's $7,985 against a plan of 1,594 at $5.01; IB's $7.96 leaves 1,592.
    ("7985", "7985", (1594, "5.01"), 1592, 1593),
    # New money with a cash reserve behind it: the plan's 39 shares, their $1 out of the rest of the cash.
    ("1951.95", "6000", (39, "50.05"), 39, 39),
    # The cash is exactly the plan's dollars: the 39 shares leave nothing for their $1.
    ("1951.95", "1951.95", (39, "50.05"), 38, 39),
    # Below the minimum the 1 % maximum rules: 2 shares and their $0.11 are more than $10.10, 1 and $0.06 not.
    ("10.10", "10.10", (2, "5.01"), 1, 2),
    # The commission on one share is more than the cash left after the share: nothing to buy.
    ("5.01", "5.01", (1, "5.01"), None, 1),
])
def test_a_buy_is_sized_within_the_cash_with_the_brokers_commission(
        dollars: str, cash: str, plan: tuple[int, str], ib: int | None, free: int) -> None:
    """`_buy` (replacement buys, reinvestments, new money) at IB: shares x ask + IB's commission on them never
    beyond the cash, never more shares than the plan, as many as that allows; a broker charging nothing gets the
    shares it got before the commission was counted."""
    shares, ask = Decimal(plan[0]), Decimal(plan[1])
    money = Decimal(cash)
    planned = (shares * ask, shares)
    broker = IbkrBroker(IbkrBrokerConfig(), ACCOUNTS)
    try:
        request = _buy("c1", "di", "BBB", ask, min(Decimal(dollars), money), broker, planned, money)
        bought = None if request is None else request.quantity
        assert bought == (None if ib is None else Decimal(ib))
        if bought is not None:
            assert bought <= shares and bought * ask + ib_commission(bought, ask) <= money
        if bought is not None and bought < shares:  # one share more would not have fitted
            assert (bought + 1) * ask + ib_commission(bought + 1, ask) > money
        request = _buy("c1", "di", "BBB", ask, min(Decimal(dollars), money), _Free(), planned, money)
        assert request is not None and request.quantity == free
    finally:
        broker.close()
