"""The real service cycle, day after day through the 2008 crash into 2009, on the paper broker with real
closes (tests/fixtures/soak_closes.csv.gz, a slice of the shared price data), with the daemon's process
killed now and then and down for a week twice: after every day the books must be right
(tests.soak.invariants)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from daemon.market_calendar import sessions
from daemon.store.db import reading
from daemon.store.models import HarvestRun, OrderIntent, PaperFill, PaperOrder, TradeRow
from tests.soak import household, invariants
from tests.soak.driver import FAULTS, Soak

FIXTURES = Path(__file__).parent.parent / "fixtures"
CLOSES = FIXTURES / "soak_closes.csv.gz"
SECURITIES = FIXTURES / "soak_securities.csv"


def _soak(tmp_path: Path) -> Soak:
    return Soak.open(household.write(tmp_path, CLOSES, SECURITIES))


def test_the_books_stay_right_every_day_from_2008_09_to_2009_03(tmp_path: Path) -> None:
    soak = _soak(tmp_path)
    # The daemon is down for a week in the crash, and over the new year (its first run is in 2009).
    down = {s.day for s in sessions(date(2008, 10, 20), date(2008, 10, 24))} | \
        {s.day for s in sessions(date(2008, 12, 29), date(2009, 1, 2))}
    try:
        soak.run(date(2008, 9, 2), date(2009, 3, 31), crash_every=9, down=down)
        assert soak.problems == []
        assert soak.days_run == [s.day for s in sessions(date(2008, 9, 2), date(2009, 3, 31)) if s.day not in down]
        assert soak.skipped == sorted(down)
        harvested = invariants.filled_pairs(soak.engine)
    finally:
        soak.close()
    # The span must have exercised what the checks are about: harvests in both taxable accounts in both
    # years, swap backs, and crashes at several points of a run, restarted at once and the next day.
    kinds = {(p["account"], p["kind"]) for _, p in harvested}
    assert {("etf", "harvest"), ("di", "harvest"), ("di", "swap_back")} <= kinds
    assert {d.year for d, _ in harvested} == {2008, 2009}
    assert soak.figures[2008].harvested_losses > Decimal(10_000)
    assert len({fault for _, fault, _ in soak.crashes}) >= 3
    assert {same_day for _, _, same_day in soak.crashes} == {True, False}
    assert set(FAULTS) >= {fault for _, fault, _ in soak.crashes}


@pytest.fixture(scope="module")
def short_soak(tmp_path_factory: pytest.TempPathFactory) -> Soak:
    """Nine days of September 2008, with harvests and purchases, and clean books."""
    soak = _soak(tmp_path_factory.mktemp("short"))
    soak.run(date(2008, 9, 2), date(2008, 9, 12))
    assert soak.problems == []
    assert invariants.filled_pairs(soak.engine), "the short soak should harvest something"
    return soak


def test_the_checks_see_an_order_the_daemon_never_tracked(short_soak: Soak) -> None:
    """An order at the broker that no intent sent, and its fill the ledger never booked."""
    now = datetime.now(UTC)
    with short_soak.engine.begin() as conn:
        conn.execute(sa.insert(PaperOrder.__table__).values(
            client_order_id="stray", broker_order_id="paper-stray", account_id="di", symbol="JPM", side="buy",
            quantity=Decimal(1), time_in_force="day", status="filled", filled_quantity=Decimal(1),
            filled_avg_price=Decimal(40), trade_date=date(2008, 9, 12), submitted_at=now, updated_at=now))
        conn.execute(sa.insert(PaperFill.__table__).values(
            fill_id="stray", client_order_id="stray", account_id="di", symbol="JPM", side="buy",
            quantity=Decimal(1), price=Decimal(40), time=now, seq=10_000))
    try:
        found = invariants.check(short_soak.engine, short_soak.settings, date(2008, 9, 12))
        assert any("di: broker and ledger disagree" in p and "JPM" in p for p in found), found
        assert "broker order stray has no intent" in found
    finally:
        with short_soak.engine.begin() as conn:
            conn.execute(sa.delete(PaperFill.__table__).where(PaperFill.fill_id == "stray"))
            conn.execute(sa.delete(PaperOrder.__table__).where(PaperOrder.client_order_id == "stray"))


def test_the_checks_see_an_order_left_open(short_soak: Soak) -> None:
    with short_soak.engine.begin() as conn:
        cid = conn.scalar(sa.select(OrderIntent.client_order_id).where(OrderIntent.leg == "buy").limit(1))
        old = conn.execute(sa.select(OrderIntent.status, OrderIntent.error).where(
            OrderIntent.client_order_id == cid)).one()
        conn.execute(sa.update(OrderIntent).where(OrderIntent.client_order_id == cid).values(
            status="pending", error=None))
    try:
        found = invariants.check(short_soak.engine, short_soak.settings, date(2008, 9, 12))
        assert f"order {cid} is left pending" in found
    finally:
        with short_soak.engine.begin() as conn:
            conn.execute(sa.update(OrderIntent).where(OrderIntent.client_order_id == cid).values(
                status=old.status, error=old.error))


def test_the_checks_see_a_buy_of_what_was_just_sold_at_a_loss(short_soak: Soak) -> None:
    """A daemon's buy of the harvested stock three days after the harvest (in memory: the store is left as
    it is), and a sell the ledger booked from other lots than its plan named."""
    day, pair = next((d, p) for d, p in invariants.filled_pairs(short_soak.engine) if p["kind"] == "harvest")
    states = invariants._ledger(short_soak.engine, short_soak.settings)
    trades = _trades(short_soak)
    trades["again"] = TradeRow(trade_id="again", household_id="soak", account_id="di", date=day + timedelta(days=3),
                               symbol=pair["sell_symbol"], side="buy", quantity=Decimal(1), price=Decimal(1),
                               source="paper")
    found = invariants.buys_after_losses(short_soak.settings, states, trades)
    assert found == [f"di bought {pair['sell_symbol']} on {day + timedelta(days=3)}: {pair['sell_symbol']} was "
                     f"sold at a loss on {day} in di"]
    with reading(short_soak.engine) as session:
        intents = list(session.scalars(sa.select(OrderIntent)))
        plans = {r.id: r.plan or {} for r in session.scalars(sa.select(HarvestRun))}
    assert invariants.sales_as_planned(states, trades, intents, plans) == []
    run = next(i.run_id for i in intents if i.pair_id == pair["pair_id"] and i.leg == "sell"
               and plans[i.run_id]["as_of"] == day.isoformat())
    planned = next(p for p in plans[run]["pairs"] if p["pair_id"] == pair["pair_id"])
    planned["lot_sales"] = [{**s, "lot_id": "elsewhere"} for s in planned["lot_sales"]]
    found = invariants.sales_as_planned(states, trades, intents, plans)
    assert len(found) == 1 and "the plan named {'elsewhere'" in found[0]


def test_the_checks_see_a_harvested_loss_washed_by_an_iras_purchase(short_soak: Soak) -> None:
    """An IRA purchase the daemon was never told about, of a stock it just harvested: the loss is washed for
    good, and the check names it (the soak's own household configures every such purchase)."""
    day, pair = next((d, p) for d, p in invariants.filled_pairs(short_soak.engine) if p["kind"] == "harvest")
    symbol, price = pair["sell_symbol"], Decimal(pair["sell_price"])
    from daemon import bookkeeping
    from daemon.importers.csv_trades import parse

    text = ("date,account,symbol,side,quantity,price,fees,lot_id\n"
            f"{day},ira,{symbol},buy,{pair['sell_quantity']},{price},,stray-ira\n")
    bookkeeping.book(short_soak.engine, short_soak.settings, parse(text, "stray.csv", {"ira"}))
    found = invariants.washes_created(invariants._ledger(short_soak.engine, short_soak.settings),
                                      _trades(short_soak))
    assert any(f"{symbol} sold {day}" in p and "ira's own (csv) purchase" in p and "for good" in p
               for p in found), found


def _trades(soak: Soak) -> dict:
    with reading(soak.engine) as session:
        return invariants._trades(session)


@pytest.mark.postgres
def test_the_books_stay_right_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """Six weeks of the same soak on PostgreSQL (its NUMERIC columns, its transactions), crashes included."""
    soak = Soak.open(household.write(tmp_path, CLOSES, SECURITIES, db=pg_url))
    try:
        soak.run(date(2008, 9, 2), date(2008, 10, 10), crash_every=5)
        assert soak.problems == []
        assert soak.crashes
        assert len(invariants.filled_pairs(soak.engine)) >= 10
    finally:
        soak.close()
