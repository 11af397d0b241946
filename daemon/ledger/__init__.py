"""The tax-lot ledger: pure functions from a household's trades to lots, dispositions and wash sales."""

from daemon.ledger.book import BackdatedTrades, LedgerError, apply, canonical_order, replay
from daemon.ledger.types import (
    Account,
    AccountType,
    Disposition,
    IdenticalGroups,
    LedgerState,
    Lot,
    LotMethod,
    Side,
    Term,
    Trade,
    WashMatch,
)

__all__ = [
    "Account", "AccountType", "BackdatedTrades", "Disposition", "IdenticalGroups", "LedgerError",
    "LedgerState", "Lot", "LotMethod", "Side", "Term", "Trade", "WashMatch", "apply", "canonical_order",
    "replay",
]
