"""The ledger's records as table rows and back: which column holds which field of a Lot, Disposition,
WashMatch and Trade, how a value is stored (enums as text, washed purchase ids as one string, a sale's split
factor and replacement adjustment NULL when 1 and 0), and the bulk read that makes the records again.

Split from `daemon.store.ledger_repo`, which decides what is written and read when (saving and loading a
household's ledger, importing trades): this module is only the mapping, shared by both, and holds no state
and runs no query but `read_records`'s. Both directions live together so that a field added to a record
is added here once, and `_read_fields` fails at import time when a record has a field no column holds.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from daemon.ledger.types import ZERO, Disposition, Lot, Origin, Side, Trade, WashMatch, publish
from daemon.store import bulk
from daemon.store.sql import Sql, Table, shared


def read_records(db: Sql, make: Any, table: Table, fields: Mapping[str, tuple[str, Any]], household: str,
                 *order_by: str, also: tuple[str, Sequence[Any]] | None = None, scan: bool = False) -> list[Any]:
    """The household's rows of `table` (those that meet `also`, when given; `scan`: bulk.read) as ledger records:
    `fields` maps each of the record's fields, in order, to its column and a conversion of the value read
    (or None); `make` is the record's positional constructor. Read and converted a column at a time
    (bulk.read), ordered by the columns `order_by`."""
    out: list[Any] = []
    names = [column for column, _ in fields.values()]
    fixes = [fix for _, fix in fields.values()]
    for columns in bulk.read(db, table, names, {"household_id": household}, order_by=order_by, also=also,
                              scan=scan):
        out.extend(map(make, *(values if fix is None else shared(values, fix, nulls=False)
                               for values, fix in zip(columns, fixes, strict=True))))
    publish(out)  # the ledger's constructors make its working records: the frozen public classes, in place
    return out


def lot_columns(household: str) -> dict[str, Any]:
    """Column -> getter from a Lot, for bulk.insert_objects (LOT_READ reads it back)."""
    return {"household_id": bulk.Constant(household), **getters(LOT_FIELDS), "origin": _ORIGIN,
            "washed_from": _WASHED_FROM}


# Column name -> the ledger type's field of the same value.
LOT_FIELDS = {"lot_id": "lot_id", "purchase_id": "purchase_id", "parent_id": "parent_id", "account_id": "account",
              "symbol": "symbol", "quantity": "quantity", "cost": "cost", "adjustment": "adjustment",
              "purchased": "purchased", "acquired": "acquired", "absorbed": "absorbed", "seq": "seq",
              "trade_id": "trade_id", "reinvested": "reinvested", "loss_basis": "loss_basis"}
DISPOSITION_FIELDS = {
    "disposition_id": "disposition_id", "trade_id": "trade_id", "account_id": "account", "symbol": "symbol",
    "lot_id": "lot_id", "purchase_id": "purchase_id", "quantity": "quantity", "proceeds": "proceeds",
    "cost_basis": "cost_basis", "acquired": "acquired", "purchased": "purchased", "sold": "sold",
    "taxable": "taxable", "seq": "seq", "washed_quantity": "washed_quantity", "adjustment": "adjustment",
    "permanent": "permanent", "kind": "kind", "lot_seq": "lot_seq", "absorbed": "absorbed",
    "split_factor": "split_factor", "replacement_adjustment": "replacement_adjustment", "time": "time",
    "order_id": "order_id"}
MATCH_FIELDS = {"disposition_id": "disposition_id", "lot_id": "lot_id", "account_id": "account", "symbol": "symbol",
                "quantity": "quantity", "disallowed": "disallowed", "permanent": "permanent",
                "replacement_date": "replacement_date", "replacement_disposition": "replacement_disposition"}


def getters(fields: dict[str, str]) -> dict[str, Any]:
    return {column: operator.attrgetter(name) for column, name in fields.items()}


def _texts(values: list[Any]) -> list[str]:
    return list(map(str, values))


def _id_texts(values: list[frozenset[str]]) -> list[str | None]:
    return [_ids(ids) if ids else None for ids in values]


def _unless_one(values: list[Decimal]) -> list[Decimal | None]:
    return [None if value == 1 else value for value in values]


def _unless_zero(values: list[Decimal]) -> list[Decimal | None]:
    return [value if value else None for value in values]


# The enums' text and the washed purchase ids' one string, a column at a time.
_ORIGIN = bulk.Mapped(operator.attrgetter("origin"), _texts)
_WASHED_FROM = bulk.Mapped(operator.attrgetter("washed_from"), _id_texts)
SIDE = bulk.Mapped(operator.attrgetter("side"), _texts)
# A sale's split factor and replacement adjustment are NULL when 1 and 0, what nearly all are: the reads map
# NULL back (DISPOSITION_READ, as for the rows from before migration 0005), and a column of NULLs costs the
# bulk insert nothing.
_SPLIT_FACTOR = bulk.Mapped(operator.attrgetter("split_factor"), _unless_one)
_REPLACEMENT_ADJUSTMENT = bulk.Mapped(operator.attrgetter("replacement_adjustment"), _unless_zero)


def disposition_columns(household: str) -> dict[str, Any]:
    """Column -> getter from a Disposition, for bulk.insert_objects (DISPOSITION_READ reads it back)."""
    return {"household_id": bulk.Constant(household), **getters(DISPOSITION_FIELDS), "origin": _ORIGIN,
            "washed_from": _WASHED_FROM, "split_factor": _SPLIT_FACTOR,
            "replacement_adjustment": _REPLACEMENT_ADJUSTMENT}


def match_columns(household: str, first: int, end: int) -> dict[str, Any]:
    """Column -> getter from a WashMatch (the position: its index in the state, first to end), for
    bulk.insert_objects."""
    return {"household_id": bulk.Constant(household), "position": bulk.Values(range(first, end)),
            **getters(MATCH_FIELDS)}


def _ids(ids: frozenset[str]) -> str | None:
    # Purchase ids never contain a newline: it separates them.
    return "\n".join(sorted(ids)) if ids else None


_NO_IDS: frozenset[str] = frozenset()  # one for every lot and sale never washed (most of them)
_ONE = Decimal(1)


def _id_set(text: str | None) -> frozenset[str]:
    return frozenset(text.split("\n")) if text else _NO_IDS


def _or_one(value: Decimal | None) -> Decimal:
    return _ONE if value is None else value


def _or_zero(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


def _read_fields(cls: type, written: Mapping[str, str], fixes: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The record's fields in order -> (column, conversion): the inverse of what `ledger_repo.save_ledger` and
    `ledger_repo.add_trades` write. A field the store does not hold is an error here, at import time, not a
    silently wrong record."""
    column_of = {field: column for column, field in written.items()}
    column_of.update({"origin": "origin", "washed_from": "washed_from"})
    return {f.name: (column_of[f.name], fixes.get(f.name)) for f in dataclasses.fields(cls)}


LOT_READ = _read_fields(Lot, LOT_FIELDS, {"origin": Origin, "washed_from": _id_set})
DISPOSITION_READ = _read_fields(Disposition, DISPOSITION_FIELDS, {
    "origin": Origin, "washed_from": _id_set, "split_factor": _or_one, "replacement_adjustment": _or_zero})
MATCH_READ = _read_fields(WashMatch, MATCH_FIELDS, {})


TRADE_FIELDS = {"trade_id": "trade_id", "account_id": "account", "date": "date", "symbol": "symbol",
                "quantity": "quantity", "price": "price", "fees": "fees", "lot_id": "lot_id", "time": "time",
                "acquired": "acquired", "basis": "basis", "order_id": "order_id"}


TRADE_READ = _read_fields(Trade, {**TRADE_FIELDS, "side": "side"}, {"side": Side})
