"""Finding the cash earlier harvests left idle: a sale that filled (perhaps late, adopted by a later run)
whose buy never filled (abandoned, skipped, rejected, canceled). The engine decides what to buy with it
(`daemon.engine.reinvest`); this only reads the order intents.

A reinvestment's buy intent names the buy it stands for in its `lots` ("reinvests:<client order id>"): once
that buy filled (or is in flight), the cash counts as invested. Sales older than `LOOKBACK` are left alone:
by then the cash is the account's own business.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from daemon.config.models import Settings
from daemon.engine.types import Uninvested
from daemon.service.orders import FINAL
from daemon.store.models import HarvestRun, OrderIntent

LOOKBACK = timedelta(days=30)
REINVESTS = "reinvests:"


def reinvested(session: Session) -> set[str]:
    """Buy intents whose cash a reinvestment bought back in (filled) or is buying (not final yet)."""
    rows = session.execute(sa.select(OrderIntent.lots, OrderIntent.status, OrderIntent.filled_quantity)
                           .where(OrderIntent.leg == "buy", OrderIntent.lots.is_not(None)))
    done: set[str] = set()
    for lots, status, filled in rows:
        if filled > 0 or status not in FINAL:
            done |= {str(x)[len(REINVESTS):] for x in (lots or ()) if str(x).startswith(REINVESTS)}
    return done


def uninvested(session: Session, settings: Settings, as_of: date) -> tuple[Uninvested, ...]:
    households: Mapping[str, str] = {a.id: a.household for a in settings.accounts}
    rows = session.execute(
        sa.select(OrderIntent, HarvestRun.as_of).join(HarvestRun, HarvestRun.id == OrderIntent.run_id)
        .where(HarvestRun.as_of >= as_of - LOOKBACK, HarvestRun.as_of <= as_of)).all()
    legs: dict[tuple[str, str], dict[str, OrderIntent]] = {}
    sold_on: dict[tuple[str, str], date] = {}
    for intent, day in rows:
        legs.setdefault((intent.run_id, intent.pair_id), {})[intent.leg] = intent
        sold_on[(intent.run_id, intent.pair_id)] = day
    done = reinvested(session)
    out = []
    for key, pair in sorted(legs.items()):
        sell, buy = pair.get("sell"), pair.get("buy")
        if sell is None or buy is None or buy.lots:  # a reinvestment's own buy has no sale
            continue
        if sell.filled_quantity <= 0 or sell.filled_avg_price is None or sell.status not in FINAL:
            continue
        if buy.status not in FINAL or buy.filled_quantity > 0 or buy.client_order_id in done:
            continue
        amount = (sell.filled_quantity * sell.filled_avg_price).quantize(Decimal("0.01"))
        if amount < 1 or sell.account_id not in households:
            continue
        out.append(Uninvested(household=households[sell.account_id], account=sell.account_id,
                              sold_symbol=sell.symbol, meant_symbol=buy.symbol, amount=amount,
                              sold_on=sold_on[key], source=buy.client_order_id))
    return tuple(out)
