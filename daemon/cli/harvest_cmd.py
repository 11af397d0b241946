"""`tlh harvest` and `tlh restrictions`."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daemon.cli import dates
from daemon.cli.dates import AsOfOption
from daemon.cli.delivery import deliver_raised
from daemon.cli.main import context, fail
from daemon.cli.render import Format, price, print_csv, print_json, print_table, quantity

if TYPE_CHECKING:
    from brokers.protocol import OrderState
    from daemon.config.models import Settings
    from daemon.engine.types import HarvestPlan
    from daemon.prices import PriceBook
    from daemon.service.cycle import CycleResult
    from daemon.service.execute import PairOutcome
    from daemon.service.orders import Policy


def price_book(settings: Settings) -> PriceBook:
    from daemon.prices import PriceFileError
    from daemon.prices import load as load_prices

    path = settings.brokers.paper.prices
    if path is None:
        fail("no price source: set [brokers.paper] prices to a CSV of daily closes")
    assert path is not None
    try:
        return load_prices(Path(path))
    except PriceFileError as exc:
        fail(str(exc))
        raise


PLAN_COLUMNS = ["pair_id", "account", "sell_symbol", "sell_quantity", "lots", "estimated_loss", "estimated_benefit",
                "estimated_cost", "buy_symbol", "buy_notional"]
# --format csv: one row per decision, pairs first, then what was skipped or cut short and why.
DECISION_COLUMNS = ["record", "pair_id", "household", "account", "symbol", "sell_quantity", "lots", "estimated_loss",
                    "estimated_benefit", "estimated_cost", "buy_symbol", "buy_notional", "reason", "detail"]


def explanations(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Every skipped position and every pair the budget cut short, with its reason and figures."""
    rows = [{"account": p["account"], "symbol": p["sell_symbol"], "reason": f"{p['partial']['reason']} "
             f"(partial, {p['pair_id']})", "detail": p["partial"]["detail"]} for p in d["pairs"] if p.get("partial")]
    rows += [{"account": s["account"], "symbol": s["symbol"], "reason": s["reason"], "detail": s["detail"]}
             for s in d["skipped"]]
    return rows


def decision_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"record": "pair", **p, "symbol": p["sell_symbol"],
             "reason": p["partial"]["reason"] if p.get("partial") else "",
             "detail": p["partial"]["detail"] if p.get("partial") else ""} for p in d["pairs"]]
    rows += [{"record": "skipped", **s} for s in d["skipped"]]
    return rows


def show_plan(plan: HarvestPlan) -> None:
    d = plan.to_dict()
    title = f"Harvest plan {plan.run_id} ({plan.mode}, as of {plan.as_of})"
    if plan.paused:
        title += f" - PAUSED: {plan.paused}"
    if d["pairs"]:
        print_table(title, d["pairs"], PLAN_COLUMNS)
    else:
        typer.echo(f"{title}: no pairs" + (f"; {plan.note}" if plan.note else "."))
    if d.get("purchases"):
        print_table("New money", d["purchases"], ["purchase_id", "account", "symbol", "notional",
                                                                  "detail"])
    if d.get("reinvestments"):
        print_table("Idle cash reinvested", d["reinvestments"], ["reinvestment_id", "account", "symbol", "notional",
                                                                 "detail"])
    explained = explanations(d)
    if explained:
        print_table("Skipped or cut short, and why", explained, ["account", "symbol", "reason", "detail"])
    if d["restrictions"]:
        print_table("Do not buy until", d["restrictions"], ["household", "symbol", "until", "sale"])
    if d["alerts"]:
        print_table("Alerts", d["alerts"], ["severity", "kind", "message"])


def _leg(state: OrderState | None) -> str:
    if state is None:
        return "not sent"
    text = state.status.value
    if state.filled_quantity:
        text += f" {quantity(state.filled_quantity)}"
        if state.filled_avg_price is not None:
            text += f" @ {price(state.filled_avg_price)}"
    return text


def show_executions(outcomes: list[PairOutcome]) -> None:
    if not outcomes:
        return
    rows = [{"pair_id": o.pair_id, "sell": "no sale" if o.kind == "purchase" else _leg(o.sell), "buy": _leg(o.buy),
             "note": o.note, "client_order_id": (o.sell or o.buy).client_order_id if (o.sell or o.buy) else ""}
            for o in outcomes]
    print_table("Orders carried out", rows, ["pair_id", "sell", "buy", "note", "client_order_id"])


def harvest_cmd(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan and record only; overrides the mode.")] = False,
    as_of: AsOfOption = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Sync, plan and (in paper or live mode) carry out the harvest for a trading day (default: the
    exchange's current trading date)."""
    from brokers.factory import make_brokers
    from brokers.protocol import BrokerError
    from daemon.service import lease
    from daemon.service.cycle import ModeMismatch, run_cycle
    from daemon.service.market import book_from_brokers
    from daemon.store import migrate
    from daemon.store.db import make_engine

    settings = context(ctx).settings
    mode = "dry-run" if dry_run else settings.mode
    file = price_book(settings) if settings.brokers.paper.prices is not None else None
    day = dates.as_of(settings, as_of, file)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if file is not None:
            prices = file
            brokers = make_brokers(settings, engine, prices, day)
        else:
            # No price file: today's quotes come from the brokers themselves.
            brokers = make_brokers(settings, engine, None, day)
            prices = book_from_brokers(brokers, _symbols_held(engine, settings), settings, day)
        try:
            # Trading takes the harvester lease: never alongside a running `tlh run` or another harvest.
            holding = (lease.held(engine, settings.schedule.heartbeat_seconds, settings.schedule.lease_seconds)
                       if mode != "dry-run" else nullcontext())
            with holding:
                result = run_cycle(engine, settings, brokers, prices, day, mode, policy_for(settings))
        finally:
            for broker in brokers.values():
                broker.close()
        deliver_raised(engine, settings)
    except ModeMismatch as exc:
        fail(str(exc))
        return
    except lease.Busy as exc:
        fail(str(exc), code=1)
        return
    except BrokerError as exc:
        _error_alert(engine, f"tlh harvest failed: broker: {exc}")
        fail(f"broker: {exc}", code=1)
        return
    finally:
        engine.dispose()
    out = result.plan.to_dict()
    for account, run in sorted(result.already_harvested.items()):
        typer.echo(f"{account}: already harvested on {result.plan.as_of} by run {run}; not traded again today",
                   err=True)
    if fmt is Format.JSON:
        out["executions"] = [{"pair_id": o.pair_id, "kind": o.kind, "note": o.note,
                              "sell": _order(o.sell), "buy": _order(o.buy)} for o in result.outcomes]
        print_json(out)
        _exit_on_outage(result)
        return
    if fmt is Format.CSV:
        print_csv(decision_rows(out), DECISION_COLUMNS)
        _exit_on_outage(result)
        return
    show_plan(result.plan)
    show_executions(result.outcomes)
    _exit_on_outage(result)


def _exit_on_outage(result: CycleResult) -> None:
    """A broker that could not be read is an error (its alert is stored), and a non-zero exit."""
    outage = result.broker_outage()
    if outage is not None:
        fail(outage, code=1)


def _error_alert(engine: Any, message: str) -> None:
    from daemon.alerts import raise_alert
    from daemon.store.db import transaction

    try:
        with transaction(engine) as session:
            raise_alert(session, "error", "error", message, data={"job": "harvest"})
    except Exception:  # noqa: BLE001 - the database is away too: the exit code and message still say it
        pass


def _symbols_held(engine: Any, settings: Settings) -> set[str]:
    from daemon.store import ledger_repo
    from daemon.store.db import reading

    with reading(engine) as session:
        held = {lot.symbol for h in sorted({a.household for a in settings.accounts})
                for lot in ledger_repo.load_open_lots(session, h) if lot.is_open}
    return held | {m for c in settings.asset_classes for m in c.members}


def _order(state: OrderState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"client_order_id": state.client_order_id, "status": state.status.value,
            "filled_quantity": str(state.filled_quantity), "filled_avg_price": str(state.filled_avg_price)}


def policy_for(settings: Settings) -> Policy:
    from daemon.service.orders import Policy

    return Policy(fill_timeout=float(settings.brokers.alpaca.fill_timeout_seconds))


def restrictions_cmd(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """The household's do-not-buy-until list, with the sale that caused each entry: the daemon's own
    harvests and every loss sale in the ledger whose 30-day window is still open (as of the exchange's
    current trading date, or --as-of)."""
    import sqlalchemy as sa

    from daemon.config.loader import identical_groups
    from daemon.ledger import restrictions
    from daemon.store import ledger_repo, migrate
    from daemon.store.db import make_engine, read_connection
    from daemon.store.tables import RESTRICTIONS

    settings = context(ctx).settings
    day = dates.as_of(settings, as_of)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    identical = identical_groups(settings)
    rows: dict[tuple[str, str, date], dict[str, Any]] = {}
    try:
        with read_connection(engine) as session:  # Core rows: a listing never loads the ORM
            for r in session.execute(sa.select(RESTRICTIONS).where(RESTRICTIONS.c.until > day,
                                                                   RESTRICTIONS.c.sale_date <= day)):
                rows[(r.household_id, r.symbol, r.until)] = {
                    "household": r.household_id, "symbol": r.symbol, "until": r.until, "sale": r.sale,
                    "sale_date": r.sale_date, "source": f"run {r.run_id}" if r.run_id else "daemon"}
            states = [ledger_repo.load_ledger(session, h) for h in sorted({a.household for a in settings.accounts})]
            for state in states:
                for p in restrictions.from_ledger(state, identical, day):
                    rows.setdefault((p.household, p.symbol, p.until), {
                        "household": p.household, "symbol": p.symbol, "until": p.until, "sale": p.sale,
                        "sale_date": p.sale_date, "source": "ledger"})
            held: dict[str, set[str]] = {}
            for lot in (lot for h in states for lot in h.open_lots):
                held.setdefault(lot.account, set()).add(lot.symbol)
    finally:
        engine.dispose()
    out = sorted(rows.values(), key=lambda r: (r["household"], r["until"], r["symbol"]))
    _purchases_to_pause(settings, out, held, day)
    columns = ["household", "symbol", "until", "sale", "sale_date", "source", "pause"]
    if fmt is Format.JSON:
        print_json(out)
    elif fmt is Format.CSV:
        print_csv(out, columns)
    else:
        print_table(f"Do not buy until (as of {day})", out, columns, empty="nothing is restricted")


def _purchases_to_pause(settings: Settings, rows: list[dict[str, Any]], held: dict[str, set[str]],
                        day: date) -> None:
    """Each entry's `pause`: the recurring purchases and dividend reinvestments of an identical symbol in its
    household before its `until` (what to pause, and when)."""
    from daemon.config.loader import identical_groups
    from daemon.scheduled import DividendFileError, upcoming

    if not rows:
        return
    try:
        scheduled = upcoming(settings, held, day, max(r["until"] for r in rows))
    except DividendFileError as exc:
        fail(str(exc))
        return
    groups = identical_groups(settings)
    listed = {(r["household"], r["symbol"]) for r in rows}
    for r in rows:
        key = groups.key(r["symbol"])
        # A purchase goes on its own symbol's entry, or on an identical symbol's when its own has none.
        due = [p for p in scheduled if p.household == r["household"] and p.day < r["until"]
               and (p.symbol == r["symbol"] or ((p.household, p.symbol) not in listed
                                                 and groups.key(p.symbol) == key))]
        r["pause"] = "; ".join(p.describe() for p in due)


def register(app: typer.Typer) -> None:
    app.command("harvest")(harvest_cmd)
    app.command("restrictions")(restrictions_cmd)
