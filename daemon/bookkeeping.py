"""Booking trades: new trades into the store, the ledger brought up to date, all in one transaction.

The imperative shell around `daemon.ledger`: it reads the saved state, lets the pure ledger compute, and
writes the result. Any failure rolls the whole transaction back, so the store is as it was.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

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
    Unloaded,
    apply,
    replay,
)
from daemon.store import ledger_repo, sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

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


class _Lines:
    """Where each event of a batch was read from, without the events: their ids and lines (looked up only
    when the ledger refuses one)."""

    def __init__(self, items: Sequence[ImportedTrade | ImportedAction]):
        self.ids = [i.trade.trade_id if isinstance(i, ImportedTrade) else i.action.action_id for i in items]
        self.lines = array("q", [i.line for i in items])

    def line(self, event_id: str) -> int | None:
        """The line `event_id` was read from (its first, if the batch holds it twice)."""
        try:
            return self.lines[self.ids.index(event_id)]
        except ValueError:
            return None


def _emptied(events: list[Event]) -> Iterator[Event]:
    """`events` in order, each let go by the list as it is taken (the list ends empty): handed to the ledger,
    which keeps none, events nobody else holds are freed as they are booked (a household's whole history,
    when it is recomputed)."""
    events.reverse()
    pop = events.pop
    while events:
        yield pop()


def book(database: Engine | str, settings: Settings, imported: Sequence[ImportedTrade | ImportedAction],
         path: str = "", *, consume: bool = False) -> BookingResult:
    """Add `imported` trades and corporate actions (idempotently) and update each touched household's ledger,
    in `database` (an engine, or a URL: a SQLite file is then written without loading SQLAlchemy).

    All or nothing: the first event the ledger cannot apply raises TradeImportError naming its line, and the
    transaction (every household's) rolls back.

    `consume`: `imported` (a list) is emptied, and each household's events are let go once stored, so that the
    ledger's fold frees each one as it books it (it keeps none): a caller with no further use for them (an
    import of a file) does not hold a large file's trades while the whole ledger is built (100,000 trades:
    40 MB of the import's peak memory)."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    policy = ledger_policy(settings)
    by_household = _per_household(settings, accounts, imported)
    total = len(imported)
    if consume and isinstance(imported, list):
        imported.clear()
    del imported
    added = 0
    recomputed: list[str] = []
    with sql.writing(database) as session:  # plain SQL, no ORM: an import never loads it
        ledger_repo.sync_accounts(session, settings)
        for household in sorted(by_household):
            items = by_household.pop(household) if consume else by_household[household]
            new: list[Event] = [
                *ledger_repo.add_trades(session, household, ((i.trade, i.source, i.external_id) for i in items
                                                             if isinstance(i, ImportedTrade))),
                *ledger_repo.add_actions(session, household, ((i.action, i.source, i.external_id) for i in items
                                                              if isinstance(i, ImportedAction)))]
            added += len(new)
            if not new:
                continue
            booked = len(new)  # `consume` empties `new` as the ledger books it
            lines = _Lines(items)
            del items
            # Only what new events after the stored last day can change: on a long history, a few thousand
            # rows, not all of them.
            stored = ledger_repo.load_part(session, household)
            booked_state: LedgerState | None = None
            try:
                try:
                    reason = ledger_repo.recompute_reason(session, household, policy)
                    if reason is not None:
                        raise BackdatedTrades(reason)  # recompute everything
                    if stored.part is not None:
                        try:
                            # `new` is not consumed here: the whole ledger may have to book it again.
                            booked_state = apply(stored, new, accounts, identical, policy)
                        except (Unloaded, LedgerError):
                            # The batch reaches a record the part left out, or is refused: booked on the
                            # whole ledger (a refusal then names what the whole ledger refuses).
                            stored = ledger_repo.load_ledger(session, household)
                    if booked_state is None:
                        booked_state = apply(stored, _emptied(new) if consume else new, accounts, identical, policy)
                except BackdatedTrades:
                    recomputed.append(household)
                    if stored.part is not None:
                        stored = ledger_repo.load_ledger(session, household)  # a replay may change any row
                    booked_state = replay(household, _emptied(ledger_repo.load_events(session, household)),
                                          accounts, identical, policy)
            except LedgerError as exc:
                raise TradeImportError(path or "trades", lines.line(exc.event.event_id), exc.reason) from None
            ledger_repo.save_ledger(session, booked_state, policy, previous=stored)  # only the rows that changed
            log.info("ledger.booked", household=household, events=booked, through=str(booked_state.through),
                     recomputed=household in recomputed, loaded="part" if stored.part is not None else "whole")
    return BookingResult(added=added, skipped=total - added, recomputed=tuple(recomputed))


def recompute_stale(engine: Engine, settings: Settings) -> list[str]:
    """Recompute the households whose stored ledger was computed under an earlier edition of the ledger's
    rules (`ledger.RULES`); returns them. Run by `tlh db upgrade` and by the daemon before its first sync."""
    with sql.reading(engine) as session:
        stale = [h for h in sorted({a.household for a in settings.accounts}) if ledger_repo.stale_rules(session, h)]
    if stale:
        recompute(engine, settings, stale)
        log.warning("ledger.recomputed", households=stale, reason="the ledger's rules changed")
    return stale


def recompute(engine: Engine, settings: Settings, households: Sequence[str] | None = None) -> list[LedgerState]:
    """Rebuild every household's ledger (or those of `households`) from its stored events (after a
    configuration change)."""
    accounts = ledger_accounts(settings)
    identical = identical_groups(settings)
    policy = ledger_policy(settings)
    states = []
    with sql.writing(engine) as session, gc_pause.paused():  # whole ledgers: many objects that live on
        ledger_repo.sync_accounts(session, settings)
        for household in sorted({a.household for a in settings.accounts} if households is None else households):
            state = replay(household, _emptied(ledger_repo.load_events(session, household)), accounts, identical,
                           policy)
            ledger_repo.save_ledger(session, state, policy)
            states.append(state)
    return states
