"""`tlh sync` and `tlh orders`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from daemon.cli.delivery import deliver_raised
from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_csv, print_json, print_table


def sync_cmd(ctx: typer.Context, fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE) -> None:
    """Pull new fills from every account's broker into the ledger, then reconcile positions."""
    from brokers.factory import make_brokers
    from daemon.prices import PriceBook, PriceFileError
    from daemon.prices import load as load_prices
    from daemon.service.sync import sync
    from daemon.store import migrate
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    if fmt is Format.CSV:
        fail("--format csv: sync reports, it does not list; use table or json")
    prices = PriceBook()
    if settings.brokers.paper.prices is not None:
        try:
            prices = load_prices(Path(settings.brokers.paper.prices))
        except PriceFileError as exc:
            fail(str(exc))
    as_of = prices.last_day() or datetime.now().date()
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    brokers = make_brokers(settings, engine, prices, as_of)
    try:
        report = sync(engine, settings, brokers)
        deliver_raised(engine, settings)  # wash-sale and mismatch alerts go out now, as the daemon's do
    finally:
        for broker in brokers.values():
            broker.close()
        engine.dispose()
    out = {"fills": report.fills, "mismatches": report.mismatches, "errors": report.errors,
           "wash_sale_alerts": report.wash_alerts, "in_sync": report.in_sync}
    if fmt is Format.JSON:
        print_json(out)
    else:
        for account, n in sorted(report.fills.items()):
            problems = report.mismatches.get(account)
            state = "OUT OF SYNC: " + "; ".join(problems) if problems else "in sync"
            typer.echo(f"{account}: {n} new fill(s), {state}")
        for account, error in sorted(report.errors.items()):
            typer.echo(f"{account}: error: {error}")
        for message in report.wash_alerts:
            typer.echo(f"alert: {message}")
    if not report.in_sync:
        raise typer.Exit(1)


ORDER_COLUMNS = ["run_id", "pair_id", "leg", "client_order_id", "broker_order_id", "account", "symbol", "status",
                 "quantity", "notional", "filled_quantity", "filled_avg_price", "created_at", "updated_at", "error"]
# The table: what a person looks for first (pair, leg, what and how it filled), ids last (dropped first).
TABLE_COLUMNS = ["pair_id", "leg", "account", "symbol", "status", "quantity", "notional", "filled_quantity",
                 "filled_avg_price", "created_at", "error", "run_id", "client_order_id", "broker_order_id",
                 "updated_at"]


def orders_cmd(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only this run's orders.")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """The order log: every intent and broker order, with pair, leg, ids, status, fills and errors."""
    from daemon import review
    from daemon.store import migrate
    from daemon.store.db import make_engine, transaction

    settings = context(ctx).settings
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            rows = review.order_rows(session, run)
    finally:
        engine.dispose()
    if fmt is Format.JSON:
        print_json(rows)
    elif fmt is Format.CSV:
        print_csv(rows, ORDER_COLUMNS)
    else:
        print_table("Orders" + (f" of run {run}" if run else ""), rows, TABLE_COLUMNS, empty="no orders yet")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_cmd)
    app.command("orders")(orders_cmd)
