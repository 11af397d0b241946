"""`tlh donate` and `tlh location`: the two tax moves besides harvesting (advice only: nothing is traded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import typer

from daemon.cli import dates
from daemon.cli.main import context, fail
from daemon.cli.render import Format, console, money, print_csv, print_json, print_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from daemon.config.models import Settings
    from daemon.engine.donation import Gift
    from daemon.prices import PriceBook

LOT_COLUMNS = ["account", "lot_id", "symbol", "acquired", "quantity", "price", "value", "cost_basis", "gain"]
HINT_COLUMNS = ["hint", "household", "account", "symbol", "asset_class", "value", "annual_tax_drag",
                "estimated_annual_savings"]


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").removeprefix("$"))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0:
        fail(f"AMOUNT: a positive number of USD, e.g. 10000, got {text!r}")
    return value


def _prices(settings: Settings) -> PriceBook:
    from daemon.cli.harvest_cmd import price_book

    if settings.brokers.paper.prices is None:
        fail("lots are valued at the latest closes of a price file: set [brokers.paper] prices")
    return price_book(settings)


def _households(settings: Settings, household: str | None) -> list[str]:
    known = sorted({a.household for a in settings.accounts})
    if household is None:
        return known
    if household not in known:
        fail(f"--household: unknown household {household!r}; configured: {', '.join(known) or 'none'}")
    return [household]


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


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from daemon.store.db import reading

    with _engine(settings) as engine, reading(engine) as session:  # reads only: never waits for a writer
        yield session


def donate_cmd(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(help="About how much market value to give, USD.")],
    household: Annotated[str | None, typer.Option("--household", help="The household giving (needed when "
                                                                        "there are several).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only lots of this taxable account.")] = None,
    as_of: dates.AsOfOption = None,
    record: Annotated[bool, typer.Option("--record", help="The gift is made: book these lots as transfers out "
                                                          "of the ledger on the --as-of day.")] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """The long-term lots to give to a charity or donor-advised fund for about AMOUNT, largest gain per dollar
    first, across the household's taxable accounts: the deduction (market value) and the capital-gains tax
    the gift avoids. Never a lot the harvest would sell. With --record, the ledger books the gift."""
    from daemon.giving import gift, recorded_on

    settings = context(ctx).settings
    value = _amount(amount)
    if account is not None:
        found = settings.account(account)
        if found is None:
            fail(f"--account: unknown account {account!r}; configured: "
                 f"{', '.join(a.id for a in settings.accounts)}")
            return
        if not found.type.taxable:
            fail(f"--account: {account} is a {found.type.value} account: only shares of a taxable account are "
                 f"given for their gain")
        if household not in (None, found.household):
            fail(f"--account: {account} belongs to household {found.household}, not {household}")
        household = found.household
    households = _households(settings, household)
    if len(households) != 1:
        fail(f"several households ({', '.join(households)}): say which one with --household"
             if households else "no accounts configured")
    prices = _prices(settings)
    day = dates.as_of(settings, as_of, prices)
    with _engine(settings) as engine:
        from daemon.store.db import reading

        with reading(engine) as session:  # the gift is booked (--record) in a transaction of its own
            result = gift(session, settings, prices, households[0], value, day, account)
            already = recorded_on(session, households[0], day) if record else []
        d = result.to_dict()
        if record:
            d["recorded"] = _record(engine, settings, result, already)
    if fmt is Format.JSON:
        print_json(d)
        return
    if fmt is Format.CSV:
        print_csv(d["lots"], LOT_COLUMNS)
        return
    _print_lots(f"Lots to give for {money(d['amount'])} ({result.household}, prices as of {day})", d)
    tax = settings.tax
    _say(f"Deduction (fair market value): {money(d['deduction'])}")
    _say(f"Capital-gains tax avoided: {money(d['tax_avoided'])} (gain {money(d['gain'])} x "
               f"{_pct(result.rate)}: long-term {_pct(tax.long_term_rate)} + NIIT {_pct(tax.niit_rate)} + "
               f"state {_pct(tax.state_rate)})")
    for note in d["notes"]:
        _say(f"note: {note}")
    if record:
        _say(f"recorded: {len(d['recorded'])} transfer(s) out of the ledger on {day} "
             f"({', '.join(d['recorded'])}): the shares given no longer count as held")


def _record(engine: Engine, settings: Settings, result: Gift, already: list[str]) -> list[str]:
    """Book the gift; the ids of the transfers out. Refuses a second recorded gift on the same day (a rerun
    would pick the next-best lots, the first ones being gone)."""
    from daemon.bookkeeping import book
    from daemon.giving import gift_trades
    from daemon.importers.csv_trades import TradeImportError

    if already:
        fail(f"a gift of {result.household} on {result.as_of} is already recorded ({len(already)} transfer(s) out: "
             f"{', '.join(already)}); nothing was recorded. Record another gift that day with tlh import "
             f"(side transfer_out)")
    trades = gift_trades(result)
    if not trades:
        fail("no lot to give: nothing was recorded")
    try:
        book(engine, settings, trades, "tlh donate --record")
    except TradeImportError as exc:
        fail(f"{exc}; nothing was recorded")
    return [t.trade.trade_id for t in trades]


def _print_lots(title: str, d: dict[str, Any]) -> None:
    footer = {"account": "Total", "value": d["deduction"], "cost_basis": d["deduction"] - d["gain"],
              "gain": d["gain"]}
    print_table(title, d["lots"], LOT_COLUMNS, footer=footer, empty="no lot to give")


def _print_hints(title: str, d: dict[str, Any]) -> None:
    """The figures as a table, then each hint's suggestion as a numbered paragraph (too long for a cell)."""
    rows = [{**h, "hint": i} for i, h in enumerate(d["hints"], start=1)]
    print_table(title, rows, HINT_COLUMNS, right=["hint"], empty="every holding is where it belongs")
    for row in rows:
        _say(f"{row['hint']}. {row['account']} {row['symbol']}: {row['suggestion']}")


def print_moves(report: dict[str, Any]) -> None:
    """The giving and asset-location parts of `tlh report` (table format)."""
    for g in report["giving"]:
        _print_lots(f"Lots to give first ({g['household']}, prices as of {g['as_of']}; tax avoided if all given: "
                    f"{money(g['tax_avoided'])})", g)
    location = report["location"]
    if location["hints"]:
        _print_hints(f"Asset location (estimated yearly saving of the swaps: "
                     f"{money(location['estimated_annual_savings'])})", location)


def _say(text: str) -> None:
    """A line of prose, wrapped between words at the terminal's width."""
    console().print(text, markup=False, highlight=False)


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}\u00a0%"  # no break before the sign


def location_cmd(
    ctx: typer.Context,
    household: Annotated[str | None, typer.Option("--household", help="Only this household.")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """Holdings in the wrong kind of account (tax-inefficient ones in taxable accounts, tax-efficient ones in
    IRAs and 401(k)s), the yearly tax a swap of location would save and a swap that keeps each account's
    value. Hints only: nothing is traded."""
    from daemon.asset_location import location_report

    settings = context(ctx).settings
    households = _households(settings, household)
    prices = _prices(settings)
    day = dates.today(settings, prices)
    with _session(settings) as session:
        report = location_report(session, settings, prices, day, households)
    d = report.to_dict()
    if fmt is Format.JSON:
        print_json({**d, "as_of": day})
        return
    if fmt is Format.CSV:
        print_csv(d["hints"], ["household", "account", "symbol", "asset_class", "placement", "value",
                               "annual_tax_drag", "estimated_annual_savings", "realized_gain", "suggestion"])
        return
    _print_hints(f"Asset location (prices as of {day})", d)
    _say(f"Estimated yearly saving of the swaps: {money(d['estimated_annual_savings'])} "
               f"(typical yields and tax character: {settings.location.table or 'your [location] classes'})")
    for note in d["notes"]:
        _say(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.command("donate")(donate_cmd)
    app.command("location")(location_cmd)
