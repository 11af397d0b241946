"""Terse builders for ledger tests."""

from __future__ import annotations

import itertools
from datetime import date, time
from decimal import Decimal

from daemon.ledger import (
    Account,
    AccountType,
    IdenticalGroups,
    LedgerPolicy,
    LedgerState,
    LotMethod,
    Side,
    Trade,
    replay,
)
from daemon.ledger.book import Event

_ids = itertools.count(1)

ACCOUNTS = {
    "tax": Account("tax", "h", AccountType.TAXABLE),
    "spouse": Account("spouse", "h", AccountType.TAXABLE),
    "ira": Account("ira", "h", AccountType.TRADITIONAL_IRA),
    "roth": Account("roth", "h", AccountType.ROTH_IRA),
    "hsa": Account("hsa", "h", AccountType.HSA),
    "lifo": Account("lifo", "h", AccountType.TAXABLE, LotMethod.LIFO),
    "hifo": Account("hifo", "h", AccountType.TAXABLE, LotMethod.HIFO),
    "other": Account("other", "g", AccountType.TAXABLE),
}
IDENTICAL = IdenticalGroups((frozenset({"VOO", "IVV", "SPY", "SPLG"}),))


def t(day: str, account: str, side: str, qty: object, symbol: str, price: object, *, fees: object = 0,
      lot: str | None = None, tid: str | None = None, at: str | None = None, acquired: str | None = None,
      basis: object = None) -> Trade:
    return Trade(trade_id=tid or f"t{next(_ids)}", date=date.fromisoformat(day), account=account,
                 symbol=symbol, side=Side(side), quantity=Decimal(str(qty)), price=Decimal(str(price)),
                 fees=Decimal(str(fees)), lot_id=lot, time=time.fromisoformat(at) if at else None,
                 acquired=date.fromisoformat(acquired) if acquired else None,
                 basis=None if basis is None else Decimal(str(basis)))


def run(*events: Event, household: str = "h", accounts: dict[str, Account] | None = None,
        policy: LedgerPolicy | None = None) -> LedgerState:
    accounts = accounts or ACCOUNTS
    return replay(household, [x for x in events if x.account is None or accounts[x.account].household == household],
                  accounts, IDENTICAL, policy)


def D(x: object) -> Decimal:  # noqa: N802
    return Decimal(str(x))


def lot(state: LedgerState, lot_id: str):  # type: ignore[no-untyped-def]
    return next(x for x in state.lots if x.lot_id == lot_id)


def disp(state: LedgerState, trade_id: str):  # type: ignore[no-untyped-def]
    found = [d for d in state.dispositions if d.trade_id == trade_id]
    assert len(found) == 1, found
    return found[0]
