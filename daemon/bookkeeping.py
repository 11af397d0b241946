"""Booking trades: new trades into the store, the ledger brought up to date, all in one transaction.

The imperative shell around `daemon.ledger`: it reads the saved state, lets the pure ledger compute, and
writes the result. Any failure rolls the whole transaction back, so the store is as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine

from daemon import gc_pause, logs
from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger import (
    Account,
    BackdatedTrades,
    CorporateAction,
    Event,
    LedgerError,
    LedgerPolicy,
    LedgerState,
    apply,
    replay,
)
from daemon.store import ledger_repo
from daemon.store.db import writing

log = logs.get_logger(__name__)  # structlog loaded when it logs (report reads through this module)


def ledger_accounts(settings: Settings) -> dict[str, Account]:
    return {a.id: Account(id=a.id, household=a.household, type=a.type, lot_method=a.lot_method,
                          basis_reported=a.basis_reported is True) for a in settings.accounts}


def ledger_policy(settings: Settings) -> LedgerPolicy:
    return LedgerPolicy(replacement_already_sold=settings.tax.replacement_already_sold,
                        identical_match=settings.tax.identical_match)


@dataclass(frozen=True, slots=True)
class ImportedAction:
    """A corporate action read from a file or a broker, with where it came from (for idempotence and errors)."""

    action: CorporateAction
    source: str
    external_id: str
    line: int


@dataclass(frozen=True)
class BookingResult:
    added: int
    skipped: int
    recomputed: tuple[str, ...]  # households recomputed from all their events (backdated events)


def _per_household(settings: Settings, accounts: dict[str, Account],
                   imported: Sequence[ImportedTrade | ImportedAction]
                   ) -> dict[str, list[ImportedTrade | ImportedAction]]:
    households = sorted({a.household for a in accounts.values()})
    out: dict[str, list[ImportedTrade | ImportedAction]] = {}
    for item in imported:
        if isinstance(item, ImportedTrade):
            out.setdefault(accounts[item.trade.account].household, []).append(item)
        elif item.action.account is not None:
            out.setdefault(accounts[item.action.account].household, []).append(item)
        else:
            # An action for "every account holding the symbol": one event per household, each its own row.
            for household in households:
                action = replace(item.action, action_id=f"{item.action.action_id}@{household}")
                out.setdefault(household, []).append(
                    replace(item, action=action, external_id=f"{item.external_id}@{household}"))
    return out


def _line(items: Sequence[ImportedTrade | ImportedAction], event_id: str) -> int | None:
    """The line `event_id` was read from (looked up when the ledger refuses it, not kept for every row)."""
    for i in items:
        if (i.trade.trade_id if isinstance(i, ImportedTrade) else i.action.action_id) == event_id:
            return i.line
    return None


def book(engine: Engine, settings: Settings, imported: Sequence[ImportedTrade | ImportedAction],
         path: str = "") -> BookingResult:
    """Add `imported` trades and corporate actions (idempotently) and update each touched household's ledger.

    All or nothing: the first event the ledger cannot apply raises TradeImportError naming its line, and the
    transaction (every household's) rolls back."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    policy = ledger_policy(settings)
    by_household = _per_household(settings, accounts, imported)
    added = 0
    recomputed: list[str] = []
    with writing(engine) as session:  # Core, no ORM: an import never loads it
        ledger_repo.sync_accounts(session, settings)
        for household, items in sorted(by_household.items()):
            new: list[Event] = [
                *ledger_repo.add_trades(session, household, ((i.trade, i.source, i.external_id) for i in items
                                                             if isinstance(i, ImportedTrade))),
                *ledger_repo.add_actions(session, household, ((i.action, i.source, i.external_id) for i in items
                                                              if isinstance(i, ImportedAction)))]
            added += len(new)
            if not new:
                continue
            state = stored = ledger_repo.load_ledger(session, household)
            try:
                try:
                    if ledger_repo.stored_policy(session, household) not in (None, policy):
                        raise BackdatedTrades("the wash-sale policies changed")  # recompute everything
                    state = apply(state, new, accounts, identical, policy)
                except BackdatedTrades:
                    recomputed.append(household)
                    state = replay(household, ledger_repo.load_events(session, household), accounts,
                                   identical, policy)
            except LedgerError as exc:
                raise TradeImportError(path or "trades", _line(items, exc.event.event_id), exc.reason) from None
            ledger_repo.save_ledger(session, state, policy, previous=stored)  # only the rows that changed
            log.info("ledger.booked", household=household, events=len(new), through=str(state.through),
                     recomputed=household in recomputed)
    return BookingResult(added=added, skipped=len(imported) - added, recomputed=tuple(recomputed))


def recompute(engine: Engine, settings: Settings) -> list[LedgerState]:
    """Rebuild every household's ledger from its stored events (after a configuration change)."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    policy = ledger_policy(settings)
    states = []
    with writing(engine) as session, gc_pause.paused():  # whole ledgers: many objects that live on
        ledger_repo.sync_accounts(session, settings)
        for household in sorted({a.household for a in settings.accounts}):
            state = replay(household, ledger_repo.load_events(session, household), accounts, identical, policy)
            ledger_repo.save_ledger(session, state, policy)
            states.append(state)
    return states
