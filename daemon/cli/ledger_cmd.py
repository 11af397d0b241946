"""`tlh import`, `tlh lots`, `tlh gains`: the ledger's commands. They need only database_url,
[[accounts]] and [[identical]] (plus a price file, if any, for unrealized gains)."""

from __future__ import annotations

import enum
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from daemon.cli import dates
from daemon.cli.dates import AsOfOption
from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_csv, print_json, print_table
from daemon.importers import ImportFormat, format_for

if TYPE_CHECKING:
    from brokers.protocol import Activity
    from daemon.config import Settings
    from daemon.ledger import LedgerState
    from daemon.prices import PriceBook


class GainsFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    F8949 = "8949"
    F8949_HTML = "8949-html"


MONEY = ("quantity", "cost_basis", "wash_sale_adjustment", "price", "unrealized_gain", "proceeds",
         "adjustment", "gain")


def _states(settings: Settings, sales_only: bool = False, open_lots_only: bool = False) -> list[LedgerState]:
    """Each household's ledger; `sales_only`: just its dispositions (review.sales_states), for gains;
    `open_lots_only`: just its open lots (review.open_lot_states), for lots."""
    from daemon import gc_pause, review
    from daemon.store import migrate, sql

    migrate.upgrade(settings.database_url)
    # Plain SQL (daemon.store.sql): on a SQLite file a listing never loads SQLAlchemy. A whole ledger is
    # many objects that all live on.
    with sql.reading(settings.database_url) as db, gc_pause.paused():
        if sales_only:
            return review.sales_states(db, settings)
        if open_lots_only:
            return review.open_lot_states(db, settings)
        return review.ledger_states(db, settings)


def _prices(settings: Settings) -> PriceBook | None:
    from daemon.prices import PriceFileError
    from daemon.prices import load as load_prices

    path = settings.brokers.paper.prices
    if path is None or not Path(path).exists():
        return None
    try:
        return load_prices(Path(path))
    except PriceFileError as exc:
        fail(str(exc))
        return None


def _check_account(settings: Settings, account: str | None) -> None:
    if account is not None and settings.account(account) is None:
        fail(f"unknown account {account!r}; configured: {', '.join(a.id for a in settings.accounts)}")


def import_trades(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: date,account,symbol,side,quantity,price[,fees,lot_id,time,"
                                              "acquired,basis]; Alpaca account activities (JSON); IBKR Flex "
                                              "report (XML); corporate actions (CSV, --format actions)")],
    fmt: Annotated[ImportFormat | None, typer.Option(
        "--format", help="csv, alpaca, ibkr or actions (default: by extension: .csv, .json, .xml)")] = None,
    account: Annotated[str | None, typer.Option(
        "--account", help="Our account id the trades belong to (required for alpaca: activities don't "
                          "name the account).")] = None,
) -> None:
    """Import trades from a CSV file, Alpaca account activities or an IBKR Flex report, or corporate actions
    (idempotent: re-importing adds nothing). All or none, except broker activities that cannot be mapped:
    those are quarantined (exit 1)."""
    from daemon import gc_pause

    settings = context(ctx).settings
    if fmt is None:
        fmt = format_for(file)
        if fmt is None:
            fail(f"{file}: cannot tell the format from the extension {file.suffix!r}; "
                 "give --format csv, alpaca or ibkr")
            return
    if account is not None and fmt is not ImportFormat.ALPACA:
        fail("--account applies to Alpaca activities only: "
             + ("each CSV row names its account" if fmt in (ImportFormat.CSV, ImportFormat.ACTIONS) else
                "a Flex report names IB account codes, mapped by each account's broker_account"))
        return
    _check_account(settings, account)
    with gc_pause.paused():  # reading and booking a large file builds objects that all live on
        _import(settings, file, fmt, account)


def _import(settings: Settings, file: Path, fmt: ImportFormat, account: str | None) -> None:
    from daemon import bookkeeping
    from daemon.bookkeeping import ImportedAction
    from daemon.importers import ImportedTrade, csv_actions, csv_trades
    from daemon.importers.csv_trades import TradeImportError
    from daemon.store import migrate

    unmapped: list[tuple[int, Activity]] = []
    try:
        imported: Sequence[ImportedTrade | ImportedAction]
        if fmt is ImportFormat.CSV:
            imported = csv_trades.read(file, {a.id for a in settings.accounts})
        elif fmt is ImportFormat.ACTIONS:
            imported = csv_actions.read(file, {a.id for a in settings.accounts})
        elif fmt is ImportFormat.ALPACA:
            if account is None:
                fail("--account is required for Alpaca activities (they do not name the account); "
                     f"configured: {', '.join(a.id for a in settings.accounts)}")
                return
            from daemon.importers import alpaca_activities

            report = alpaca_activities.read_report(file, account)
            imported, unmapped = report.imported, report.unmapped
        else:
            from daemon.importers import ibkr_flex

            try:
                codes = ibkr_flex.accounts_by_code(settings.accounts)
            except ValueError as exc:
                fail(f"configuration: {exc}")
                return
            if not codes:
                fail("no configured account has a broker_account (its IB account code, e.g. U1234567) "
                     "to map the report's accountId to")
                return
            report = ibkr_flex.read_report(file, codes)
            imported, unmapped = report.imported, report.unmapped
        migrate.upgrade(settings.database_url)
        # The URL, not an engine: a SQLite file is written without loading SQLAlchemy (daemon.store.sql).
        result = bookkeeping.book(settings.database_url, settings, imported, str(file), consume=True)  # used up
        put_aside = _quarantine(settings, fmt, file, unmapped)
    except TradeImportError as exc:
        fail(f"{exc}; nothing was imported")
        return
    note = f" (recomputed {', '.join(result.recomputed)} for backdated trades)" if result.recomputed else ""
    what = "corporate action(s)" if fmt is ImportFormat.ACTIONS else "trade(s)"
    typer.echo(f"{file}: {result.added} {what} added, {result.skipped} already present{note}")
    for line in put_aside:
        typer.echo(line)
    if unmapped:
        typer.echo("The account(s) stay out of sync until these are resolved: see `tlh quarantine`.")
        raise typer.Exit(1)


def _quarantine(settings: Settings, fmt: ImportFormat, file: Path,
                unmapped: Sequence[tuple[int, Activity]]) -> list[str]:
    """Activities of a broker file that cannot be mapped: quarantined (with an alert), never dropped."""
    if not unmapped:
        return []  # the common case loads neither the quarantine nor SQLAlchemy
    from daemon.service import quarantine
    from daemon.store.db import make_engine, transaction

    out = []
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            for line, activity in unmapped:
                account = settings.account(activity.account)
                household = account.household if account is not None else ""
                row = quarantine.put(session, activity.account, household, fmt.value, activity,
                                     f"{file}:{line}: {activity.problem}", None)
                ident = f"#{row.id}" if row is not None else "(already quarantined)"
                out.append(f"QUARANTINED {ident} {quarantine.describe(activity)}: {activity.problem}")
    finally:
        engine.dispose()
    return out


def lots(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    as_of: AsOfOption = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Open tax lots with adjusted basis, holding-period start and, with a price file, unrealized gain
    (prices and terms as of the exchange's current trading date, or --as-of)."""
    from daemon import review, views
    from daemon.ledger.types import term_of

    settings = context(ctx).settings
    _check_account(settings, account)
    prices = _prices(settings)
    day = dates.as_of(settings, as_of, prices)
    rows = review.lot_rows(_states(settings, open_lots_only=True), account, prices, day if prices else None)
    if prices is None:
        for row in rows:  # without prices, the term is still known
            row["term"] = term_of(row["acquired"], day).value
    if fmt is Format.JSON:
        print_json(rows)
        return
    if fmt is Format.CSV:
        print_csv(rows, [*views.LOT_COLUMNS, "price_date"])
        return
    quoted = sorted({r["price_date"] for r in rows if r.get("price_date")})
    title = f"Open lots as of {day}" + (f" (prices of {quoted[-1]})" if quoted and quoted[-1] != day else "")
    print_table(title, rows, views.LOT_COLUMNS, right=MONEY, empty="no open lots")


def gains_cmd(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", help="Sales in this year only.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    fmt: Annotated[GainsFormat, typer.Option("--format")] = GainsFormat.TABLE,
    summary: Annotated[bool, typer.Option("--summary", help="Net short/long, disallowed, carry-forward.")]
    = False,
    taxpayer: Annotated[str | None, typer.Option(
        "--taxpayer", help="Only this return's sales (a joint household's id, or an owner).")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write the output to this file.")] = None,
) -> None:
    """Realized gains and losses with wash-sale adjustments (Form 8949 with --format 8949)."""
    settings = context(ctx).settings
    _check_account(settings, account)
    if summary and (taxpayer is not None or output is not None):
        fail("--taxpayer and --output apply to --format 8949 and 8949-html")
    if summary:
        _summary(settings, year, account, fmt)
        return
    if fmt in (GainsFormat.F8949, GainsFormat.F8949_HTML):
        _form_8949(settings, year, account, taxpayer, fmt, output)
        return
    if taxpayer is not None or output is not None:
        fail("--taxpayer and --output apply to --format 8949 and 8949-html")
    if fmt in (GainsFormat.JSON, GainsFormat.CSV):
        _stream_gains(settings, year, account, fmt)
        return
    from daemon import review, views

    rows = [views.gain_row(r) for r in review.gain_rows(_states(settings, sales_only=True), year, account)]
    total = {c: sum((r[c] for r in rows), start=views.Decimal(0)) for c in
             ("proceeds", "cost_basis", "adjustment", "gain")}
    print_table("Realized gains" + (f" {year}" if year else ""), rows, views.GAIN_COLUMNS,
                right=MONEY, footer={"account": "Total", **total})


def _stream_gains(settings: Settings, year: int | None, account: str | None, fmt: GainsFormat) -> None:
    """The gains rows as JSON or CSV, written while they are read (memory stays flat however many sales)."""
    from daemon import views
    from daemon.store import ledger_repo, migrate, sql

    migrate.upgrade(settings.database_url)
    households = sorted({a.household for a in settings.accounts})
    # Plain SQL (daemon.store.sql): on a SQLite file, the listing never loads SQLAlchemy.
    with sql.reading(settings.database_url) as db:
        sales = ledger_repo.taxable_sales(db, households, year, account)
        if fmt is GainsFormat.JSON:
            # The text print_json_rows would write for the same rows, without a dict per row.
            write = sys.stdout.write
            for text in views.gains_json(sales):
                write(text)
        else:
            print_csv(views.sale_gain_rows(sales), views.GAIN_COLUMNS)


def _form_8949(settings: Settings, year: int | None, account: str | None, taxpayer: str | None,
               fmt: GainsFormat, output: Path | None) -> None:
    """Form 8949 against each broker's 1099-B: the reported basis in (e), codes B/W/T and (g), boxes A-F."""
    import contextlib
    import io

    from daemon import review, tax_returns
    from daemon.report.form_8949_html import render
    from daemon.store import migrate
    from daemon.store.db import make_engine, transaction

    states = _states(settings)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            lines = review.form_8949_lines(session, settings, states, year, account, taxpayer)
    except review.UnknownTaxpayer as exc:
        fail(str(exc))
        return
    finally:
        engine.dispose()
    if fmt is GainsFormat.F8949_HTML:
        text = render(lines, year=year, taxpayer=taxpayer)
    else:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            print_csv(tax_returns.form_8949_rows(lines), tax_returns.F8949_COLUMNS)
        text = buffer.getvalue()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)


def _summary(settings: Settings, year: int | None, account: str | None, fmt: GainsFormat) -> None:
    """One row per return and year: each year's carry-forward chained from the years before it."""
    from daemon import review, tax_returns

    rows = review.gains_summary(_states(settings, sales_only=True), settings, year, account)
    if fmt is GainsFormat.JSON:
        print_json(rows)
    elif fmt is GainsFormat.CSV:
        print_csv(rows, [*tax_returns.SUMMARY_COLUMNS, "provisional"])
    else:
        print_table("Schedule D by return" + (f" {year}" if year else "") + (f", account {account}" if account else ""),
                    rows, tax_returns.SUMMARY_COLUMNS, right=tax_returns.SUMMARY_COLUMNS[2:])


RECONCILE_COLUMNS = ["line", "symbol", "sold", "quantity", "field", "broker", "ledger", "reason"]


def reconcile_1099b(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The broker's 1099-B as CSV: symbol,quantity,date_acquired,"
                                              "date_sold,proceeds,cost_basis,wash_sale,term (README).")],
    account: Annotated[str, typer.Option("--account", help="Our account the 1099-B is for.")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Every sale where the 1099-B's proceeds, basis, wash-sale amount or term differ from the ledger, with
    the reason when the ledger knows it (e.g. a wash sale across accounts the broker cannot see)."""
    from daemon import bookkeeping
    from daemon.importers.form_1099b import Form1099BError, load
    from daemon.ledger.form_8949 import broker_view
    from daemon.ledger.reconcile_1099b import reconcile
    from daemon.store import ledger_repo, migrate
    from daemon.store.db import make_engine, transaction

    settings = context(ctx).settings
    _check_account(settings, account)
    config = settings.account(account)
    assert config is not None
    if not config.type.taxable:
        fail(f"{account} is a {config.type.value} account: it has no 1099-B")
    try:
        rows = load(file)
    except Form1099BError as exc:
        fail(f"{exc}; nothing was compared")
        return
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            state = ledger_repo.load_ledger(session, config.household)
            trades = ledger_repo.load_trades(session, config.household)
    finally:
        engine.dispose()
    broker = broker_view([t for t in trades if t.account == account], bookkeeping.ledger_accounts(settings))
    found = reconcile(rows, account, state, broker)
    out = [{"line": d.line, "symbol": d.symbol, "sold": d.sold, "quantity": d.quantity, "field": d.field,
            "broker": d.broker, "ledger": d.ledger, "reason": d.reason, "explained": d.explained}
           for d in found]
    if fmt is Format.JSON:
        print_json(out)
        return
    if fmt is Format.CSV:
        print_csv(out, [*RECONCILE_COLUMNS, "explained"])
        return
    unexplained = sum(1 for d in found if not d.explained)
    print_table(f"{file.name} against the ledger ({account}): {len(rows)} 1099-B line(s), {len(found)} "
                f"difference(s), {unexplained} unexplained", out, RECONCILE_COLUMNS,
                right=["quantity", "broker", "ledger"], empty="the 1099-B agrees with the ledger")


def register(app: typer.Typer) -> None:
    app.command("reconcile-1099b")(reconcile_1099b)
    app.command("import")(import_trades)
    app.command("lots")(lots)
    app.command("gains")(gains_cmd)
