"""`tlh sync` and `tlh orders`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from daemon.cli.delivery import deliver_raised
from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_csv, print_json, print_table


def sync_cmd(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
    retry: Annotated[bool, typer.Option(
        "--retry", help="First book the quarantined items again (after importing what they were missing).")] = False,
) -> None:
    """Pull new fills and activities (corporate actions, transfers) from every account's broker into the
    ledger, then reconcile positions. What the ledger cannot apply is quarantined (see `tlh quarantine`)."""
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
        report = sync(engine, settings, brokers, retry=retry)
        deliver_raised(engine, settings)  # wash-sale and mismatch alerts go out now, as the daemon's do
    finally:
        for broker in brokers.values():
            broker.close()
        engine.dispose()
    out = {"fills": report.fills, "activities": report.activities, "quarantined": report.quarantined,
           "retried": report.retried, "mismatches": report.mismatches, "errors": report.errors,
           "wash_sale_alerts": report.wash_alerts, "in_sync": report.in_sync}
    if fmt is Format.JSON:
        print_json(out)
    else:
        for account, n in sorted(report.fills.items()):
            problems = report.mismatches.get(account)
            state = "OUT OF SYNC: " + "; ".join(problems) if problems else "in sync"
            activities = report.activities.get(account, 0)
            also = f", {activities} corporate action(s)/transfer(s)" if activities else ""
            typer.echo(f"{account}: {n} new fill(s){also}, {state}")
        for account, retried in sorted(report.retried.items()):
            for item in retried:
                typer.echo(f"{account}: booked from the quarantine: {item}")
        for account, put_aside in sorted(report.quarantined.items()):
            for item in put_aside:
                typer.echo(f"{account}: QUARANTINED {item}")
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
# On a narrow terminal the leg and the fill stay; what was asked (quantity, notional) goes before them.
ORDER_PRIORITY = {"leg": 1, "quantity": 3, "notional": 3, "filled_avg_price": 2}


def orders_cmd(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only this run's orders.")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """The order log: every intent and broker order, with pair, leg, ids, status, fills and errors."""
    from daemon import review
    from daemon.store import migrate
    from daemon.store.db import make_engine, read_connection

    settings = context(ctx).settings
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with read_connection(engine) as connection:  # Core rows: a listing never loads the ORM
            rows = review.order_rows(connection, run)
    finally:
        engine.dispose()
    if fmt is Format.JSON:
        print_json(rows)
    elif fmt is Format.CSV:
        print_csv(rows, ORDER_COLUMNS)
    else:
        print_table("Orders" + (f" of run {run}" if run else ""), rows, TABLE_COLUMNS, empty="no orders yet",
                    priority=ORDER_PRIORITY)


QUARANTINE_COLUMNS = ["id", "account", "item", "reason", "created_at", "source", "resolved_at", "resolution"]
quarantine_app = typer.Typer(help="Fills and activities the ledger could not apply (they hold their account "
                                  "out of sync until resolved).")


@quarantine_app.callback(invoke_without_command=True)
def quarantine_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Resolved items too.")] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """List quarantined items: what, why, and since when."""
    if ctx.invoked_subcommand is not None:
        return
    from daemon.service import quarantine
    from daemon.store import migrate
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        rows = quarantine.rows(engine, include_resolved=all_)
    finally:
        engine.dispose()
    if fmt is Format.JSON:
        print_json(rows)
    elif fmt is Format.CSV:
        print_csv(rows, QUARANTINE_COLUMNS)
    else:
        columns = QUARANTINE_COLUMNS if all_ else QUARANTINE_COLUMNS[:6]
        print_table("Quarantine", rows, columns, empty="nothing quarantined")
        if rows and not all_:
            typer.echo("Fix the cause and run `tlh sync --retry`, or book an item yourself and "
                       "`tlh quarantine resolve ID --note TEXT`.")


@quarantine_app.command("resolve")
def quarantine_resolve(
    ctx: typer.Context,
    ident: Annotated[int, typer.Argument(metavar="ID", help="The item's id (tlh quarantine).")],
    note: Annotated[str, typer.Option("--note", help="How it was resolved (kept with the item).")],
) -> None:
    """Mark a quarantined item resolved (booked by hand, or not a ledger event); it is never booked from a
    broker page again. The account is back in sync once the next sync agrees with the broker."""
    from daemon.service import quarantine
    from daemon.store import migrate
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        row = quarantine.resolve(engine, ident, note)
    except quarantine.QuarantineError as exc:
        fail(str(exc))
        return
    finally:
        engine.dispose()
    typer.echo(f"#{row.id} ({row.account_id}, {row.source} {row.external_id}) resolved: {row.resolution}")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_cmd)
    app.add_typer(quarantine_app, name="quarantine")
    app.command("orders")(orders_cmd)
