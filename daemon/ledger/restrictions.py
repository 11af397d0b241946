"""Do-not-buy-until entries implied by the ledger: a taxable loss sale whose shares are not all washed yet
restricts its whole identical group for 30 days after the sale (a purchase would wash the rest). A symbol
changed since the sale restricts under its new ticker (and the new ticker's group) too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from daemon.ledger.types import IdenticalGroups, LedgerState

WINDOW_END = timedelta(days=31)  # the first day a purchase no longer washes the loss


@dataclass(frozen=True, slots=True)
class PendingRestriction:
    household: str
    symbol: str
    until: date
    sale: str
    sale_date: date
    account: str


def from_ledger(state: LedgerState, identical: IdenticalGroups, as_of: date) -> list[PendingRestriction]:
    out: dict[tuple[str, date], PendingRestriction] = {}
    for d in state.dispositions:
        until = d.sold + WINDOW_END
        if not d.taxable or d.loss <= 0 or d.unwashed_quantity <= 0 or not d.sold <= as_of < until:
            continue
        sale = f"{d.symbol} sold {d.sold} in {d.account} at a loss ({d.unwashed_quantity.normalize():f} sh. unwashed)"
        now = state.current_symbol(d.symbol)
        for symbol in sorted(identical.members(d.symbol) | identical.members(now)):
            key = (symbol, until)
            if key not in out:
                out[key] = PendingRestriction(state.household, symbol, until, sale, d.sold, d.account)
    return sorted(out.values(), key=lambda r: (r.until, r.symbol))
