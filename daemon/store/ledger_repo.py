"""Persistence of the pure ledger's inputs (trades, accounts) and outputs (lots, dispositions, wash matches).

Everything runs inside the caller's transaction (a session's or a Core connection's): nothing here commits.
Bulk paths go through `daemon.store.bulk` (the driver's executemany, or COPY on PostgreSQL, fed a column at
a time from the records themselves), never ORM objects one by one, so that saving a household with 100k
lots stays a matter of seconds.

Which column holds which field of a record, and how a value is stored and read back, is in
`daemon.store.ledger_rows` (the mapping, shared by the ledger's records and the trades); this module decides
what is written and read, and when: saving and loading a household's ledger (only the rows that changed),
the gains reads, importing trades and corporate actions once each, and the configured accounts.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from daemon.config.models import Settings
from daemon.ledger.actions import ActionKind, CorporateAction
from daemon.ledger.types import (
    Account,
    AccountType,
    Disposition,
    IdenticalMatch,
    LedgerPolicy,
    LedgerState,
    Lot,
    LotMethod,
    ReplacementAlreadySold,
    Trade,
    make_disposition,
    make_lot,
    make_match,
)
from daemon.store import bulk, tables
from daemon.store.db import connection_of
from daemon.store.ledger_rows import (
    DISPOSITION_READ,
    LOT_READ,
    MATCH_READ,
    SIDE,
    TRADE_FIELDS,
    TRADE_READ,
    disposition_columns,
    getters,
    lot_columns,
    match_columns,
    read_records,
)
from daemon.store.types import DecimalType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

_V = TypeVar("_V", Lot, Disposition)

# Core tables: the reads (`tlh lots`, `gains`, reports) and the import never load the ORM. Every function takes
# a Core connection or a session (its connection and transaction).
LOTS = tables.LOTS
DISPOSITIONS = tables.DISPOSITIONS
MATCHES = tables.WASH_MATCHES
STATES = tables.LEDGER_STATES
TRADES = tables.TRADES
ACTIONS = tables.CORPORATE_ACTIONS

def _insert(session: Session | Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    # The session's connection (same transaction), the driver's executemany (COPY on PostgreSQL) with the
    # columns' own type processing: see daemon.store.bulk.
    bulk.insert(connection_of(session), table, rows)


def _delete(session: Session | Connection, table: sa.Table, household: str) -> None:
    # A Core delete (no ORM objects to reconcile), through the session: pending objects are flushed first.
    connection_of(session).execute(sa.delete(table).where(table.c.household_id == household))


# --- ledger state ---------------------------------------------------------------------------------


def save_ledger(session: Session | Connection, state: LedgerState, policy: LedgerPolicy | None = None, *,
                previous: LedgerState | None = None) -> None:
    """Make the store hold `state` for `state.household` (computed under `policy`).

    `previous`: what the store holds now, as `load_ledger` read it in this transaction. Then only the rows
    that differ are deleted and written (a day's trades on a long history touch a few lots, not all of
    them); without it, everything is replaced."""
    household = state.household
    connection = connection_of(session)
    lots: Sequence[Lot] = state.lots
    dispositions: Sequence[Disposition] = state.dispositions
    kept_matches = 0
    if previous is None:
        for table in (MATCHES, DISPOSITIONS, LOTS):
            _delete(session, table, household)
    else:
        assert previous.household == household
        lots = _changed(connection, LOTS, "lot_id", household, previous.lots, state.lots)
        dispositions = _changed(connection, DISPOSITIONS, "disposition_id", household, previous.dispositions,
                                state.dispositions)
        # Matches are kept by position: the common beginning stays, the rest is rewritten.
        while (kept_matches < min(len(previous.matches), len(state.matches))
               and previous.matches[kept_matches] == state.matches[kept_matches]):
            kept_matches += 1
        if kept_matches < len(previous.matches):
            connection.execute(sa.delete(MATCHES).where(MATCHES.c.household_id == household,
                                                        MATCHES.c.position >= kept_matches))
    _delete(session, STATES, household)
    bulk.insert_objects(connection, LOTS, lots, lot_columns(household))
    bulk.insert_objects(connection, DISPOSITIONS, dispositions, disposition_columns(household))
    bulk.insert_objects(connection, MATCHES, state.matches[kept_matches:],
                        match_columns(household, kept_matches, len(state.matches)))
    securities = {
        "split_factors": {symbol: str(factor) for symbol, factor in state.split_factors},
        "renamed": [list(pair) for pair in state.renamed],
        "splits_applied": list(state.splits_applied),
    }
    if policy is not None:
        securities["policy"] = {"replacement_already_sold": str(policy.replacement_already_sold),
                                "identical_match": str(policy.identical_match)}
    connection_of(session).execute(
        sa.insert(STATES),
        [{"household_id": household, "through": state.through, "next_seq": state.next_seq,
          "securities": securities if any(securities.values()) else None}],
    )


def _changed(connection: sa.Connection, table: sa.Table, key: str, household: str, before: Iterable[_V],
             after: Iterable[_V]) -> list[_V]:
    """The items of `after` that differ from (or are missing in) `before`, matched by their `key` field; the
    stored rows of the ones that changed or went away are deleted."""
    get = operator.attrgetter(key)
    stored = {get(item): item for item in before}
    if not stored:
        return list(after)  # nothing stored (a first import): everything is new, nothing to delete
    out: list[_V] = []
    gone: list[str] = []
    for item in after:
        ident = get(item)
        old = stored.pop(ident, None)
        if old != item:
            out.append(item)
            if old is not None:
                gone.append(ident)
    gone.extend(stored)  # not in `after` at all
    bulk.delete_keys(connection, table, {"household_id": household}, key, gone)
    return out


def _head(reader: Session | Connection, household: str) -> Any:
    return connection_of(reader).execute(sa.select(STATES).where(STATES.c.household_id == household)).first()


def stored_policy(session: Session | Connection, household: str) -> LedgerPolicy | None:
    """The wash-sale policies the stored ledger was computed under (None: not recorded)."""
    head = _head(session, household)
    saved = ((head.securities if head else None) or {}).get("policy")
    if not saved:
        return None
    return LedgerPolicy(replacement_already_sold=ReplacementAlreadySold(saved["replacement_already_sold"]),
                        identical_match=IdenticalMatch(saved["identical_match"]))


def load_ledger(session: Session | Connection, household: str) -> LedgerState:
    """The inverse of `save_ledger`; an empty state when the household was never saved."""
    head = _head(session, household)
    connection = connection_of(session)  # plain Core rows: no ORM identity map for 100k lots
    # Lots and sales sorted here, in the ledger's own order (seq, then id by code point), not by the
    # database: no index serves that order, and a database collation may differ.
    lots = read_records(connection, make_lot, LOTS, LOT_READ, household)
    dispositions = read_records(connection, make_disposition, DISPOSITIONS, DISPOSITION_READ, household)
    matches = read_records(connection, make_match, MATCHES, MATCH_READ, household, MATCHES.c.position)
    securities = (head.securities if head else None) or {}
    return LedgerState(
        household=household,
        split_factors=tuple((k, Decimal(v)) for k, v in sorted(securities.get("split_factors", {}).items())),
        renamed=tuple((old, new) for old, new in securities.get("renamed", [])),
        splits_applied=tuple(securities.get("splits_applied", [])),
        through=head.through if head else None,
        lots=tuple(sorted(lots, key=_LOT_ORDER)),
        dispositions=tuple(sorted(dispositions, key=_DISPOSITION_ORDER)),
        matches=tuple(matches),
        next_seq=head.next_seq if head else 0,
    )


def load_dispositions(session: Session | Connection, household: str) -> tuple[Disposition, ...]:
    """The household's dispositions alone, in ledger order (`load_ledger(...).dispositions`): what gains
    reports need, without reading every lot and wash match."""
    return tuple(sorted(read_records(connection_of(session), make_disposition, DISPOSITIONS, DISPOSITION_READ,
                                     household), key=_DISPOSITION_ORDER))


_LOT_ORDER = operator.attrgetter("seq", "lot_id")
_DISPOSITION_ORDER = operator.attrgetter("seq", "disposition_id")


SALE_COLUMNS = ("account_id", "symbol", "quantity", "acquired", "sold", "proceeds", "cost_basis", "washed_quantity",
                "adjustment", "permanent")


def taxable_sales(connection: sa.Connection, households: Sequence[str], year: int | None = None,
                  account: str | None = None) -> Iterator[tuple[Any, ...]]:
    """The taxable dispositions of `households` (of `year` and `account` when given) as tuples of
    `SALE_COLUMNS`, streamed in batches, in the order `review.gain_rows` puts them: by sale date, then the
    ledger's sequence, then household and disposition id in code-point order (the ledger's own order).
    Amounts are Decimals of the stored value, made a column at a time (not by the column type, value by
    value: most of the time of `tlh gains --format json` on 100,000 sales)."""
    c = DISPOSITIONS.c
    amounts = [i for i, name in enumerate(SALE_COLUMNS) if isinstance(c[name].type, DecimalType)]
    query = sa.select(*(sa.type_coerce(c[name], sa.String()).label(name) if i in amounts else c[name]
                        for i, name in enumerate(SALE_COLUMNS))).where(c.household_id.in_(households), c.taxable)
    if year is not None:
        query = query.where(c.sold >= date(year, 1, 1), c.sold <= date(year, 12, 31))
    if account is not None:
        query = query.where(c.account_id == account)
    query = query.order_by(c.sold, c.seq, _code_points(connection, c.household_id),
                           _code_points(connection, c.disposition_id))
    for rows in connection.execution_options(yield_per=2_000).execute(query).partitions():
        columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
        for i in amounts:  # SQLite's canonical text, PostgreSQL's NUMERIC (a Decimal already)
            columns[i] = map(Decimal, columns[i])
        yield from zip(*columns, strict=True)


def _code_points(connection: sa.Connection, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    # SQLite compares text bytewise (UTF-8: code-point order, as Python sorts); PostgreSQL's default
    # collation follows the locale, "C" is bytewise.
    return column.collate("C") if connection.dialect.name == "postgresql" else column


# --- trades ---------------------------------------------------------------------------------------


_T = TypeVar("_T")


def _unseen(session: Session | Connection, table: sa.Table, household: str,
            rows: Iterable[tuple[_T, str, str]]) -> tuple[list[tuple[_T, tuple[str, str]]], int]:
    """The rows whose (source, external_id) the store has not seen, in input order, with that key, and the
    household's next `seq` for them. A duplicate inside one batch is the same event twice: the first counts."""
    firsts: dict[tuple[str, str], _T] = {}
    for item, source, external_id in rows:
        firsts.setdefault((source, external_id), item)
    if not firsts:
        return [], 0
    existing: set[tuple[str, str]] = set()
    for source in {source for source, _ in firsts}:
        ids = [external_id for s, external_id in firsts if s == source]
        existing.update((source, external_id) for external_id in _known(session, table, source, ids))
    new = [(item, key) for key, item in firsts.items() if key not in existing]
    last = connection_of(session).scalar(
        sa.select(sa.func.max(table.c.seq)).where(table.c.household_id == household)) if new else 0
    return new, (last or 0) + 1


def _known(session: Session | Connection, table: sa.Table, source: str, ids: list[str]) -> Iterable[str]:
    """Which of `ids` the store holds for `source`. Few rows of the source stored (a first import): all of
    their ids in one query; else the ids asked for, 500 at a time (portable: no tuple IN on SQLite)."""
    connection = connection_of(session)
    stored = connection.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.source == source)) or 0
    if stored == 0:
        return ()
    if stored <= 4 * len(ids):
        return set(connection.scalars(sa.select(table.c.external_id).where(table.c.source == source))) & set(ids)
    ids.sort()
    found: list[str] = []
    for start in range(0, len(ids), 500):
        found.extend(connection.scalars(sa.select(table.c.external_id).where(
            table.c.source == source, table.c.external_id.in_(ids[start : start + 500]))))
    return found


def add_trades(
    session: Session | Connection,
    household: str,
    rows: Iterable[tuple[Trade, str, str]],
    *,
    imported_at: datetime | None = None,
) -> list[Trade]:
    """Insert the trades whose (source, external_id) the store has not seen; return those, in input order.

    A second import of the same file or broker history therefore adds nothing. Each new trade gets the
    household's next `seq`, which keeps the import order for same-day trades.
    """
    new, first = _unseen(session, TRADES, household, rows)
    trades = [trade for trade, _ in new]
    if new:
        columns = {"household_id": bulk.Constant(household), **getters(TRADE_FIELDS), "side": SIDE,
                   "source": bulk.Values([source for _, (source, _) in new]),
                   "external_id": bulk.Values([external_id for _, (_, external_id) in new]),
                   "imported_at": bulk.Constant(imported_at or datetime.now(UTC)),
                   "seq": bulk.Values(range(first, first + len(new)))}
        bulk.insert_objects(connection_of(session), TRADES, trades, columns)
    return trades




def load_trades(session: Session | Connection, household: str) -> list[Trade]:
    """The household's trades by trade date, then import order."""
    return read_records(connection_of(session), Trade, TRADES, TRADE_READ, household, TRADES.c.date, TRADES.c.seq)


# --- corporate actions ----------------------------------------------------------------------------


def add_actions(session: Session | Connection, household: str, rows: Iterable[tuple[CorporateAction, str, str]], *,
                imported_at: datetime | None = None) -> list[CorporateAction]:
    """Insert the actions whose (source, external_id) the store has not seen; return those, in input order."""
    new, first = _unseen(session, ACTIONS, household, rows)
    if not new:
        return []
    stamp = imported_at or datetime.now(UTC)
    _insert(session, ACTIONS, [{
        "action_id": a.action_id, "household_id": household, "account_id": a.account, "date": a.date,
        "time": a.time, "symbol": a.symbol, "kind": str(a.kind), "ratio": a.ratio, "new_symbol": a.new_symbol,
        "cash_per_share": a.cash_per_share, "basis_fraction": a.basis_fraction, "source": source,
        "external_id": external_id, "imported_at": stamp, "seq": first + i,
    } for i, (a, (source, external_id)) in enumerate(new)])
    return [a for a, _ in new]


def load_actions(session: Session | Connection, household: str) -> list[CorporateAction]:
    result = connection_of(session).execute(
        sa.select(ACTIONS).where(ACTIONS.c.household_id == household)
        .order_by(ACTIONS.c.date, ACTIONS.c.seq)
    )
    return [
        CorporateAction(action_id=r["action_id"], date=r["date"], symbol=r["symbol"], kind=ActionKind(r["kind"]),
                        account=r["account_id"], ratio=r["ratio"], new_symbol=r["new_symbol"],
                        cash_per_share=r["cash_per_share"], basis_fraction=r["basis_fraction"], time=r["time"])
        for r in result.mappings()
    ]


def load_events(session: Session | Connection, household: str) -> list[Trade | CorporateAction]:
    """Everything the ledger replays for a household: trades (by date, then import order) and actions."""
    return [*load_trades(session, household), *load_actions(session, household)]


# --- households and accounts ----------------------------------------------------------------------


def sync_accounts(session: Session | Connection, settings: Settings) -> None:
    """Upsert households and accounts from the configuration.

    Accounts dropped from the configuration are kept: their trades still reference them. The broker's
    reconciliation fields (`in_sync`, `sync_detail`) are left alone. Core statements (an import never loads
    the ORM), and only the rows that differ are written.
    """
    connection = connection_of(session)
    households = {account.household for account in settings.accounts}
    table = tables.HOUSEHOLDS
    known = set(connection.scalars(sa.select(table.c.id).where(table.c.id.in_(households))))
    missing = sorted(households - known)
    if missing:  # households before the accounts that reference them
        connection.execute(sa.insert(table), [{"id": h} for h in missing])
    accounts = tables.ACCOUNTS
    fields = ("household_id", "type", "broker", "lot_method", "broker_account", "basis_reported")
    ids = [config.id for config in settings.accounts]
    stored = {row.id: tuple(row[1:]) for row in connection.execute(
        sa.select(accounts.c.id, *(accounts.c[f] for f in fields)).where(accounts.c.id.in_(ids)))}
    for config in settings.accounts:
        values = (config.household, str(config.type), config.broker, str(config.lot_method), config.broker_account,
                  config.basis_reported is True)  # "none" (no 1099-B) reports no basis either
        if config.id not in stored:
            connection.execute(sa.insert(accounts).values(id=config.id, **dict(zip(fields, values, strict=True))))
        elif stored[config.id] != values:
            connection.execute(sa.update(accounts).where(accounts.c.id == config.id)
                               .values(**dict(zip(fields, values, strict=True))))
        stored[config.id] = values  # an id configured twice: the last one wins, as before


def load_accounts(session: Session | Connection, household: str | None = None) -> list[Account]:
    """The ledger's view of the stored accounts (all households when `household` is None), by id."""
    accounts = tables.ACCOUNTS
    query = sa.select(accounts).order_by(accounts.c.id)
    if household is not None:
        query = query.where(accounts.c.household_id == household)
    return [
        Account(
            id=row.id,
            household=row.household_id,
            type=AccountType(row.type),
            lot_method=LotMethod(row.lot_method),
            basis_reported=row.basis_reported,
        )
        for row in connection_of(session).execute(query)
    ]
