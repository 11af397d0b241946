"""The harvest step's shell: gather what the pure engine needs, run it, record the run.

Reads the ledger and restrictions from the store, quotes and benchmark history from the price source, and
each account's cash from its broker; writes the run (with its plan), the new do-not-buy-until
restrictions and the alerts, in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from daemon import direct_index, logs
from daemon.bookkeeping import ledger_accounts
from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.engine import plan as engine_plan
from daemon.engine.types import (
    AccountInput,
    Capabilities,
    EngineInput,
    HarvestPlan,
    HouseholdInput,
    MarketData,
    Restriction,
    TargetsInput,
)
from daemon.prices import PriceBook, Quote
from daemon.scheduled import upcoming
from daemon.service import claims, idle, pause
from daemon.store import ledger_repo
from daemon.store.models import AccountRow, Alert, HarvestRun
from daemon.store.models import Restriction as RestrictionRow

log = logs.get_logger(__name__)  # structlog loaded when it logs (report and donate plan through here)

BREAKER_HISTORY = timedelta(days=45)  # enough calendar days for 21 daily returns
LOOK_AHEAD = timedelta(days=30)  # scheduled purchases up to 30 days after a sale wash it


@dataclass(frozen=True)
class AccountFacts:
    """What the brokers said about an account before planning."""

    cash: Decimal
    capabilities: Capabilities = Capabilities()


def new_run_id(as_of: date) -> str:
    return f"r{as_of:%Y%m%d}-{secrets.token_hex(3)}"


def _symbols(settings: Settings, households: list[HouseholdInput]) -> set[str]:
    symbols = {lot.symbol for h in households for lot in h.ledger.open_lots}
    symbols |= {m for c in settings.asset_classes for m in c.members}
    return symbols


def market_data(prices: PriceBook, symbols: set[str], settings: Settings, as_of: date) -> MarketData:
    quotes: dict[str, Quote] = {}
    for symbol in sorted(symbols):
        q = prices.quote(symbol, as_of)
        if q is not None:
            quotes[symbol] = q
    closes = {b: prices.closes(b, as_of - BREAKER_HISTORY, as_of)
              for b in settings.harvest.circuit_breaker_benchmarks}
    return MarketData(quotes=quotes, benchmark_closes={b: c for b, c in closes.items() if c})


def active_restrictions(session: Session, as_of: date) -> tuple[Restriction, ...]:
    rows = session.scalars(sa.select(RestrictionRow).where(RestrictionRow.until > as_of)
                           .order_by(RestrictionRow.until, RestrictionRow.symbol))
    return tuple(Restriction(r.household_id, r.symbol, r.until, r.sale) for r in rows)


def build_input(session: Session, settings: Settings, prices: PriceBook, as_of: date, run_id: str, mode: str,
                facts: Mapping[str, AccountFacts], unavailable: Mapping[str, str] | None = None,
                harvested_by: Mapping[str, str] | None = None, *, require_facts: bool = False) -> EngineInput:
    """`unavailable`: accounts the brokers could not be read for in this run (with `require_facts`, as for a
    run that trades, an account without `facts` is one too: its cash is unknown; without, as for a what-if
    plan, its cash is taken as zero); `harvested_by`: accounts an earlier run already traded today. Pauses
    are read here, from the database, so a running daemon honours them at its next job."""
    accounts = ledger_accounts(settings)
    # The quarantine column (activity the ledger could not book) comes with the ledger's sync quarantine.
    sync = {row.id: (row.in_sync, row.sync_detail, getattr(row, "quarantine", None) or None)
            for row in session.scalars(sa.select(AccountRow))}
    paused = {a: p.describe() for a, p in pause.for_accounts(session, accounts, as_of).items()}
    unavailable, harvested_by = unavailable or {}, harvested_by or {}

    def why_unavailable(account: str) -> str | None:
        if account in unavailable:
            return unavailable[account]
        return None if account in facts or not require_facts else "its cash was not read"

    households = []
    for household in sorted({a.household for a in accounts.values()}):
        members = tuple(
            AccountInput(account=a, cash=facts[a.id].cash if a.id in facts else Decimal(0),
                         in_sync=bool(sync.get(a.id, (True, None, None))[0]),
                         sync_detail=sync.get(a.id, (True, None, None))[1],
                         quarantined=sync.get(a.id, (True, None, None))[2],
                         capabilities=facts[a.id].capabilities if a.id in facts else Capabilities(),
                         unavailable=why_unavailable(a.id), paused=paused.get(a.id),
                         harvested_by=harvested_by.get(a.id))
            for a in accounts.values() if a.household == household)
        households.append(HouseholdInput(household, members, ledger_repo.load_ledger(session, household)))
    directs = direct_index.inputs(settings)
    market = market_data(prices, _symbols(settings, households) | direct_index.symbols(directs), settings, as_of)
    if directs:
        held = {lot.symbol for h in households for lot in h.ledger.open_lots}
        market = replace(market, returns=direct_index.returns(settings, prices, directs, as_of, held))
    held: dict[str, set[str]] = {}
    for h in households:
        for lot in h.ledger.open_lots:
            held.setdefault(lot.account, set()).add(lot.symbol)
    scheduled = tuple(upcoming(settings, held, as_of, as_of + LOOK_AHEAD))
    return EngineInput(run_id=run_id, as_of=as_of, households=tuple(households), scheduled=scheduled, market=market,
                       harvest=settings.harvest, tax=settings.tax, identical=identical_groups(settings),
                       asset_classes=tuple(settings.asset_classes),
                       restrictions=active_restrictions(session, as_of), mode=mode, direct_indexes=directs,
                       uninvested=idle.uninvested(session, settings, as_of) if require_facts else (),
                       targets=tuple(TargetsInput(a.id, tuple(a.targets.items())) for a in settings.accounts
                                     if a.targets))


def tradable(session: Session, settings: Settings, as_of: date, facts: Mapping[str, AccountFacts],
             unavailable: Mapping[str, str]) -> list[str]:
    """The taxable accounts this run may trade: read from the broker, in sync, not paused."""
    in_sync = dict(session.execute(sa.select(AccountRow.id, AccountRow.in_sync)).all())
    ids = [a.id for a in settings.accounts if a.type.taxable and a.id in facts and a.id not in unavailable
           and in_sync.get(a.id, True)]
    stopped = pause.for_accounts(session, ids, as_of)
    return [a for a in ids if a not in stopped]


def plan_and_record(session: Session, settings: Settings, prices: PriceBook, as_of: date, mode: str,
                    facts: Mapping[str, AccountFacts], unavailable: Mapping[str, str] | None = None,
                    harvested_by: Mapping[str, str] | None = None, run_id: str | None = None) -> HarvestPlan:
    """Plan, then store the run with its plan and alerts. Restrictions are recorded when a sale fills, not
    here: a plan sells nothing."""
    started = datetime.now(UTC)
    run_id = run_id or new_run_id(as_of)
    if mode != "dry-run":
        accounts = tradable(session, settings, as_of, facts, unavailable or {})
        # An account another run already harvested today is reported as such even when this run cannot
        # trade it for another reason: a run racing the winner may see the broker after the winner's sale
        # and the ledger before it (out of sync), and the person should hear "already harvested by <run>".
        earlier = {a: r for a, r in claims.claimed(session, as_of).items() if r != run_id}
        harvested_by = {**earlier, **claims.claim(session, accounts, as_of, mode, run_id), **(harvested_by or {})}
    inp = build_input(session, settings, prices, as_of, run_id, mode, facts, unavailable, harvested_by,
                      require_facts=True)
    result = engine_plan(inp)
    note = why_empty(inp, result)
    if note is not None:
        result = replace(result, note=note)
        log.warning("harvest.empty", run_id=run_id, as_of=str(as_of), note=note)
    session.add(HarvestRun(id=run_id, household_id=None, as_of=as_of, mode=mode,
                           status="dry-run" if mode == "dry-run" else "planned", started_at=started,
                           finished_at=datetime.now(UTC), plan=result.to_dict()))
    session.flush()
    now = datetime.now(UTC)
    for a in result.alerts:
        session.add(Alert(created_at=now, run_id=run_id, kind=a.kind, severity=a.severity.value,
                          household_id=a.data.get("household"), account_id=a.data.get("account"),
                          message=a.message, data=dict(a.data)))
    if mode == "dry-run":
        _dry_run_alert(session, result)
    log.info("harvest.planned", run_id=run_id, as_of=str(as_of), mode=mode, pairs=len(result.pairs),
             skipped=len(result.skipped), paused=result.paused)
    return result


def why_empty(inp: EngineInput, plan: HarvestPlan) -> str | None:
    """Why a plan has no pairs, when its skipped list cannot say: no taxable positions, no prices, prices
    too old, or simply no loss. None when there are pairs, or the plan is paused (the pause says why)."""
    if plan.pairs or plan.paused or plan.purchases or plan.reinvestments:
        return None
    taxable = {a.account.id for h in inp.households for a in h.accounts if a.account.type.taxable}
    if not taxable:
        return "no taxable account is configured: only taxable accounts are harvested."
    held = sorted({lot.symbol for h in inp.households for lot in h.ledger.open_lots if lot.account in taxable})
    if not held:
        return ("no open position in a taxable account: import trades with `tlh import`, or let `tlh sync` pull "
                "them from the broker.")
    quotes = {s: inp.market.quotes[s] for s in held if s in inp.market.quotes}
    shown = ", ".join(held[:6]) + (f" and {len(held) - 6} more" if len(held) > 6 else "")
    if not quotes:
        return (f"no price on or before {inp.as_of} for any symbol held ({shown}): set [brokers.paper] prices "
                f"to a CSV of daily closes, or check the brokers' market data.")
    newest = max(q.day for q in quotes.values())
    if (inp.as_of - newest).days > inp.harvest.max_price_age_days:
        return (f"the latest prices are from {newest}, {(inp.as_of - newest).days} days before {inp.as_of} "
                f"(max_price_age_days {inp.harvest.max_price_age_days}): refresh the price file, or plan on its "
                f"last day with --as-of {newest}.")
    if plan.skipped:
        return None  # each skipped position says why
    return f"no position held in a taxable account is at a loss worth harvesting on {inp.as_of}."


def _dry_run_alert(session: Session, plan: HarvestPlan) -> None:
    """The dry-run alert: what would have been sold and bought, with the estimated tax benefit; and the new
    money it would have bought (a direct index's underweight stocks, a book of ETFs' underweight classes)."""
    if plan.purchases:
        spent = sum((b.notional for b in plan.purchases), Decimal(0))
        session.add(Alert(created_at=datetime.now(UTC), run_id=plan.run_id, kind="dry_run_purchases",
                          severity="info", household_id=None, account_id=None,
                          message=f"dry run {plan.as_of}: {len(plan.purchases)} purchase(s) of new money would buy "
                                  f"${spent:,.2f} of underweight holdings: "
                                  + "; ".join(f"{b.account}: buy ${b.notional:,.2f} of {b.symbol}"
                                              for b in plan.purchases),
                          data={"purchases": str(len(plan.purchases)), "notional": f"{spent:.2f}"}))
    if not plan.pairs:
        return
    lines = [f"{p.account}: sell {p.sell_quantity.normalize():f} {p.sell_symbol} (loss ${p.estimated_loss:,.2f}),"
             f" buy ${p.buy_notional:,.2f} of {p.buy_symbol}" for p in plan.pairs]
    benefit = sum((p.estimated_benefit for p in plan.pairs), Decimal(0))
    session.add(Alert(created_at=datetime.now(UTC), run_id=plan.run_id, kind="dry_run_plan", severity="info",
                      household_id=None, account_id=None,
                      message=f"dry run {plan.as_of}: {len(plan.pairs)} pair(s) would harvest "
                              f"${plan.estimated_loss:,.2f} of losses, estimated tax benefit ${benefit:,.2f}: "
                              + "; ".join(lines),
                      data={"pairs": str(len(plan.pairs)), "estimated_benefit": f"{benefit:.2f}"}))
