"""The tax-lot ledger: pure functions from a household's events to lots, dispositions and wash sales."""

from daemon.ledger.actions import ActionKind, CorporateAction
from daemon.ledger.book import (
    RULES,
    BackdatedTrades,
    Event,
    LedgerError,
    Unloaded,
    apply,
    canonical_order,
    event_order,
    replay,
)
from daemon.ledger.types import (
    Account,
    AccountType,
    Disposition,
    IdenticalGroups,
    IdenticalMatch,
    LedgerPolicy,
    LedgerState,
    Lot,
    LotMethod,
    Origin,
    Part,
    ReplacementAlreadySold,
    Side,
    Term,
    Trade,
    WashMatch,
)

__all__ = [
    "RULES", "Account", "AccountType", "ActionKind", "BackdatedTrades", "CorporateAction", "Disposition", "Event",
    "IdenticalGroups", "IdenticalMatch", "LedgerError", "LedgerPolicy", "LedgerState", "Lot", "LotMethod",
    "Origin", "Part", "ReplacementAlreadySold", "Side", "Term", "Trade", "Unloaded", "WashMatch", "apply",
    "canonical_order", "event_order", "replay",
]
