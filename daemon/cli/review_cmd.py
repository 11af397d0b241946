"""`tlh runs`, `tlh alerts` and `tlh report`: what the daemon did, what it said, and what it was worth."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daemon.cli import dates
from daemon.cli.dates import AsOfOption
from daemon.cli.delivery import has_channels
from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_csv, print_json, print_table, to_jsonable

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from daemon.config.models import Settings


class ReportFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    from daemon.store import migrate
    from daemon.store.db import make_engine

    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a YYYY-MM-DD date: {value!r}")
        raise


def runs_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The most recent N runs.")] = 50,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Harvest runs, newest first: mode, status, pairs planned and the estimated loss they harvest."""
    from daemon import review
    from daemon.store.db import read_connection

    settings = context(ctx).settings
    with _engine(settings) as engine, read_connection(engine) as connection:  # Core rows, no ORM
        rows = review.runs(connection, limit)
    columns = ["id", "as_of", "mode", "status", "started_at", "finished_at", "pairs", "estimated_loss", "paused",
               "error"]
    if fmt is Format.JSON:
        print_json(rows)
        return
    if fmt is Format.CSV:
        print_csv(rows, columns)
        return
    print_table("Harvest runs", rows, columns, empty="no harvest has run yet")


def alerts_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Alerts raised on or after YYYY-MM-DD (UTC).")]
    = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The most recent N alerts.")] = 200,
    deliver: Annotated[bool, typer.Option("--deliver", help="First send pending alerts to the [alerts] "
                                                            "channels (what the daemon does after each run).")]
    = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Alerts the runs raised, newest first, and whether every channel got them."""
    import sqlalchemy as sa

    from daemon import review
    from daemon.store.db import read_connection
    from daemon.store.tables import ALERTS

    settings = context(ctx).settings
    day = _day("--since", since)
    with _engine(settings) as engine:
        if deliver and not has_channels(settings):
            with read_connection(engine) as connection:
                waiting = connection.scalar(sa.select(sa.func.count()).select_from(ALERTS)
                                            .where(ALERTS.c.delivered.is_(False)))
            typer.echo(f"delivery: no alert channel is configured ([alerts] jsonl_path, webhook or email_to); "
                       f"{waiting} alert(s) stay undelivered", err=fmt is not Format.TABLE)
        elif deliver:
            from daemon.alerts import deliver_pending

            report = deliver_pending(engine, settings)
            failed = "; ".join(f"{k}: {v}" for k, v in report.failed.items())
            typer.echo(f"delivery: {report.delivered} of {report.pending} pending alert(s) delivered"
                       + (f"; failed: {failed}" if failed else ""), err=fmt is not Format.TABLE)
        with read_connection(engine) as connection:  # Core rows: a listing never loads the ORM
            rows = review.alerts(connection, day, limit)
    if fmt is Format.JSON:
        print_json(rows)
        return
    if fmt is Format.CSV:
        print_csv(rows, ["id", "created_at", "severity", "kind", "household", "account", "run_id", "delivered",
                         "delivered_to", "message"])
        return
    for row in rows:
        row["created_at"] = row["created_at"][:19].replace("T", " ")
        row["where"] = row["account"] or row["household"] or ""
    print_table("Alerts" + (f" since {day}" if day else ""), rows,
                ["id", "created_at", "severity", "kind", "where", "run_id", "delivered", "message"],
                empty="none")


def report_cmd(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", help="Tax year (default: the year of --as-of).")]
    = None,
    as_of: AsOfOption = None,
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (json, html).")]
    = None,
) -> None:
    """Harvested losses, estimated tax saved, realized gains, disallowed losses, carry-forward, open
    wash-sale windows and cash drag, per account and household (--format html: a page with a chart). The
    year and the do-not-buy windows are those of the exchange's current trading date, or --as-of."""
    from daemon.report import build_report
    from daemon.report.views import report_dict

    settings = context(ctx).settings
    today = dates.as_of(settings, as_of)
    with _engine(settings) as engine:
        report = build_report(engine, settings, year or today.year, today)
    if fmt is ReportFormat.TABLE:
        if output is not None:
            fail("--output applies to --format json and html")
        _print_report(report_dict(report))
        return
    if fmt is ReportFormat.JSON:
        text = json.dumps(to_jsonable(report_dict(report)), indent=2) + "\n"
    else:
        from daemon.report.html import render

        text = render(report)
    if output is None:
        typer.echo(text, nl=False)
        return
    from daemon import files

    files.write_text(output, text)  # private (0600 unless `file_mode` says otherwise)
    typer.echo(f"wrote {output}", err=True)


def _print_report(d: dict[str, Any]) -> None:
    from daemon.report.views import ACCOUNT_COLUMNS, FIGURE_COLUMNS, HOUSEHOLD_COLUMNS

    rates = d["rates"]
    print_table(f"Households {d['year']} (tax rates: short {rates['short_term']}, long {rates['long_term']})",
                d["households"], HOUSEHOLD_COLUMNS, right=HOUSEHOLD_COLUMNS[1:])
    print_table(f"Accounts {d['year']}", d["accounts"], ACCOUNT_COLUMNS,
                right=[*FIGURE_COLUMNS, "cash", "cash_pct", "excess_cash"])
    for h in d["households"]:
        print_table(f"Do not buy until ({h['household']}, as of {d['as_of']})", h["restrictions"],
                    ["symbol", "until", "sale", "source"])
    from daemon.cli.giving_cmd import print_moves

    print_moves(d)
    for note in d["notes"]:
        typer.echo(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_cmd)
    app.command("alerts")(alerts_cmd)
    app.command("report")(report_cmd)
