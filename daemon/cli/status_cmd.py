"""`tlh status`: what the daemon is doing (see daemon.service.status). Read-only: it never migrates or writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from daemon.cli import dates
from daemon.cli.dates import AsOfOption
from daemon.cli.main import context, fail
from daemon.cli.render import Format, print_json, print_table


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def _when(at: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    if at is None:
        return "none in the exchange calendar"
    local = at.astimezone(tz)
    delta = (at - now).total_seconds()
    rel = f"in {_ago(delta)}" if delta >= 0 else f"{_ago(-delta)} ago"
    return f"{local:%a %Y-%m-%d %H:%M %Z} ({rel})"


def _harvester(lease: dict[str, Any] | None) -> str:
    if lease is None:
        return "no daemon has ever run on this database (start one: tlh run)"
    age = _ago(lease["heartbeat_age_seconds"])
    if lease["released"]:  # first: `tlh harvest` releases the lease right after a fresh heartbeat
        return f"none running: {lease['holder']} stopped, last heartbeat {age} ago"
    if lease["alive"]:
        return f"{lease['holder']}, last heartbeat {age} ago"
    return f"NOT ALIVE: {lease['holder']}, last heartbeat {age} ago (is `tlh run` still running?)"


def overview_rows(s: dict[str, Any], tz: ZoneInfo) -> list[dict[str, Any]]:
    now = s["now"]
    if s["halted"]:
        harvesting = "HALTED: " + "; ".join(s["halt_reasons"])
    elif s["halt_reasons"]:
        harvesting = "partly paused: " + "; ".join(s["halt_reasons"])
    else:
        harvesting = "on"
    run = s["last_run"]
    last = "none yet" if run is None else (
        f"{run['outcome']}; run {run['id']} for {run['as_of']} ({run['mode']}), started "
        f"{_when(run['started_at'], now, tz)}")
    a = s["alerts"]
    alerts = f"{a['open']} warning(s)/error(s) in the last {a['days']} days; {a['undelivered']} undelivered"
    return [
        {"item": "mode", "detail": f"{s['mode']} (database: {s['database']}; today: {s['today']})"},
        {"item": "harvesting", "detail": harvesting},
        {"item": "harvester", "detail": _harvester(s["lease"])},
        {"item": "last run", "detail": last},
        {"item": "next sync", "detail": _when(s["next"]["sync"], now, tz)},
        {"item": "next harvest", "detail": _when(s["next"]["harvest"], now, tz)},
        {"item": "alerts", "detail": alerts},
    ]


def status_cmd(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """What the daemon is doing: mode, harvesting on or halted (and why), the harvester and its heartbeat,
    the last run and its outcome, the next sync and harvest, each account's sync state and pauses, open
    alerts, and this year's harvested losses and estimated tax saved per household."""
    from daemon.service.status import status
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    day = dates.as_of(settings, as_of)
    engine = make_engine(settings.database_url)
    try:
        s = status(engine, settings, day, datetime.now(UTC))
    except Exception as exc:  # not migrated, or the database is away: say which
        fail(f"cannot read the database ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
             f"is it created (`tlh db upgrade`) and reachable?", code=1)
        return
    finally:
        engine.dispose()
    if fmt is Format.JSON:
        print_json(s)
        return
    if fmt is Format.CSV:
        fail("--format csv: status is not a listing; use table or json")
    tz = ZoneInfo(settings.schedule.timezone)
    print_table("tlh-daemon status", overview_rows(s, tz), ["item", "detail"])
    accounts = [{**a, "account": a["id"], "synced": a["synced_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
                 if a["synced_at"] else "", "paused": a["paused"] or ("" if a["harvested"] else "not harvested")}
                for a in s["accounts"]]
    print_table("Accounts", accounts, ["account", "household", "type", "broker", "sync", "synced", "paused"],
                priority={"household": 3, "broker": 2, "synced": 2}, empty="none configured")
    print_table(f"Harvested in {s['today'].year} (through {s['today']})", s["households"],
                ["household", "harvested", "tax_saved", "harvest_sales"],
                priority={"harvest_sales": 2}, empty="no household configured")
    recent = s["alerts"]["recent"]
    if recent:
        rows = [{**r, "created_at": r["created_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")} for r in recent]
        print_table(f"Open alerts (last {s['alerts']['days']} days, newest first; all: tlh alerts)", rows,
                    ["created_at", "severity", "kind", "where", "message"])


def register(app: typer.Typer) -> None:
    app.command("status")(status_cmd)

