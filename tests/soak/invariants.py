"""What must hold after every day of the soak; each check returns the broken facts, in words.

The checks read the store and the paper broker as a person auditing the books would: the broker's
positions, its orders and fills, the ledger's lots and sales, and the plans the runs recorded.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from brokers.paper import PaperBroker
from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.ledger import gains
from daemon.ledger.types import LedgerState
from daemon.prices import PriceBook
from daemon.service.orders import FINAL
from daemon.store import ledger_repo
from daemon.store.db import reading
from daemon.store.models import HarvestRun, OrderIntent, PaperOrder, TradeRow

CENT = Decimal("0.01")
WINDOW = timedelta(days=30)


def _ledger(engine: Any, settings: Settings) -> list[LedgerState]:
    with reading(engine) as session:
        return [ledger_repo.load_ledger(session, h) for h in sorted({a.household for a in settings.accounts})]


def _trades(session: Any) -> dict[str, TradeRow]:
    return {t.trade_id: t for t in session.scalars(sa.select(TradeRow))}


def check(engine: Any, settings: Settings, day: date) -> list[str]:
    states = _ledger(engine, settings)
    with reading(engine) as session:
        trades = _trades(session)
        intents = list(session.scalars(sa.select(OrderIntent)))
        orders = {o.client_order_id: o for o in session.scalars(sa.select(PaperOrder))}
        plans = {r.id: r.plan or {} for r in session.scalars(sa.select(HarvestRun))}
    return [*positions(engine, settings, states, day), *orders_tracked(intents, orders, plans),
            *washes_created(states, trades), *buys_after_losses(settings, states, trades),
            *sales_as_planned(states, trades, intents, plans)]


def positions(engine: Any, settings: Settings, states: list[LedgerState], day: date) -> list[str]:
    """The ledger's open lots are the broker's positions, share for share; no account's cash is negative."""
    broker = PaperBroker(engine, settings.brokers.paper, settings.accounts, PriceBook(), day)
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for state in states:
        for lot in state.open_lots:
            held[(lot.account, lot.symbol)] += lot.quantity
    out = []
    for account in settings.accounts:
        at_broker = {p.symbol: p.quantity for p in broker.positions(account.id)}
        in_ledger = {s: q for (a, s), q in held.items() if a == account.id and q != 0}
        if at_broker != in_ledger:
            diff = {s: (at_broker.get(s), in_ledger.get(s)) for s in sorted(at_broker.keys() | in_ledger.keys())
                    if at_broker.get(s) != in_ledger.get(s)}
            out.append(f"{account.id}: broker and ledger disagree (broker, ledger): {diff}")
        cash = broker.account(account.id).cash
        if cash < 0:
            out.append(f"{account.id}: cash is negative ({cash})")
    return out


def _plan_ids(plan: dict[str, Any]) -> set[str]:
    return ({p["pair_id"] for p in plan.get("pairs", [])} | {p["purchase_id"] for p in plan.get("purchases", [])}
            | {r["reinvestment_id"] for r in plan.get("reinvestments", [])})


def orders_tracked(intents: list[OrderIntent], orders: dict[str, PaperOrder],
                   plans: dict[str, dict[str, Any]]) -> list[str]:
    """Every intent is terminal, with a reason unless filled, and names a run and one of its plan's items;
    every order at the broker is an intent's, sent once."""
    out = []
    for i in intents:
        if i.status not in FINAL:
            out.append(f"order {i.client_order_id} is left {i.status}")
        elif i.status != "filled" and not i.error and not (i.status == "canceled" and i.filled_quantity > 0):
            out.append(f"order {i.client_order_id} ended {i.status} without a reason")
        if i.run_id not in plans:
            out.append(f"order {i.client_order_id} names run {i.run_id}, which is not recorded")
        elif i.pair_id not in _plan_ids(plans[i.run_id]):
            out.append(f"order {i.client_order_id} names {i.pair_id}, which is not in run {i.run_id}'s plan")
        if i.broker_order_id is not None and i.client_order_id not in orders:
            out.append(f"order {i.client_order_id} has a broker id but the broker never saw it")
    known = {i.client_order_id for i in intents}
    out += [f"broker order {cid} has no intent" for cid in orders if cid not in known]
    return out


def _lots(state: LedgerState) -> dict[str, Any]:
    return {lot.lot_id: lot for lot in state.lots}


def washes_created(states: list[LedgerState], trades: dict[str, TradeRow]) -> list[str]:
    """No loss the daemon realized is washed by a purchase of the household that the daemon made or knew
    was coming (an account's configured recurring purchase)."""
    out = []
    for state in states:
        sales = {d.disposition_id: d for d in state.dispositions}
        lots = _lots(state)
        for m in state.matches:
            sale = trades[sales[m.disposition_id].trade_id]
            if sale.source != "paper":
                continue
            bought = trades[lots[m.lot_id].trade_id]
            who = "the daemon's" if bought.source == "paper" else f"{bought.account_id}'s own ({bought.source})"
            out.append(f"the loss of {sale.symbol} sold {sale.date} in {sale.account_id} ({m.quantity} shares, "
                       f"{m.disallowed} disallowed{', for good' if m.permanent else ''}) is washed by "
                       f"{who} purchase of {m.symbol} on {m.replacement_date} in {m.account}")
    return out


def buys_after_losses(settings: Settings, states: list[LedgerState], trades: dict[str, TradeRow]) -> list[str]:
    """No buy of the daemon (replacement, swap back, new money, reinvestment) is substantially identical to a
    symbol sold at a loss in the household in the 30 days before it."""
    identical = identical_groups(settings)
    out = []
    for state in states:
        losses = [(d.sold, identical.key(d.symbol), d) for d in state.dispositions
                  if d.kind == "sale" and d.proceeds < d.cost_basis]
        for t in trades.values():
            if t.source != "paper" or t.side != "buy" or t.household_id != state.household:
                continue
            key = identical.key(t.symbol)
            for sold, k, d in losses:
                if k == key and t.date - WINDOW <= sold <= t.date:
                    out.append(f"{t.account_id} bought {t.symbol} on {t.date}: {d.symbol} was sold at a loss on "
                               f"{sold} in {d.account}")
                    break
    return out


def sales_as_planned(states: list[LedgerState], trades: dict[str, TradeRow], intents: list[OrderIntent],
                     plans: dict[str, dict[str, Any]]) -> list[str]:
    """Each filled sell relieved exactly the lots its plan named, and the ledger's proceeds and basis are the
    fill's and the plan's (so the ledger's realized losses are the harvests')."""
    by_order: dict[str, list[Any]] = defaultdict(list)
    for state in states:
        for d in state.dispositions:
            t = trades[d.trade_id]
            if t.source == "paper" and t.order_id:
                by_order[t.order_id].append(d)
    out = []
    for i in intents:
        if i.leg != "sell" or i.filled_quantity == 0:
            continue
        pair = next((p for p in plans[i.run_id].get("pairs", []) if p["pair_id"] == i.pair_id), None)
        sold = by_order.get(i.broker_order_id or "", [])
        if pair is None:
            out.append(f"sell {i.client_order_id} is in no pair of its plan")
            continue
        planned = {s["lot_id"]: Decimal(s["quantity"]) for s in pair["lot_sales"]}
        booked: dict[str, Decimal] = defaultdict(Decimal)
        for d in sold:
            booked[d.lot_id] += d.quantity
        if i.status == "filled" and dict(booked) != planned:
            out.append(f"sell {i.client_order_id}: the ledger relieved {dict(booked)}, the plan named {planned}")
        proceeds = sum((d.proceeds for d in sold), Decimal(0))
        filled = i.filled_quantity * (i.filled_avg_price or 0)
        if abs(proceeds - filled) > CENT:
            out.append(f"sell {i.client_order_id}: the ledger's proceeds {proceeds} are not the fill's {filled}")
        if i.status == "filled":
            price = Decimal(pair["sell_price"])
            basis = sum((Decimal(s["quantity"]) * price - Decimal(s["gain"]) for s in pair["lot_sales"]), Decimal(0))
            ledger_basis = sum((d.cost_basis for d in sold), Decimal(0))
            if abs(basis - ledger_basis) > CENT * len(pair["lot_sales"]):
                out.append(f"sell {i.client_order_id}: the ledger's basis {ledger_basis} is not the plan's {basis}")
    return out


def filled_pairs(engine: Any) -> list[tuple[date, dict[str, Any]]]:
    """The pairs of every run whose sell filled (in part), with their run's trading day, in order."""
    with reading(engine) as session:
        rows = session.execute(sa.select(OrderIntent, HarvestRun).join(HarvestRun, HarvestRun.id == OrderIntent.run_id)
                               .where(OrderIntent.leg == "sell", OrderIntent.filled_quantity > 0)
                               .order_by(HarvestRun.as_of, OrderIntent.pair_id)).all()
    return [(run.as_of, p) for i, run in rows for p in (run.plan or {}).get("pairs", []) if p["pair_id"] == i.pair_id]


def totals(engine: Any, settings: Settings) -> dict[int, dict[str, Any]]:
    """Per year: the losses the daemon's harvest sales realized (positive, before wash adjustments), the pairs
    and swap backs whose sells filled, the purchases filled, and how many of the daemon's loss sales a
    purchase of its own washed."""
    states = _ledger(engine, settings)
    out: dict[int, dict[str, Any]] = defaultdict(lambda: {"harvested_losses": Decimal(0), "pairs": 0,
                                                          "swap_backs": 0, "purchases": 0, "washes_created": 0})
    with reading(engine) as session:
        trades = _trades(session)
        sells = {(i.run_id, i.pair_id): i.broker_order_id for i in session.scalars(
            sa.select(OrderIntent).where(OrderIntent.leg == "sell"))}
        bought = session.execute(sa.select(OrderIntent.pair_id, HarvestRun.as_of).join(
            HarvestRun, HarvestRun.id == OrderIntent.run_id).where(OrderIntent.leg == "buy",
                                                                  OrderIntent.filled_quantity > 0)).all()
        runs = {r.id: r.plan or {} for r in session.scalars(sa.select(HarvestRun))}
    harvest_orders = {sells.get((run, p["pair_id"])) for run, plan in runs.items() for p in plan.get("pairs", [])
                      if p["kind"] == "harvest"} - {None}
    for day, p in filled_pairs(engine):
        out[day.year]["pairs" if p["kind"] == "harvest" else "swap_backs"] += 1
    for pair_id, day in bought:
        if pair_id.startswith("b"):
            out[day.year]["purchases"] += 1
    for state in states:
        lots = _lots(state)
        sales = {d.disposition_id: d for d in state.dispositions}
        for d in state.dispositions:
            t = trades[d.trade_id]
            if t.source == "paper" and t.order_id in harvest_orders:
                out[d.sold.year]["harvested_losses"] += d.cost_basis - d.proceeds
        for m in state.matches:
            d = sales[m.disposition_id]
            if trades[d.trade_id].source == "paper" and trades[lots[m.lot_id].trade_id].source == "paper":
                out[d.sold.year]["washes_created"] += 1
    return dict(out)


def _cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def year_end(settings: Settings, config: Any, engine: Any, year: int) -> list[str]:
    """`tlh gains --summary --year` (what a person files) agrees with the ledger's sales of the year, and the
    carry-forward out of the year is what the next year's summary carries in."""
    from typer.testing import CliRunner

    from daemon.cli.main import app

    runner = CliRunner()
    out = []
    summaries = {}
    for y in (year, year + 1):
        result = runner.invoke(app, ["--config", str(config), "gains", "--summary", "--year", str(y),
                                     "--format", "json"])
        if result.exit_code != 0:
            return [f"tlh gains --summary --year {y} failed: {result.output}"]
        summaries[y] = {r["taxpayer"]: r for r in json.loads(result.stdout)}
    rows = [r for state in _ledger(engine, settings) for r in gains.rows(state.dispositions) if r.sold.year == year]
    # Form 8949 prints each row in cents, and Schedule D sums the printed rows.
    short = sum((_cents(r.proceeds) - _cents(r.cost_basis) + _cents(r.adjustment) for r in rows
                 if r.term.value == "short"), Decimal(0))
    long_ = sum((_cents(r.proceeds) - _cents(r.cost_basis) + _cents(r.adjustment) for r in rows
                 if r.term.value == "long"), Decimal(0))
    disallowed = sum((_cents(r.adjustment) for r in rows), Decimal(0))
    for taxpayer, s in summaries[year].items():
        want = {"short_term_net": short + Decimal(s["carryforward_in_short"]) * -1,
                "long_term_net": long_ + Decimal(s["carryforward_in_long"]) * -1, "disallowed": disallowed}
        for key, value in want.items():
            if abs(Decimal(s[key]) - value) > CENT:
                out.append(f"{year} {taxpayer}: the summary's {key} is {s[key]}, the ledger's sales give {value}")
        carried = Decimal(s["carryforward_short"]) + Decimal(s["carryforward_long"])
        net = short + long_ - Decimal(s["carryforward_in_short"]) - Decimal(s["carryforward_in_long"])
        if abs(carried - max(Decimal(0), -net - Decimal(s["ordinary_income_offset"]))) > CENT:
            out.append(f"{year} {taxpayer}: carries {carried} forward on a net of {net}")
        after = summaries[year + 1].get(taxpayer)
        if after is not None and (Decimal(after["carryforward_in_short"]), Decimal(after["carryforward_in_long"])) \
                != (Decimal(s["carryforward_short"]), Decimal(s["carryforward_long"])):
            out.append(f"{year + 1} {taxpayer}: carries in {after['carryforward_in_short']}/"
                       f"{after['carryforward_in_long']}, {year} carried out {s['carryforward_short']}/"
                       f"{s['carryforward_long']}")
    return out
