"""The harvest shell (daemon/harvest.py) on SQLite and PostgreSQL: what the store says about each account
reaches the engine, and the engine's household-wide decisions follow from it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from daemon import bookkeeping
from daemon.config.models import Settings
from daemon.engine import SkipReason
from daemon.harvest import AccountFacts, plan_and_record
from daemon.importers.csv_trades import parse
from daemon.prices import parse as parse_prices
from daemon.store import ledger_repo
from daemon.store.db import transaction
from daemon.store.models import AccountRow

SETTINGS = Settings.model_validate({
    "substitutes": "",
    "accounts": [{"id": "tax", "household": "h"}, {"id": "ira", "household": "h", "type": "traditional_ira"}],
    "identical": [{"symbols": ["VOO", "IVV"]}],
    "asset_classes": [{"name": "large", "members": ["VOO", "VV"]}],
    "harvest": {"circuit_breaker": False, "max_turnover_pct": 1},
})
TRADES = """date,account,symbol,side,quantity,price
2024-01-02,tax,VOO,buy,100,480
2024-02-01,ira,VV,buy,10,200
"""
PRICES = parse_prices("date,symbol,close\n2024-06-03,VOO,440\n2024-06-03,VV,210\n2024-06-03,IVV,440\n")
AS_OF = date(2024, 6, 3)
FACTS = {"tax": AccountFacts(Decimal(0)), "ira": AccountFacts(Decimal(0))}  # both brokers read


def _book(engine: Any) -> None:
    bookkeeping.book(engine, SETTINGS, parse(TRADES, "t.csv", {"tax", "ira"}))


def test_an_ira_out_of_sync_in_the_store_skips_the_households_loss_sales(engine: Any) -> None:
    _book(engine)
    with transaction(engine) as session:
        assert plan_and_record(session, SETTINGS, PRICES, AS_OF, "dry-run", FACTS).pairs  # trusted: planned
        ira = session.get_one(AccountRow, "ira")
        ira.in_sync, ira.sync_detail = False, "fills: a page failed to book"
    with transaction(engine) as session:
        result = plan_and_record(session, SETTINGS, PRICES, AS_OF, "dry-run", FACTS)
    assert result.pairs == ()
    (skip,) = [s for s in result.skipped if s.symbol == "VOO"]
    assert skip.reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC
    assert "ira is out of sync with its broker (fills: a page failed to book)" in skip.detail
    with transaction(engine) as session:  # an IRA whose broker could not be read in this run: the same
        session.get_one(AccountRow, "ira").in_sync = True
        result = plan_and_record(session, SETTINGS, PRICES, AS_OF, "dry-run", {"tax": FACTS["tax"]})
    (skip,) = [s for s in result.skipped if s.symbol == "VOO"]
    assert skip.reason is SkipReason.HOUSEHOLD_OUT_OF_SYNC and "ira could not be read in this run" in skip.detail
    with transaction(engine) as session:
        assert ledger_repo.load_ledger(session, "h").open_lots  # nothing booked by a plan
        assert session.scalar(sa.select(sa.func.count()).select_from(AccountRow)) == 2


K401 = Settings.model_validate({
    **SETTINGS.model_dump(exclude={"accounts"}),
    "accounts": [{"id": "tax", "household": "h"},
                 {"id": "k401", "household": "h", "type": "401k",
                  "recurring": [{"symbol": "IVV", "amount": 500, "day_of_month": 8}]}],
})


def test_a_401k_contribution_ahead_skips_the_harvest(engine: Any) -> None:
    # The 401(k) buys IVV on the 8th: in 2024-06-08 is a Saturday, so Monday 2024-06-10, 7 days after the
    # run; VOO sold at a loss today would be washed, permanently, by it.
    bookkeeping.book(engine, K401, parse("date,account,symbol,side,quantity,price\n2024-01-02,tax,VOO,buy,100,480\n",
                                         "t.csv", {"tax", "k401"}))
    facts = {"tax": AccountFacts(Decimal(0)), "k401": AccountFacts(Decimal(0))}
    with transaction(engine) as session:
        result = plan_and_record(session, K401, PRICES, AS_OF, "dry-run", facts)
    assert result.pairs == ()
    (skip,) = [s for s in result.skipped if s.symbol == "VOO"]
    assert skip.reason is SkipReason.SCHEDULED_PURCHASE
    assert "k401's recurring purchase of IVV on 2024-06-10 ($500.00)" in skip.detail
    warn = K401.model_copy(update={"harvest": K401.harvest.model_copy(update={"scheduled_purchases": "warn"})})
    with transaction(engine) as session:
        result = plan_and_record(session, warn, PRICES, AS_OF, "dry-run", facts)
    (pair,) = result.pairs
    (alert,) = [a for a in result.alerts if a.kind == "scheduled_purchase"]
    assert "pause k401's recurring purchase of IVV on 2024-06-10" in alert.message and "2024-07-04" in alert.message
