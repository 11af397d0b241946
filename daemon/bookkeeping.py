"""Booking trades: new trades into the store, the ledger brought up to date, all in one transaction.

The imperative shell around `daemon.ledger`: it reads the saved state, lets the pure ledger compute, and
writes the result. Any failure rolls the whole transaction back, so the store is as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.engine import Engine

from daemon.config.loader import identical_groups
from daemon.config.models import Settings
from daemon.importers.csv_trades import ImportedTrade, TradeImportError
from daemon.ledger import Account, BackdatedTrades, LedgerError, LedgerState, apply, replay
from daemon.store import ledger_repo
from daemon.store.db import transaction

log = structlog.get_logger(__name__)


def ledger_accounts(settings: Settings) -> dict[str, Account]:
    return {a.id: Account(id=a.id, household=a.household, type=a.type, lot_method=a.lot_method,
                          basis_reported=a.basis_reported) for a in settings.accounts}


@dataclass(frozen=True)
class BookingResult:
    added: int
    skipped: int
    recomputed: tuple[str, ...]  # households recomputed from all their trades (backdated trades)


def book(engine: Engine, settings: Settings, imported: Sequence[ImportedTrade], path: str = "") -> BookingResult:
    """Add `imported` trades (idempotently) and update each touched household's ledger."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    lines = {i.trade.trade_id: i.line for i in imported}
    by_household: dict[str, list[ImportedTrade]] = {}
    for item in imported:
        by_household.setdefault(accounts[item.trade.account].household, []).append(item)
    added = 0
    recomputed: list[str] = []
    with transaction(engine) as session:
        ledger_repo.sync_accounts(session, settings)
        for household, items in sorted(by_household.items()):
            new = ledger_repo.add_trades(session, household,
                                         [(i.trade, i.source, i.external_id) for i in items])
            added += len(new)
            if not new:
                continue
            state = ledger_repo.load_ledger(session, household)
            try:
                try:
                    state = apply(state, new, accounts, identical)
                except BackdatedTrades:
                    recomputed.append(household)
                    state = replay(household, ledger_repo.load_trades(session, household), accounts,
                                   identical)
            except LedgerError as exc:
                line = lines.get(exc.trade.trade_id)
                raise TradeImportError(path or "trades", line, exc.reason) from None
            ledger_repo.save_ledger(session, state)
            log.info("ledger.booked", household=household, trades=len(new), through=str(state.through),
                     recomputed=household in recomputed)
    return BookingResult(added=added, skipped=len(imported) - added, recomputed=tuple(recomputed))


def recompute(engine: Engine, settings: Settings) -> list[LedgerState]:
    """Rebuild every household's ledger from its stored trades (after a configuration change)."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    states = []
    with transaction(engine) as session:
        ledger_repo.sync_accounts(session, settings)
        for household in sorted({a.household for a in settings.accounts}):
            state = replay(household, ledger_repo.load_trades(session, household), accounts, identical)
            ledger_repo.save_ledger(session, state)
            states.append(state)
    return states
