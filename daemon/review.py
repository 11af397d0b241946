"""The review queries: what `tlh runs`, `tlh alerts`, `tlh orders`, `tlh lots` and `tlh gains` list, as the plain
dicts of their `--format json`. The CLI and the dashboard (daemon.web) both call these, so a figure on a page is
the figure the command prints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from daemon import views
from daemon.config.models import Settings
from daemon.ledger import LedgerState, gains
from daemon.store import ledger_repo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from daemon.prices import PriceBook  # annotations only: `gains` never loads the price modules
    from daemon.store.sql import Sql

# The queries read the Core tables (rows with the columns as attributes), from a Core connection
# (db.read_connection: the listings never load the ORM) or a session. SQLAlchemy is imported by the queries
# that use it: the ledger's (lots, gains) go through daemon.store.sql and, on a SQLite file, never load it.


def run_row(run: Any) -> dict[str, Any]:
    pairs = (run.plan or {}).get("pairs", [])
    return {"id": run.id, "as_of": run.as_of, "mode": run.mode, "status": run.status,
            "household": run.household_id, "started_at": run.started_at, "finished_at": run.finished_at,
            "pairs": len(pairs), "estimated_loss": sum((Decimal(p["estimated_loss"]) for p in pairs), Decimal(0)),
            "paused": (run.plan or {}).get("paused"), "error": run.error}


def runs(session: Session | Connection, limit: int | None = 50) -> list[dict[str, Any]]:
    """Harvest runs, newest first."""
    import sqlalchemy as sa

    from daemon.store.db import connection_of
    from daemon.store.tables import HARVEST_RUNS

    query = sa.select(HARVEST_RUNS).order_by(HARVEST_RUNS.c.started_at.desc(), HARVEST_RUNS.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [run_row(r) for r in connection_of(session).execute(query)]


def run_detail(session: Session | Connection, run_id: str) -> dict[str, Any] | None:
    """One run: its row, its stored plan (pairs, skipped candidates with reasons, restrictions, alerts), the
    orders it produced and the alerts it raised."""
    import sqlalchemy as sa

    from daemon.store.db import connection_of
    from daemon.store.tables import HARVEST_RUNS

    run = connection_of(session).execute(sa.select(HARVEST_RUNS).where(HARVEST_RUNS.c.id == run_id)).first()
    if run is None:
        return None
    return {**run_row(run), "plan": run.plan or {}, "orders": order_rows(session, run=run_id),
            "alerts": alerts(session, run=run_id, limit=None)}


def alert_row(row: Any) -> dict[str, Any]:
    from daemon.alerts.store import AlertRecord  # not daemon.alerts: delivery loads structlog

    record = AlertRecord.of(row)
    return {**record.to_dict(), "delivered": row.delivered, "delivered_to": list(record.delivered_to)}


def alerts(session: Session | Connection, since: date | None = None, limit: int | None = 200, *,
           run: str | None = None, severity: str | None = None) -> list[dict[str, Any]]:
    """Alerts newest first; `since` is a UTC day."""
    import sqlalchemy as sa

    from daemon.store.db import connection_of
    from daemon.store.tables import ALERTS

    query = sa.select(ALERTS).order_by(ALERTS.c.created_at.desc(), ALERTS.c.id.desc())
    if since is not None:
        query = query.where(ALERTS.c.created_at >= datetime.combine(since, datetime.min.time(), UTC))
    if run is not None:
        query = query.where(ALERTS.c.run_id == run)
    if severity is not None:
        query = query.where(ALERTS.c.severity == severity)
    if limit is not None:
        query = query.limit(limit)
    return [alert_row(r) for r in connection_of(session).execute(query)]


def _broker_order(o: Any) -> dict[str, Any]:
    return {"broker_order_id": o.broker_order_id, "status": o.status, "quantity": o.quantity,
            "filled_quantity": o.filled_quantity, "filled_avg_price": o.filled_avg_price,
            "submitted_at": o.submitted_at, "updated_at": o.updated_at}


def order_rows(session: Session | Connection, run: str | None = None, *, account: str | None = None,
               symbol: str | None = None, status: str | None = None, leg: str | None = None) -> list[dict[str, Any]]:
    """The order log, oldest first: every intent with its broker orders."""
    import sqlalchemy as sa

    from daemon.store.db import connection_of
    from daemon.store.tables import ORDER_INTENTS, ORDERS

    intent = ORDER_INTENTS.c
    where = []
    if run:
        where.append(intent.run_id == run)
    if account:
        where.append(intent.account_id == account)
    if symbol:
        where.append(intent.symbol == symbol.upper())
    if status:
        where.append(intent.status == status)
    if leg:
        where.append(intent.leg == leg)
    connection = connection_of(session)
    intents = connection.execute(sa.select(ORDER_INTENTS).where(*where)
                                 .order_by(intent.created_at, intent.pair_id, intent.leg.desc())).all()
    by_intent: dict[str, list[dict[str, Any]]] = {}
    # One query for every intent's broker orders (not one per intent): the same filters, joined.
    joined = sa.select(ORDERS).join(ORDER_INTENTS, intent.client_order_id == ORDERS.c.client_order_id)
    for o in connection.execute(joined.where(*where).order_by(ORDERS.c.id)):
        by_intent.setdefault(o.client_order_id, []).append(_broker_order(o))
    return [{
        "run_id": i.run_id, "pair_id": i.pair_id, "leg": i.leg, "client_order_id": i.client_order_id,
        "broker_order_id": i.broker_order_id, "account": i.account_id, "symbol": i.symbol, "side": i.side,
        "status": i.status, "quantity": i.quantity, "notional": i.notional, "lots": i.lots,
        "filled_quantity": i.filled_quantity, "filled_avg_price": i.filled_avg_price,
        "created_at": i.created_at, "updated_at": i.updated_at, "error": i.error,
        "broker_orders": by_intent.get(i.client_order_id, []),
    } for i in intents]


def ledger_states(session: Session | Connection | Sql, settings: Settings) -> list[LedgerState]:
    """Every configured household's ledger, in household order."""
    return [ledger_repo.load_ledger(session, h) for h in sorted({a.household for a in settings.accounts})]


def sales_states(session: Session | Connection | Sql, settings: Settings) -> list[LedgerState]:
    """`ledger_states` with only the dispositions read (lots and matches left empty): enough for
    `gain_rows` and `gains_summary`, which look at nothing else, in a fraction of the time."""
    return [LedgerState(household=h, dispositions=ledger_repo.load_dispositions(session, h))
            for h in sorted({a.household for a in settings.accounts})]


def open_lot_states(session: Session | Connection | Sql, settings: Settings) -> list[LedgerState]:
    """`ledger_states` with only the open lots read (dispositions and matches left empty): enough for
    `lot_rows`, without a long history's closed lots (100,000 trades: 0.1 s against 3 s)."""
    return [LedgerState(household=h, lots=ledger_repo.load_open_lots(session, h))
            for h in sorted({a.household for a in settings.accounts})]


def lot_rows(states: Iterable[LedgerState], account: str | None, prices: PriceBook | None,
             as_of: date | None = None) -> list[dict[str, Any]]:
    """Open lots (of one account, or all), valued at the closes on or before `as_of` (default: the price
    file's last day) when there is a price file."""
    if as_of is None:
        as_of = prices.last_day() if prices else None
    open_lots = [lot for s in states for lot in s.open_lots if account in (None, lot.account)]
    return views.lot_rows(open_lots, prices, as_of)


def gain_rows(states: Iterable[LedgerState], year: int | None, account: str | None) -> list[gains.GainRow]:
    """Realized gains and losses (of one tax year and account, or all), in sale order."""
    dispositions = [d for s in states for d in s.dispositions
                    if (year is None or d.sold.year == year) and account in (None, d.account)]
    return gains.rows(sorted(dispositions, key=lambda d: (d.sold, d.seq)))


def gains_summary(states: Iterable[LedgerState], settings: Settings, year: int | None,
                  account: str | None) -> list[dict[str, Any]]:
    """`tlh gains --summary`: one row per return and year, each year's carry-forward chained from the years
    before it."""
    from daemon import tax_returns
    from daemon.cli.dates import today as exchange_today

    dispositions = [d for s in states for d in s.dispositions if account in (None, d.account)]
    rows = [tax_returns.summary_dict(y) for y in tax_returns.schedule(settings, dispositions, through=year)
            if year is None or y.year == year]
    # A year stays provisional until 30 days after its last trading day (a January purchase can wash a
    # December loss).
    open_years = tax_returns.provisional_years(settings, {r["year"] for r in rows}, exchange_today(settings))
    for r in rows:
        r["provisional"] = r["year"] in open_years
    return rows


class UnknownTaxpayer(ValueError):
    pass


def form_8949_lines(session: Session | Connection, settings: Settings, states: Iterable[LedgerState], year: int | None,
                    account: str | None, taxpayer: str | None) -> list[Any]:
    """`tlh gains --format 8949`: the year's Form 8949 lines against each broker's 1099-B (of `account` and
    of `taxpayer`'s return or accounts, or all). Raises UnknownTaxpayer."""
    from daemon import tax_returns

    accounts = None if account is None else {account}
    if taxpayer is not None:
        own = tax_returns.returns_of(settings, taxpayer)
        if own is None:
            raise UnknownTaxpayer(f"unknown taxpayer {taxpayer!r}; returns and owners: "
                                  f"{', '.join(tax_returns.taxpayer_names(settings))}")
        accounts = own if accounts is None else accounts & own
    households = sorted({a.household for a in settings.accounts})
    trades = [t for h in households for t in ledger_repo.load_trades(session, h)]
    return tax_returns.form_8949(settings, states, trades, year, accounts)


def taxpayer_accounts(settings: Settings) -> dict[str, list[str]]:
    """Each return (taxpayer) with the accounts reported on it, in configuration order."""
    from daemon.config import taxpayers

    out: dict[str, list[str]] = {r.id: [] for r in taxpayers.returns(settings)}
    for account, ret in taxpayers.returns_by_account(settings).items():
        out.setdefault(ret.id, []).append(account)
    order = {a.id: i for i, a in enumerate(settings.accounts)}
    return {k: sorted(v, key=order.__getitem__) for k, v in out.items()}
