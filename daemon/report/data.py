"""The numbers behind `tlh report`, for one tax year.

Harvested losses are the realized (allowed, i.e. net of any later wash-sale adjustment) gains and losses
of the daemon's own sales: dispositions booked from a broker's fills (trade source paper, alpaca or ibkr)
on the trading day of one of the daemon's filled sell orders, in the same account and symbol. They are
netted per term (a harvest that also sold a lot at a gain counts net). Estimated tax saved is short-term
loss × (short_term_rate + niit_rate + state_rate) + long-term loss × (long_term_rate + niit_rate +
state_rate) at the [tax] rates: the value of the deduction at the margin, before netting against the year's
gains and the ordinary-income limit (the carry-forward shows what is left over). The Schedule D figures
(nets, offset, carry-forward in and out) are each return's, chained over the years as `tlh gains --summary`
computes them (daemon.tax_returns); a household's row adds its returns together.

Realized gains, disallowed losses and the carry-forward cover every taxable sale of the year, the daemon's
and the user's own. Cash drag needs each account's cash: read from the built-in paper broker (local, no
network); other brokers' accounts show none (their cash is in the latest run's `cash_above_limit` alerts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from daemon import views
from daemon.config.loader import identical_groups
from daemon.config.models import AccountConfig, Settings, TaxConfig
from daemon.ledger import gains, restrictions
from daemon.ledger.tax_years import TaxYear
from daemon.ledger.types import ZERO, Disposition, Term
from daemon.report.moves import TaxMoves, tax_moves
from daemon.store import ledger_repo
from daemon.store.db import connection_of, read_connection
from daemon.store.tables import HARVEST_RUNS, ORDER_INTENTS, RESTRICTIONS, TRADES
from daemon.tax_returns import schedule

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

BROKER_SOURCES = ("paper", "alpaca", "ibkr")


@dataclass
class Figures:
    harvested_short: Decimal = ZERO  # net loss (positive) of the daemon's sales, short-term
    harvested_long: Decimal = ZERO
    tax_saved: Decimal = ZERO
    realized_short: Decimal = ZERO  # net gain (negative: a loss) of every taxable sale
    realized_long: Decimal = ZERO
    disallowed_deferred: Decimal = ZERO  # wash-sale adjustments moved into a replacement's basis
    disallowed_permanent: Decimal = ZERO  # lost for good (replacement bought in an IRA, HSA, 401(k))
    harvest_sales: int = 0

    @property
    def harvested(self) -> Decimal:
        return self.harvested_short + self.harvested_long

    def add(self, other: Figures) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class AccountReport:
    account: str
    household: str
    type: str
    broker: str
    figures: Figures = field(default_factory=Figures)
    cash: Decimal | None = None
    equity: Decimal | None = None
    cash_limit_pct: Decimal = ZERO  # [harvest] cash_max_pct, as a fraction

    @property
    def cash_pct(self) -> Decimal | None:
        if self.cash is None or not self.equity:
            return None
        return self.cash / self.equity

    @property
    def excess_cash(self) -> Decimal | None:
        """Cash above the cash_max_pct limit: the drag the next harvest would invest."""
        if self.cash is None or self.equity is None:
            return None
        return max(self.cash - self.cash_limit_pct * self.equity, ZERO)


@dataclass
class HouseholdReport:
    household: str
    figures: Figures
    summary: gains.Summary  # the household's returns added together
    restrictions: list[dict[str, Any]]
    returns: list[TaxYear] = field(default_factory=list)  # Schedule D of each of its returns, this year
    timeline: list[tuple[date, Decimal, Decimal]] = field(default_factory=list)  # this household's harvests


@dataclass
class Report:
    year: int
    as_of: date
    tax: TaxConfig
    accounts: list[AccountReport]
    households: list[HouseholdReport]
    timeline: list[tuple[date, Decimal, Decimal]]  # (day, cumulative harvested loss, cumulative tax saved)
    notes: list[str]
    moves: TaxMoves = field(default_factory=TaxMoves)  # lots best given to charity, asset-location hints


def rates(tax: TaxConfig) -> dict[Term, Decimal]:
    extra = tax.niit_rate + tax.state_rate
    return {Term.SHORT: tax.short_term_rate + extra, Term.LONG: tax.long_term_rate + extra}


# The queries read the Core tables, from a connection (db.read_connection) or a session (the dashboard's).


def _harvest_keys(session: Session | Connection) -> set[tuple[str, str, date]]:
    """(account, symbol, trading day) of every sell the daemon placed that filled at least in part."""
    intent, run = ORDER_INTENTS.c, HARVEST_RUNS.c
    rows = connection_of(session).execute(sa.select(intent.account_id, intent.symbol, run.as_of)
                                          .join(HARVEST_RUNS, run.id == intent.run_id)
                                          .where(intent.leg == "sell", intent.filled_quantity > 0))
    return {(a, s, d) for a, s, d in rows}


def _broker_trades(session: Session | Connection, household: str) -> set[str]:
    trade = TRADES.c
    return set(connection_of(session).scalars(sa.select(trade.trade_id).where(
        trade.household_id == household, trade.side == "sell", trade.source.in_(BROKER_SOURCES))))


def _printed_gain(r: gains.GainRow) -> Decimal:
    """The gain as `tlh gains` prints it (each column rounded to cents, the gain derived from them), so that
    the report's sums tie out to the gains table's cent for cent."""
    return views.gain_row(r)["gain"]


def _figures(rows: Iterable[gains.GainRow], harvested: Iterable[gains.GainRow], tax: TaxConfig) -> Figures:
    f = Figures()
    for r in rows:
        if r.term is Term.SHORT:
            f.realized_short += _printed_gain(r)
        else:
            f.realized_long += _printed_gain(r)
        f.disallowed_permanent += r.permanent
        f.disallowed_deferred += r.adjustment - r.permanent
    rate = rates(tax)
    sales = set()
    for r in harvested:
        sales.add(r.disposition_id)
        gain = _printed_gain(r)
        if r.term is Term.SHORT:
            f.harvested_short -= gain
        else:
            f.harvested_long -= gain
        f.tax_saved -= gain * rate[r.term]
    f.harvest_sales = len(sales)
    return f


def _timeline(harvested: list[gains.GainRow], tax: TaxConfig) -> list[tuple[date, Decimal, Decimal]]:
    rate = rates(tax)
    by_day: dict[date, tuple[Decimal, Decimal]] = {}
    for r in harvested:
        loss, saved = by_day.get(r.sold, (ZERO, ZERO))
        by_day[r.sold] = (loss - r.gain, saved - r.gain * rate[r.term])
    out, loss_total, saved_total = [], ZERO, ZERO
    for day in sorted(by_day):
        loss_total += by_day[day][0]
        saved_total += by_day[day][1]
        out.append((day, loss_total, saved_total))
    return out


def _restrictions(session: Session | Connection, settings: Settings, household: str, states: dict[str, Any],
                  today: date) -> list[dict[str, Any]]:
    rows: dict[tuple[str, date], dict[str, Any]] = {}
    r_ = RESTRICTIONS.c
    for r in connection_of(session).execute(sa.select(RESTRICTIONS).where(
            r_.household_id == household, r_.until > today, r_.sale_date <= today)):
        rows[(r.symbol, r.until)] = {"symbol": r.symbol, "until": r.until, "sale": r.sale,
                                     "source": f"run {r.run_id}" if r.run_id else "daemon"}
    for p in restrictions.from_ledger(states[household], identical_groups(settings), today):
        rows.setdefault((p.symbol, p.until), {"symbol": p.symbol, "until": p.until, "sale": p.sale,
                                              "source": "ledger"})
    return sorted(rows.values(), key=lambda r: (r["until"], r["symbol"]))


def _cash(engine: Engine, settings: Settings, accounts: list[AccountReport], notes: list[str]) -> None:
    paper = [a for a in accounts if a.broker == "paper"]
    others = sorted({a.broker for a in accounts if a.broker != "paper"})
    if others:
        notes.append(f"cash drag: not shown for {', '.join(others)} accounts (it needs the broker; the "
                     "latest run's cash_above_limit alerts say when cash is above the limit)")
    if not paper:
        return
    path = settings.brokers.paper.prices
    if path is None:
        notes.append("cash drag: the paper broker has no price file ([brokers.paper] prices)")
        return
    from brokers.paper import PaperBroker
    from daemon.prices import PriceFileError
    from daemon.prices import load as load_prices

    try:
        prices = load_prices(path)
    except PriceFileError as exc:
        notes.append(f"cash drag: {exc}")
        return
    last = prices.last_day()
    if last is None:
        return
    broker = PaperBroker(engine, settings.brokers.paper, settings.accounts, prices, last)
    for a in paper:
        snapshot = broker.account(a.account)
        a.cash, a.equity = snapshot.cash, snapshot.equity
    notes.append(f"cash drag: paper accounts valued at the {last} closes")


def harvested_by_household(session: Session | Connection, settings: Settings, year: int,
                           through: date) -> dict[str, Figures]:
    """Per household, the year's harvested losses and estimated tax saved up to `through` (the same figures
    as `build_report`'s, for `tlh status`)."""
    keys = _harvest_keys(session)
    out: dict[str, Figures] = {}
    for household in sorted({a.household for a in settings.accounts}):
        # The year's sales only, not the whole ledger: `tlh status` on a long history (100,000 trades: 11 s).
        sold = ledger_repo.load_dispositions(session, household, (date(year, 1, 1), min(through, date(year, 12, 31))))
        broker_sells = _broker_trades(session, household)
        sales = sorted(sold, key=lambda d: (d.sold, d.seq))
        rows = gains.rows(sales)
        ids = {d.disposition_id for d in sales if _is_harvest(d, broker_sells, keys)}
        out[household] = _figures([], [r for r in rows if r.disposition_id in ids], settings.tax)
    return out


def default_year(engine: Engine, today: date) -> int:
    """The year of the latest harvest run, else this year."""
    with read_connection(engine) as connection:
        latest = connection.scalar(sa.select(sa.func.max(HARVEST_RUNS.c.as_of)))
    return latest.year if latest else today.year


def build_report(engine: Engine, settings: Settings, year: int, today: date) -> Report:
    tax = settings.tax
    accounts = {a.id: _account(a, settings) for a in settings.accounts}
    households: list[HouseholdReport] = []
    all_harvested: list[gains.GainRow] = []
    with read_connection(engine) as session:
        keys = _harvest_keys(session)
        states = {h: ledger_repo.load_ledger(session, h) for h in sorted({a.household for a in settings.accounts})}
        for household, state in states.items():
            broker_sells = _broker_trades(session, household)
            sales = sorted((d for d in state.dispositions if d.sold.year == year), key=lambda d: (d.sold, d.seq))
            rows = gains.rows(sales)
            harvested_ids = {d.disposition_id for d in sales if _is_harvest(d, broker_sells, keys)}
            harvested = [r for r in rows if r.disposition_id in harvested_ids]
            all_harvested += harvested
            total = Figures()
            for account in (a for a in accounts.values() if a.household == household):
                account.figures = _figures([r for r in rows if r.account == account.account],
                                           [r for r in harvested if r.account == account.account], tax)
                total.add(account.figures)
            returns = [y for y in schedule(settings, state.dispositions, through=year) if y.year == year]
            households.append(HouseholdReport(household, total, _combined(returns),
                                              _restrictions(session, settings, household, states, today),
                                              returns, _timeline(sorted(harvested, key=lambda r: r.sold), tax)))
    notes: list[str] = []
    _cash(engine, settings, list(accounts.values()), notes)
    moves = tax_moves(engine, settings, [h.household for h in households], today, notes)
    return Report(year=year, as_of=today, tax=tax, accounts=list(accounts.values()), households=households,
                  timeline=_timeline(sorted(all_harvested, key=lambda r: r.sold), tax), notes=notes, moves=moves)


def _combined(returns: list[TaxYear]) -> gains.Summary:
    def total(name: str) -> Decimal:
        return sum((getattr(y, name) for y in returns), ZERO)

    return gains.Summary(short_term_net=total("short_term_net"), long_term_net=total("long_term_net"),
                         disallowed=total("disallowed"), permanently_disallowed=total("permanently_disallowed"),
                         net=total("net"), ordinary_income_offset=total("ordinary_income_offset"),
                         carryforward_short=total("carryforward_short"), carryforward_long=total("carryforward_long"))


def _account(a: AccountConfig, settings: Settings) -> AccountReport:
    return AccountReport(account=a.id, household=a.household, type=a.type.value, broker=a.broker,
                         cash_limit_pct=settings.harvest.cash_max_pct)


def _is_harvest(d: Disposition, broker_sells: set[str], keys: set[tuple[str, str, date]]) -> bool:
    return d.trade_id in broker_sells and (d.account, d.symbol, d.sold) in keys
