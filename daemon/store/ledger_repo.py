"""Persistence of the pure ledger's inputs (trades, accounts) and outputs (lots, dispositions, wash matches).

Everything runs inside the caller's transaction (a SQLAlchemy session's or connection's, or a driver
connection's through `daemon.store.sql.Sql`): nothing here commits. The statements are plain SQL (`sql`), so
that `tlh import` and `tlh gains` on SQLite never load SQLAlchemy.
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

from daemon.ledger import wash_sales
from daemon.ledger.actions import ActionKind, CorporateAction
from daemon.ledger.book import RULES
from daemon.ledger.types import (
    Account,
    AccountType,
    Disposition,
    IdenticalMatch,
    LedgerPolicy,
    LedgerState,
    Lot,
    LotMethod,
    Part,
    ReplacementAlreadySold,
    Trade,
    WashMatch,
    make_disposition,
    make_lot,
    make_match,
)
from daemon.store import bulk, ledger_tables, sql
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
from daemon.store.sql import Sql, quote

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from daemon.config.models import Settings

    Reader = Session | Connection | Sql

_V = TypeVar("_V", Lot, Disposition)

# The tables as plain SQL sees them (daemon.store.sql): the import and the gains listing never load
# SQLAlchemy on SQLite. Every function takes an `Sql`, a SQLAlchemy connection or a session (its connection
# and transaction).
LOTS = ledger_tables.LOTS
DISPOSITIONS = ledger_tables.DISPOSITIONS
MATCHES = ledger_tables.WASH_MATCHES
STATES = ledger_tables.LEDGER_STATES
TRADES = ledger_tables.TRADES
ACTIONS = ledger_tables.CORPORATE_ACTIONS


def _delete(db: Sql, table: sql.Table, household: str) -> None:
    db.run(f"DELETE FROM {quote(table.name)} WHERE household_id = {db.marker}", (household,))


# --- ledger state ---------------------------------------------------------------------------------


def save_ledger(session: Reader, state: LedgerState, policy: LedgerPolicy | None = None, *,
                previous: LedgerState | None = None) -> None:
    """Make the store hold `state` for `state.household` (computed under `policy`).

    `previous`: what the store holds now, as `load_ledger` read it in this transaction. Then only the rows
    that differ are deleted and written (a day's trades on a long history touch a few lots, not all of
    them); without it, everything is replaced."""
    household = state.household
    db = sql.of(session)
    lots: Sequence[Lot] = state.lots
    dispositions: Sequence[Disposition] = state.dispositions
    kept_matches = 0
    # A state loaded in part (`load_part`) holds the matches from `first_match` on, and only the records
    # it loaded or made: it is saved over that same part, never in place of the whole.
    if state.part != (previous.part if previous is not None else None):
        raise ValueError("a ledger state loaded in part is saved only over the part it was loaded as, and a "
                         "whole one over a whole one")
    first_match = state.part.first_match if state.part is not None else 0
    if previous is None:
        for table in (MATCHES, DISPOSITIONS, LOTS):
            _delete(db, table, household)
    else:
        assert previous.household == household
        lots = _changed(db, LOTS, "lot_id", household, previous.lots, state.lots)
        dispositions = _changed(db, DISPOSITIONS, "disposition_id", household, previous.dispositions,
                                state.dispositions)
        # Matches are kept by position: the common beginning stays, the rest is rewritten.
        while (kept_matches < min(len(previous.matches), len(state.matches))
               and previous.matches[kept_matches] == state.matches[kept_matches]):
            kept_matches += 1
        if kept_matches < len(previous.matches):
            db.run(f"DELETE FROM {quote(MATCHES.name)} WHERE household_id = {db.marker} "
                   f"AND position >= {db.marker}", (household, first_match + kept_matches))
    _delete(db, STATES, household)
    bulk.insert_objects(db, LOTS, lots, lot_columns(household))
    bulk.insert_objects(db, DISPOSITIONS, dispositions, disposition_columns(household))
    bulk.insert_objects(db, MATCHES, state.matches[kept_matches:],
                        match_columns(household, first_match + kept_matches, first_match + len(state.matches)))
    securities = {
        "split_factors": {symbol: str(factor) for symbol, factor in state.split_factors},
        "renamed": [list(pair) for pair in state.renamed],
        "splits_applied": list(state.splits_applied),
    }
    if policy is not None:
        securities["policy"] = {"replacement_already_sold": str(policy.replacement_already_sold),
                                "identical_match": str(policy.identical_match), "rules": RULES}
    bulk.insert(db, STATES, [{"household_id": household, "through": state.through, "next_seq": state.next_seq,
                              "securities": securities if any(securities.values()) else None}])


def _changed(db: Sql, table: sql.Table, key: str, household: str, before: Iterable[_V],
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
    bulk.delete_keys(db, table, {"household_id": household}, key, gone)
    return out


def _head(db: Sql, household: str) -> tuple[date | None, int, dict[str, Any]] | None:
    """The household's ledger_states row: (through, next_seq, securities), or None."""
    for columns in bulk.read(db, STATES, ("through", "next_seq", "securities"), {"household_id": household}):
        through, next_seq, securities = (values[0] for values in columns)
        return through, next_seq, securities or {}
    return None


def recompute_reason(session: Reader, household: str, policy: LedgerPolicy) -> str | None:
    """Why the stored ledger must be recomputed from its events rather than continued under `policy`: it was
    computed under other wash-sale policies, or under an earlier edition of the ledger's rules
    (`ledger.RULES`); None when it may be continued (or nothing, or no policies, were recorded with it)."""
    head = _head(sql.of(session), household)
    saved = head[2].get("policy") if head else None
    if not saved:
        return None
    stored = LedgerPolicy(replacement_already_sold=ReplacementAlreadySold(saved["replacement_already_sold"]),
                          identical_match=IdenticalMatch(saved["identical_match"]))
    if stored != policy:
        return "the wash-sale policies changed"
    if _edition(saved) < RULES:
        return "the ledger's rules changed"
    return None


def stale_rules(session: Reader, household: str) -> bool:
    """Whether the stored ledger was computed under an earlier edition of the ledger's rules than this code's
    (`ledger.RULES`). False when nothing is stored, or no policies were recorded with it (a ledger saved
    outside an import)."""
    head = _head(sql.of(session), household)
    saved = head[2].get("policy") if head else None
    return bool(saved) and _edition(saved) < RULES


def _edition(saved: dict[str, Any]) -> int:
    return int(saved.get("rules", 1))  # recorded with its policies since edition 2; before, the first


def load_ledger(session: Reader, household: str) -> LedgerState:
    """The inverse of `save_ledger`; an empty state when the household was never saved."""
    db = sql.of(session)
    head = _head(db, household)
    # Lots and sales sorted here, in the ledger's own order (seq, then id by code point), not by the
    # database: no index serves that order, and a database collation may differ.
    lots = read_records(db, make_lot, LOTS, LOT_READ, household)
    dispositions = read_records(db, make_disposition, DISPOSITIONS, DISPOSITION_READ, household)
    matches = read_records(db, make_match, MATCHES, MATCH_READ, household, "position")
    return _state(household, head, lots, dispositions, matches)


def _state(household: str, head: tuple[date | None, int, dict[str, Any]] | None, lots: list[Lot],
           dispositions: list[Disposition], matches: list[WashMatch], part: Part | None = None) -> LedgerState:
    """The state of `household`'s records as read, with its ledger_states row (`_head`)."""
    through, next_seq, securities = head if head else (None, 0, {})
    return LedgerState(
        household=household,
        split_factors=tuple((k, Decimal(v)) for k, v in sorted(securities.get("split_factors", {}).items())),
        renamed=tuple((old, new) for old, new in securities.get("renamed", [])),
        splits_applied=tuple(securities.get("splits_applied", [])),
        through=through,
        lots=tuple(sorted(lots, key=_LOT_ORDER)),
        dispositions=tuple(sorted(dispositions, key=_DISPOSITION_ORDER)),
        matches=tuple(matches),
        next_seq=next_seq,
        part=part,
    )


def load_part(session: Reader, household: str) -> LedgerState:
    """What a batch of events dated after the stored ledger's last day reads and changes (`Part`): the
    open lots, the sales sold or purchased inside the wash-sale window before that day, and the wash matches
    from the first of those sales' on; the ids of the other (closed) lots. The whole state (`load_ledger`)
    when the household has no ledger yet.

    For `ledger.apply` then `save_ledger(previous=` this state `)`: a day's trades on a long history read a
    few thousand rows, not every lot, sale and match of it (100,000 trades: 390,000 rows, 2.5 s). A batch
    that needs more raises `ledger.Unloaded` and is booked on `load_ledger` instead."""
    db = sql.of(session)
    head = _head(db, household)
    if head is None or head[0] is None:
        return load_ledger(session, household)
    mark = db.marker
    horizon = head[0] - wash_sales.WINDOW
    lots = _open_lots(db, household)
    # Every lot id from the primary key's index alone (no row read), less the ones loaded.
    left_out = frozenset(row[0] for row in db.rows(
        f"SELECT lot_id FROM {quote(LOTS.name)} WHERE household_id = {mark}", (household,))).difference(
        lot.lot_id for lot in lots)
    recent = (f"sold >= {mark} OR purchased >= {mark}",
              [db.param(DISPOSITIONS.c["sold"], horizon), db.param(DISPOSITIONS.c["purchased"], horizon)])
    dispositions = read_records(db, make_disposition, DISPOSITIONS, DISPOSITION_READ, household, also=recent)
    first_match = db.scalar(
        f"SELECT min(position) FROM {quote(MATCHES.name)} WHERE household_id = {mark} AND disposition_id IN "
        f"(SELECT disposition_id FROM {quote(DISPOSITIONS.name)} WHERE household_id = {mark} AND ({recent[0]}))",
        (household, household, *recent[1]))
    if first_match is None:  # none of them washed: the part's matches start after the last one
        last = db.scalar(f"SELECT max(position) FROM {quote(MATCHES.name)} WHERE household_id = {mark}",
                         (household,))
        first_match = 0 if last is None else last + 1
    matches = read_records(db, make_match, MATCHES, MATCH_READ, household, "position",
                           also=(f"position >= {mark}", [first_match]))
    return _state(household, head, lots, dispositions, matches, Part(lots_left_out=left_out, first_match=first_match))


def _open_lots(db: Sql, household: str) -> list[Lot]:
    # A scan of the table (`scan`): a long history's lots are nearly all closed, and an index walk would look
    # each one up. Every zero quantity is stored alike (canonical), so `<> 0` is "not closed".
    closed = db.param(LOTS.c["quantity"], Decimal(0))
    return read_records(db, make_lot, LOTS, LOT_READ, household, also=(f"quantity <> {db.marker}", [closed]),
                        scan=True)


def load_matches(session: Reader, household: str) -> tuple[WashMatch, ...]:
    """The household's wash matches alone, in order (`load_ledger(...).matches`)."""
    return tuple(read_records(sql.of(session), make_match, MATCHES, MATCH_READ, household, "position"))


def load_open_lots(session: Reader, household: str) -> tuple[Lot, ...]:
    """The household's lots still held (quantity not zero), in ledger order (`load_ledger(...).open_lots`,
    with the odd negative quantity too): what listings of holdings need, without the closed ones."""
    return tuple(sorted(_open_lots(sql.of(session), household), key=_LOT_ORDER))


def load_dispositions(session: Reader, household: str, sold: tuple[date, date] | None = None
                      ) -> tuple[Disposition, ...]:
    """The household's dispositions alone (those sold between `sold`'s two days, both included, when given),
    in ledger order (`load_ledger(...).dispositions`): what gains reports need, without reading every lot
    and wash match."""
    db = sql.of(session)
    also = None
    if sold is not None:
        column = DISPOSITIONS.c["sold"]
        also = (f"sold >= {db.marker} AND sold <= {db.marker}", [db.param(column, sold[0]), db.param(column, sold[1])])
    return tuple(sorted(read_records(db, make_disposition, DISPOSITIONS, DISPOSITION_READ, household, also=also),
                        key=_DISPOSITION_ORDER))


_LOT_ORDER = operator.attrgetter("seq", "lot_id")
_DISPOSITION_ORDER = operator.attrgetter("seq", "disposition_id")


SALE_COLUMNS = ("account_id", "symbol", "quantity", "acquired", "sold", "proceeds", "cost_basis", "washed_quantity",
                "adjustment", "permanent")


def taxable_sales(session: Reader, households: Sequence[str], year: int | None = None,
                  account: str | None = None) -> Iterator[tuple[Any, ...]]:
    """The taxable dispositions of `households` (of `year` and `account` when given) as tuples of
    `SALE_COLUMNS`, streamed in batches, in the order `review.gain_rows` puts them: by sale date, then the
    ledger's sequence, then household and disposition id in code-point order (the ledger's own order).
    Amounts are Decimals of the stored value, made a column at a time (not value by value: most of the time
    of `tlh gains --format json` on 100,000 sales)."""
    db = sql.of(session)
    c = DISPOSITIONS.c
    if not households:
        return
    conditions = [f"household_id IN ({db.markers(len(households))})", "taxable"]
    params: list[Any] = list(households)
    if year is not None:
        conditions.append(f"sold >= {db.marker} AND sold <= {db.marker}")
        params += [db.param(c["sold"], date(year, 1, 1)), db.param(c["sold"], date(year, 12, 31))]
    if account is not None:
        conditions.append(f"account_id = {db.marker}")
        params.append(account)
    statement = (f"SELECT {', '.join(map(quote, SALE_COLUMNS))} FROM {quote(DISPOSITIONS.name)} "
                 f"WHERE {' AND '.join(conditions)} "
                 f"ORDER BY sold, seq, {db.code_points('household_id')}, {db.code_points('disposition_id')}")
    readers = [db.reader(c[name]) for name in SALE_COLUMNS]
    for rows in db.stream(statement, params, 2_000):
        columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
        for i, convert in enumerate(readers):
            columns[i] = convert(list(columns[i]))
        yield from zip(*columns, strict=True)


# --- trades ---------------------------------------------------------------------------------------


_T = TypeVar("_T")


def _unseen(db: Sql, table: sql.Table, household: str,
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
        existing.update((source, external_id) for external_id in _known(db, table, source, ids))
    new = [(item, key) for key, item in firsts.items() if key not in existing]
    last = db.scalar(f"SELECT max(seq) FROM {quote(table.name)} WHERE household_id = {db.marker}",
                     (household,)) if new else 0
    return new, (last or 0) + 1


def _known(db: Sql, table: sql.Table, source: str, ids: list[str]) -> Iterable[str]:
    """Which of `ids` the store holds for `source`. Few rows of the source stored (a first import): all of
    their ids in one query; else the ids asked for, 500 at a time (portable: no tuple IN on SQLite)."""
    name = quote(table.name)
    stored = db.scalar(f"SELECT count(*) FROM {name} WHERE source = {db.marker}", (source,)) or 0
    if stored == 0:
        return ()
    if stored <= 4 * len(ids):
        return {row[0] for row in db.rows(f"SELECT external_id FROM {name} WHERE source = {db.marker}",
                                          (source,))} & set(ids)
    ids.sort()
    found: list[str] = []
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        found.extend(row[0] for row in db.rows(
            f"SELECT external_id FROM {name} WHERE source = {db.marker} "
            f"AND external_id IN ({db.markers(len(batch))})", (source, *batch)))
    return found


def add_trades(
    session: Reader,
    household: str,
    rows: Iterable[tuple[Trade, str, str]],
    *,
    imported_at: datetime | None = None,
) -> list[Trade]:
    """Insert the trades whose (source, external_id) the store has not seen; return those, in input order.

    A second import of the same file or broker history therefore adds nothing. Each new trade gets the
    household's next `seq`, which keeps the import order for same-day trades.
    """
    db = sql.of(session)
    new, first = _unseen(db, TRADES, household, rows)
    trades = [trade for trade, _ in new]
    if new:
        columns = {"household_id": bulk.Constant(household), **getters(TRADE_FIELDS), "side": SIDE,
                   "source": bulk.Values([source for _, (source, _) in new]),
                   "external_id": bulk.Values([external_id for _, (_, external_id) in new]),
                   "imported_at": bulk.Constant(imported_at or datetime.now(UTC)),
                   "seq": bulk.Values(range(first, first + len(new)))}
        bulk.insert_objects(db, TRADES, trades, columns)
    return trades


def load_trades(session: Reader, household: str) -> list[Trade]:
    """The household's trades by trade date, then import order."""
    return read_records(sql.of(session), Trade, TRADES, TRADE_READ, household, "date", "seq")


# --- corporate actions ----------------------------------------------------------------------------


def add_actions(session: Reader, household: str, rows: Iterable[tuple[CorporateAction, str, str]], *,
                imported_at: datetime | None = None) -> list[CorporateAction]:
    """Insert the actions whose (source, external_id) the store has not seen; return those, in input order."""
    db = sql.of(session)
    new, first = _unseen(db, ACTIONS, household, rows)
    if not new:
        return []
    stamp = imported_at or datetime.now(UTC)
    bulk.insert(db, ACTIONS, [{
        "action_id": a.action_id, "household_id": household, "account_id": a.account, "date": a.date,
        "time": a.time, "symbol": a.symbol, "kind": str(a.kind), "ratio": a.ratio, "new_symbol": a.new_symbol,
        "cash_per_share": a.cash_per_share, "basis_fraction": a.basis_fraction, "source": source,
        "external_id": external_id, "imported_at": stamp, "seq": first + i,
    } for i, (a, (source, external_id)) in enumerate(new)])
    return [a for a, _ in new]


_ACTION_FIELDS = ("action_id", "date", "symbol", "kind", "account_id", "ratio", "new_symbol", "cash_per_share",
                  "basis_fraction", "time")


def load_actions(session: Reader, household: str) -> list[CorporateAction]:
    out = []
    for columns in bulk.read(sql.of(session), ACTIONS, _ACTION_FIELDS, {"household_id": household},
                             order_by=("date", "seq")):
        for (action_id, day, symbol, kind, account, ratio, new_symbol, cash, fraction, at) in zip(*columns,
                                                                                                 strict=True):
            out.append(CorporateAction(action_id=action_id, date=day, symbol=symbol, kind=ActionKind(kind),
                                       account=account, ratio=ratio, new_symbol=new_symbol, cash_per_share=cash,
                                       basis_fraction=fraction, time=at))
    return out


def load_events(session: Reader, household: str) -> list[Trade | CorporateAction]:
    """Everything the ledger replays for a household: trades (by date, then import order) and actions."""
    db = sql.of(session)
    return [*load_trades(db, household), *load_actions(db, household)]


# --- households and accounts ----------------------------------------------------------------------

_ACCOUNT_FIELDS = ("household_id", "type", "broker", "lot_method", "broker_account", "basis_reported")


def sync_accounts(session: Reader, settings: Settings) -> None:
    """Upsert households and accounts from the configuration.

    Accounts dropped from the configuration are kept: their trades still reference them. The broker's
    reconciliation fields (`in_sync`, `sync_detail`) are left alone. Plain statements (an import never loads
    SQLAlchemy on SQLite), and only the rows that differ are written.
    """
    db = sql.of(session)
    households = sorted({account.household for account in settings.accounts})
    if not households:
        return
    known = {row[0] for row in db.rows(f"SELECT id FROM households WHERE id IN ({db.markers(len(households))})",
                                      households)}
    missing = [h for h in households if h not in known]
    if missing:  # households before the accounts that reference them
        bulk.insert(db, ledger_tables.HOUSEHOLDS, [{"id": h} for h in missing])
    ids = sorted({config.id for config in settings.accounts})
    stored: dict[str, tuple[Any, ...]] = {}
    for columns in bulk.read(db, ledger_tables.ACCOUNTS, ("id", *_ACCOUNT_FIELDS), {}):
        stored.update((row[0], tuple(row[1:])) for row in zip(*columns, strict=True) if row[0] in ids)
    assignments = ", ".join(f"{quote(f)} = {db.marker}" for f in _ACCOUNT_FIELDS)
    basis = ledger_tables.ACCOUNTS.c["basis_reported"]
    for config in settings.accounts:
        values = (config.household, str(config.type), config.broker, str(config.lot_method), config.broker_account,
                  config.basis_reported is True)  # "none" (no 1099-B) reports no basis either
        if config.id not in stored:
            row = {"id": config.id, **dict(zip(_ACCOUNT_FIELDS, values, strict=True)), "in_sync": True}
            bulk.insert(db, ledger_tables.ACCOUNTS, [row])
        elif stored[config.id] != values:
            db.run(f"UPDATE accounts SET {assignments} WHERE id = {db.marker}",
                   (*values[:-1], db.param(basis, values[-1]), config.id))
        stored[config.id] = values  # an id configured twice: the last one wins, as before


def load_accounts(session: Reader, household: str | None = None) -> list[Account]:
    """The ledger's view of the stored accounts (all households when `household` is None), by id."""
    where = {} if household is None else {"household_id": household}
    out = []
    for columns in bulk.read(sql.of(session), ledger_tables.ACCOUNTS,
                             ("id", "household_id", "type", "lot_method", "basis_reported"), where, order_by=("id",)):
        out.extend(Account(id=ident, household=owner, type=AccountType(kind), lot_method=LotMethod(method),
                           basis_reported=basis)
                   for ident, owner, kind, method, basis in zip(*columns, strict=True))
    return out
