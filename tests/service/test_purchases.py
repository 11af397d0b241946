"""A direct index's new money, planned by the engine, carried out in paper mode on the paper broker: one
durable intent per purchase, each bought once, never beyond the account's cash, nothing when the account's
cash cannot be read, nothing in a dry run (an alert instead). On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from brokers.paper import PaperBroker
from daemon import bookkeeping
from daemon.config import load_settings
from daemon.importers.csv_trades import parse
from daemon.prices import parse as parse_prices
from daemon.service.clock import SystemClock
from daemon.service.cycle import run_cycle
from daemon.service.daemon import Service
from daemon.service.execute import execute
from daemon.service.orders import Policy
from daemon.service.sync import sync
from daemon.store import ledger_repo
from daemon.store.db import make_engine, transaction
from daemon.store.migrate import upgrade
from daemon.store.models import Alert, HarvestRun, OrderIntent, PaperOrder
from tests.cli.test_targets_cli import CONFIG
from tests.cli.test_targets_cli import _prices as targets_prices
from tests.service.direct_household import AS_OF, PLANNED, CashAfterPlanning, household, paper, seed

TLH = str(Path(sys.executable).parent / "tlh")


def _policy() -> Policy:
    return Policy(fill_timeout=0.05, poll_interval=0.01, backoff=0.0, sleep=lambda s: None, faults=set())


def _rows(engine: Any, model: Any) -> list[Any]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(model)))


def _alerts(engine: Any, kind: str) -> list[str]:
    with transaction(engine) as session:
        return list(session.scalars(sa.select(Alert.message).where(Alert.kind == kind).order_by(Alert.id)))


def test_new_money_is_bought_once_each_named_by_run_and_purchase(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    result = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "paper", _policy())
    run_id = result.plan.run_id
    assert [(b.purchase_id, b.symbol, b.notional) for b in result.plan.purchases] == PLANNED
    assert [(o.pair_id, o.kind, o.buy is not None and o.buy.status.value) for o in result.outcomes] == [
        (pid, "purchase", "filled") for pid, _, _ in PLANNED]

    orders = sorted(_rows(engine, PaperOrder), key=lambda o: o.client_order_id)
    assert [(o.client_order_id, o.side, o.symbol, o.notional) for o in orders] == [
        (f"tlh-{run_id}-{pid}-buy", "buy", symbol, notional) for pid, symbol, notional in PLANNED]
    intents = {i.client_order_id: i for i in _rows(engine, OrderIntent)}
    assert {(i.run_id, i.pair_id, i.leg, i.status, tuple(i.lots)) for i in intents.values()} == {
        (run_id, pid, "buy", "filled", ("new_money",)) for pid, _, _ in PLANNED}
    # The fills are in the ledger, and the broker agrees with it.
    with transaction(engine) as session:
        held = ledger_repo.load_ledger(session, "h").open_lots
    assert sorted({lot.symbol for lot in held}) == ["AAA", "BBB", "CCC", "DDD"]
    assert sum((lot.quantity for lot in held if lot.symbol == "CCC"), Decimal(0)) == 40  # $2,000 at 50
    assert sync(engine, settings, {"paper": broker}).in_sync
    assert broker.account("di").cash == Decimal(6000) - sum(n for _, _, n in PLANNED)  # the reserve stays
    assert len(_alerts(engine, "orders_filled")) == 4

    # The same day again: the account was harvested (and bought) by the first run; nothing is sent twice.
    again = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "paper", _policy())
    assert again.plan.purchases == () and again.outcomes == []
    assert len(_rows(engine, PaperOrder)) == 4
    # Carrying out the first run's plan a second time (a second process) sends nothing either, and leaves
    # the intents as they are, even when that process cannot read the cash.
    assert all(o.buy is None for o in execute(engine, settings, run_id, {"paper": broker}, _policy()))
    unreadable = CashAfterPlanning(broker, reads=0, cap=None)
    assert all(o.buy is None for o in execute(engine, settings, run_id, {"paper": unreadable}, _policy()))
    assert len(_rows(engine, PaperOrder)) == 4 and _alerts(engine, "purchase_skipped") == []
    assert {i.status for i in _rows(engine, OrderIntent)} == {"filled"}


def test_dry_run_records_and_alerts_but_buys_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    result = run_cycle(engine, settings, {"paper": paper(engine, settings, prices)}, prices, AS_OF, "dry-run",
                       _policy())
    assert [(b.purchase_id, b.symbol, b.notional) for b in result.plan.purchases] == PLANNED
    assert result.outcomes == [] and _rows(engine, PaperOrder) == [] and _rows(engine, OrderIntent) == []
    (message,) = _alerts(engine, "dry_run_purchases")
    assert "4 purchase(s) of new money would buy $5,840.00" in message
    assert "di: buy $2,000.00 of CCC" in message and "di: buy $840.00 of BBB" in message
    (run,) = _rows(engine, HarvestRun)
    assert [b["symbol"] for b in run.plan["purchases"]] == ["CCC", "DDD", "AAA", "BBB"]


def test_less_cash_than_planned_buys_only_what_is_there(tmp_path: Path, engine: Any, db_url: str) -> None:
    """$3,000 was withdrawn between planning and buying: b1 buys $2,000, b2 the $1,000 left, b3 and b4
    nothing (a warning each)."""
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = _Withdrawn(paper(engine, settings, prices), Decimal(3000))
    run_id = _planned(engine, settings, prices, broker)
    broker.active = True  # after planning, the account has $3,000 less
    execute(engine, settings, run_id, {"paper": broker}, _policy())
    orders = sorted(_rows(engine, PaperOrder), key=lambda o: o.client_order_id)
    assert [(o.symbol, o.notional) for o in orders] == [("CCC", Decimal(2000)), ("DDD", Decimal(1000))]
    status = {i.pair_id: i.status for i in _rows(engine, OrderIntent)}
    assert status == {"b1": "filled", "b2": "filled", "b3": "skipped", "b4": "skipped"}
    skipped = _alerts(engine, "purchase_skipped")
    assert len(skipped) == 2 and "the account's cash is $0.00" in skipped[0]


def _planned(engine: Any, settings: Any, prices: Any, broker: Any) -> str:
    """A plan stored as a trading run stores it, not yet carried out."""
    plan = run_cycle(engine, settings, {"paper": _NoOrders(broker)}, prices, AS_OF, "dry-run", _policy()).plan
    with transaction(engine) as session:
        session.get(HarvestRun, plan.run_id).mode = "paper"
    return plan.run_id


class _Withdrawn(CashAfterPlanning):
    """The paper broker with `amount` withdrawn once `active`."""

    def __init__(self, inner: Any, amount: Decimal):
        super().__init__(inner, 0, None)
        self.amount, self.active = amount, False

    def account(self, account: str) -> Any:
        snapshot = self.inner.account(account)
        if not self.active:
            return snapshot
        return type(snapshot)(account=account, cash=snapshot.cash - self.amount, equity=snapshot.equity, paper=True)


def test_cash_unreadable_before_the_buy_buys_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    """Fail closed: the plan read the cash, then the broker stopped answering: no purchase is sent, each
    intent is skipped with its reason and an error alert says so."""
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = CashAfterPlanning(paper(engine, settings, prices), reads=1, cap=None)
    result = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "paper", _policy())
    assert len(result.plan.purchases) == 4
    assert _rows(engine, PaperOrder) == []
    assert {(i.status, i.error.startswith("its cash could not be read")) for i in _rows(engine, OrderIntent)} == {
        ("skipped", True)}
    assert len(_alerts(engine, "purchase_skipped")) == 4


def test_an_account_not_read_in_this_run_buys_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = paper(engine, settings, prices)
    run_id = _planned(engine, settings, prices, broker)
    outcomes = execute(engine, settings, run_id, {"paper": broker}, _policy(),
                       unavailable={"di": "positions: 503 Service Unavailable"})
    assert [o.buy for o in outcomes] == [None] * 4 and _rows(engine, PaperOrder) == []
    assert all("could not be read in this run" in m for m in _alerts(engine, "purchase_skipped"))


class _NoOrders:
    def __init__(self, inner: Any):
        self.inner = inner
        self.name, self.capabilities, self.paper = inner.name, inner.capabilities, True

    def submit(self, order: Any) -> Any:
        raise AssertionError("a dry run sends nothing")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _tlh(cfg: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TLH_FAULT"}
    if fault:
        env["TLH_FAULT"] = fault
    return subprocess.run([TLH, "--config", str(cfg), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["after_intents", "after_purchase_submit"])
def test_killed_then_restarted_buys_each_purchase_once(tmp_path: Path, point: str) -> None:
    """SIGKILL after the intents are stored, or right after the first purchase reached the broker; the
    restart settles what the broker has and buys the rest, each exactly once, for the first run."""
    db_url = f"sqlite:///{tmp_path / 'tlh.db'}"
    upgrade(db_url)
    settings, _, cfg = household(tmp_path, db_url)
    engine = make_engine(db_url)
    seed(engine, settings)

    crashed = _tlh(cfg, "harvest", "--as-of", "2024-05-29", fault=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert len(_rows(engine, PaperOrder)) == (0 if point == "after_intents" else 1)
    restarted = _tlh(cfg, "harvest", "--as-of", "2024-05-29", "--format", "json")
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    orders = _rows(engine, PaperOrder)
    intents = _rows(engine, OrderIntent)
    (first_run,) = {i.run_id for i in intents}
    assert sorted((o.client_order_id, o.symbol) for o in orders) == [
        (f"tlh-{first_run}-{pid}-buy", symbol) for pid, symbol, _ in PLANNED]
    assert {i.status for i in intents} == {"filled"} and all(o.status == "filled" for o in orders)
    synced = _tlh(cfg, "sync", "--format", "json")
    assert synced.returncode == 0, synced.stdout + synced.stderr[-2000:]
    engine.dispose()


class _WholeShares(_NoOrders):
    """The paper broker as a broker without notional or fractional orders (as IB is for us)."""

    def __init__(self, inner: Any):
        super().__init__(inner)
        from brokers.protocol import Capabilities

        self.capabilities = Capabilities(fractional=False, notional=False, specific_lots=True, market_on_close=True)

    def submit(self, order: Any) -> Any:
        return self.inner.submit(order)


def test_a_broker_without_notional_orders_gets_whole_shares(tmp_path: Path, engine: Any, db_url: str) -> None:
    settings, prices, _ = household(tmp_path, db_url)
    seed(engine, settings)
    broker = _WholeShares(paper(engine, settings, prices))
    plan = run_cycle(engine, settings, {"paper": broker}, prices, AS_OF, "paper", _policy()).plan
    orders = sorted(_rows(engine, PaperOrder), key=lambda o: o.client_order_id)
    # Whole shares, the plan's: it sized them at the ask ($1,950.97 of CCC is 39 shares at 50.025).
    assert len(plan.purchases) == 4
    assert [(o.symbol, o.quantity, o.notional) for o in orders] == [
        (b.symbol, b.quantity_estimate, None) for b in plan.purchases]
    assert orders[0].quantity == 39 and all(o.status == "filled" for o in orders)


@pytest.mark.parametrize(("fractional", "cash", "shares"), [
    (False, Decimal(20000), Decimal(1000)),  # the plan's shares, not $10,010 / $10 = 1,001
    (False, Decimal(5000), Decimal(499)),  # what $5,000 pays for at the ask, not 500 shares costing $5,005
    (True, Decimal(5000), Decimal("499.500499500")),
    (False, Decimal("10.00"), None),  # not one share at the ask: nothing
])
def test_shares_are_sized_at_the_plans_ask_never_beyond_the_cash(fractional: bool, cash: Decimal,
                                                                   shares: Decimal | None) -> None:
    """A broker without dollar orders (IB) gets shares: the plan bought 1,000 shares of a $10 stock at its
    $10.01 ask; the buy never costs more at that ask than the plan's dollars or the account's cash."""
    from brokers.protocol import Capabilities
    from daemon.service.purchases import PurchaseOrder, _buy_within

    b = PurchaseOrder(run_id="r1", as_of=AS_OF, purchase_id="b1", household="h", account="di", symbol="XYZ",
                      price=Decimal(10), notional=Decimal("10010"), quantity=Decimal(1000))
    broker: Any = SimpleNamespace(capabilities=Capabilities(fractional=fractional, notional=False,
                                                            specific_lots=False, market_on_close=True),
                                  commission=lambda quantity, price: Decimal(0))
    request = _buy_within(b, cash, broker)
    assert (None if request is None else request.quantity) == shares
    if request is not None and request.quantity is not None:
        assert request.quantity * Decimal("10.01") <= min(cash, b.notional) and request.notional is None


def test_a_book_of_etfs_new_money_is_bought_the_same_way(tmp_path: Path, engine: Any, db_url: str) -> None:
    """`[accounts.targets]`: the engine's purchase for the underweight asset class goes through the same
    intents (tests/cli/test_targets_cli.py plans it: $12,000 of VTI, $2,000 of BND, $5,000 of cash)."""
    text = targets_prices(80.0)
    (tmp_path / "prices.csv").write_text(text)
    cfg = tmp_path / "tlh.toml"
    cfg.write_text(CONFIG.replace('database_url = "sqlite:///tlh.db"', f'database_url = "{db_url}"\nmode = "paper"'))
    settings, prices = load_settings(cfg), parse_prices(text)
    bookkeeping.book(engine, settings, parse("date,account,symbol,side,quantity,price,fees,lot_id\n"
                                             "2024-03-01,tax,VTI,buy,60,200,,v1\n2024-03-01,tax,BND,buy,25,80,,b1\n",
                                             "t.csv", {"tax"}))
    day = prices.last_day()
    assert day is not None
    broker = PaperBroker(engine, settings.brokers.paper, settings.accounts, prices, day)
    result = run_cycle(engine, settings, {"paper": broker}, prices, day, "paper", _policy())
    (buy,) = result.plan.purchases
    (order,) = _rows(engine, PaperOrder)
    assert (order.client_order_id, order.symbol, order.notional) == (
        f"tlh-{result.plan.run_id}-b1-buy", "BND", buy.notional)
    (intent,) = _rows(engine, OrderIntent)
    assert (intent.status, intent.lots) == ("filled", ["new_money"])
    assert sync(engine, settings, {"paper": broker}).in_sync


def test_a_stopping_daemon_invests_no_new_money(tmp_path: Path, db_url: str) -> None:
    """SIGTERM arrived as the harvest began (in-process `tlh run`): the purchases are not started, each says
    why, and nothing reaches the broker."""
    settings, _, _ = household(tmp_path, db_url)
    stop = threading.Event()
    service = Service(settings, SystemClock(), stop)
    try:
        seed(service.engine, settings)
        stop.set()
        result = service.cycle(AS_OF)
        assert len(result.plan.purchases) == 4 and all(o.buy is None for o in result.outcomes)
        assert _rows(service.engine, PaperOrder) == []
        assert {(i.status, i.error) for i in _rows(service.engine, OrderIntent)} == {
            ("skipped", "the daemon is stopping")}
        assert len(_alerts(service.engine, "purchase_skipped")) == 4
    finally:
        service.engine.dispose()
