"""`tlh donate`'s shell: the household's ledger, the latest prices and the open harvest plan in; the pure
engine (`daemon.engine.donation`) picks the lots.

The lots a harvest would sell are never given: those of a harvest planned right now on the same ledger and
prices (`daemon.harvest.build_input`, nothing recorded), and those named by sell orders of earlier runs that
are still open at a broker.

`--record` books the gift as transfers out (`transfer_out` trades naming each lot, source "donate"): the
shares leave the ledger without a gain or loss, in one transaction with the rest of the import machinery.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from daemon.bookkeeping import ledger_accounts
from daemon.config.models import Settings
from daemon.engine import plan as engine_plan
from daemon.engine.donation import Gift, Ranking, choose, planned_lots, rank
from daemon.importers.csv_trades import ImportedTrade
from daemon.ledger.types import LedgerState
from daemon.prices import PriceBook, Quote
from daemon.store import ledger_repo
from daemon.store.models import OrderIntent


def open_sell_lots(session: Session) -> frozenset[str]:
    """Lots named by the sell orders of earlier runs that are not final yet (pending, submitted, open)."""
    from daemon.service.orders import FINAL

    rows = session.scalars(sa.select(OrderIntent.lots).where(OrderIntent.leg == "sell",
                                                             OrderIntent.status.notin_(FINAL)))
    return frozenset(str(lot) for lots in rows for lot in (lots or ()))


def harvest_lots(session: Session, settings: Settings, prices: PriceBook, as_of: date) -> frozenset[str]:
    """The lots the harvest would sell today and the lots of open sell orders."""
    from daemon.harvest import AccountFacts, build_input

    # Planned as if every account's broker had answered (cash plays no part in which lots are sold).
    facts = {a.id: AccountFacts(Decimal(0)) for a in settings.accounts}
    plan = engine_plan(build_input(session, settings, prices, as_of, "donate", "dry-run", facts))
    return planned_lots(plan) | open_sell_lots(session)


def quotes_for(state: LedgerState, prices: PriceBook, as_of: date) -> dict[str, Quote]:
    out: dict[str, Quote] = {}
    for symbol in sorted({lot.symbol for lot in state.open_lots}):
        quote = prices.quote(symbol, as_of)
        if quote is not None:
            out[symbol] = quote
    return out


def ranking(session: Session, settings: Settings, prices: PriceBook, household: str, as_of: date,
            account: str | None = None, exclude: frozenset[str] | None = None) -> Ranking:
    state = ledger_repo.load_ledger(session, household)
    if exclude is None:
        exclude = harvest_lots(session, settings, prices, as_of)
    return rank(state.open_lots, ledger_accounts(settings), quotes_for(state, prices, as_of), as_of,
                max_price_age_days=settings.harvest.max_price_age_days, exclude=exclude, account=account)


def rebuy_after(session: Session, settings: Settings, household: str, as_of: date) -> dict[str, date]:
    """Symbols the household must not buy yet: the daemon's do-not-buy-until list and the ledger's open
    loss-sale windows (what `tlh restrictions` shows)."""
    from daemon.config.loader import identical_groups
    from daemon.ledger import restrictions
    from daemon.store.models import Restriction

    out: dict[str, date] = {}
    rows = session.execute(sa.select(Restriction.symbol, Restriction.until).where(
        Restriction.household_id == household, Restriction.until > as_of, Restriction.sale_date <= as_of))
    pending = [(r.symbol, r.until) for r in restrictions.from_ledger(ledger_repo.load_ledger(session, household),
                                                                      identical_groups(settings), as_of)]
    for symbol, until in [*rows, *pending]:
        out[symbol] = max(until, out.get(symbol, until))
    return out


def gift(session: Session, settings: Settings, prices: PriceBook, household: str, amount: Decimal, as_of: date,
         account: str | None = None) -> Gift:
    """The lots to give for about `amount`, with the deduction, the tax avoided and the notes."""
    found = ranking(session, settings, prices, household, as_of, account)
    return choose(household, amount, found, as_of, settings.tax, settings.giving,
                  rebuy_after(session, settings, household, as_of))


RECORD_SOURCE = "donate"  # the trades `tlh donate --record` books


def recorded_on(session: Session, household: str, day: date) -> list[str]:
    """Trade ids of the gifts `tlh donate --record` already booked for the household on `day`."""
    from daemon.store.models import TradeRow

    return list(session.scalars(sa.select(TradeRow.trade_id).where(
        TradeRow.household_id == household, TradeRow.source == RECORD_SOURCE, TradeRow.date == day)
        .order_by(TradeRow.trade_id)))


def gift_trades(gift: Gift) -> list[ImportedTrade]:
    """The gift as transfers out of the ledger: one per lot, naming it (no gain or loss is realized)."""
    import hashlib

    from daemon.ledger.types import Side, Trade

    out = []
    for n, lot in enumerate(gift.lots, start=1):
        key = f"{gift.household}|{gift.as_of}|{lot.account}|{lot.lot_id}|{lot.quantity.normalize():f}"
        trade_id = "gift-" + hashlib.sha256(key.encode()).hexdigest()[:20]
        trade = Trade(trade_id=trade_id, date=gift.as_of, account=lot.account, symbol=lot.symbol,
                      side=Side.TRANSFER_OUT, quantity=lot.quantity, price=lot.price, lot_id=lot.lot_id)
        out.append(ImportedTrade(trade, RECORD_SOURCE, key, n))
    return out
