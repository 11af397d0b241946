"""The ORM classes of the schema, each mapped onto its Core table in `daemon.store.tables` (where the columns,
keys and indexes are defined, and migrations are generated from). The annotations only type the attributes:
tests/store/test_tables.py checks that each class names exactly its table's columns.

Read-only paths use the tables directly (no ORM to import or configure); writers and the daemon use these.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped

from daemon.store import tables


class Base(DeclarativeBase):
    metadata = tables.metadata


# --- households and accounts (synced from the TOML configuration) ---------------------------------


class Household(Base):
    __table__ = tables.HOUSEHOLDS

    id: Mapped[str]


class AccountRow(Base):
    __table__ = tables.ACCOUNTS

    id: Mapped[str]
    household_id: Mapped[str]
    type: Mapped[str]
    broker: Mapped[str]
    lot_method: Mapped[str]
    broker_account: Mapped[str | None]
    # Form 8949 box A/D vs B/E: the ledger's Account carries it, so the store keeps it too.
    basis_reported: Mapped[bool]
    # False when the last broker reconciliation disagreed with the ledger: harvesting stops for it.
    in_sync: Mapped[bool]
    sync_detail: Mapped[str | None]
    # Where the last fill sync stopped, in the broker's own terms (activity id, execution time, fill seq).
    sync_cursor: Mapped[str | None]
    synced_at: Mapped[datetime | None]


class Security(Base):
    __table__ = tables.SECURITIES

    symbol: Mapped[str]
    kind: Mapped[str | None]
    name: Mapped[str | None]


# --- imported trades ------------------------------------------------------------------------------


class TradeRow(Base):
    __table__ = tables.TRADES

    trade_id: Mapped[str]
    household_id: Mapped[str]
    account_id: Mapped[str]
    date: Mapped[date]
    symbol: Mapped[str]
    side: Mapped[str]  # buy | sell | reinvest
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    fees: Mapped[Decimal]
    lot_id: Mapped[str | None]
    source: Mapped[str]  # csv | alpaca | ibkr-flex | paper ...
    external_id: Mapped[str]
    imported_at: Mapped[datetime]
    # Insertion order within the household: the tie-break among same-day trades when replaying.
    seq: Mapped[int]
    # Execution time in the exchange's time zone, when the source gave one (broker fills, the CSV's `time`).
    time: Mapped[time | None]
    # Transfers in: the original acquisition date and the total basis the shares arrive with.
    acquired: Mapped[date | None]
    basis: Mapped[Decimal | None]
    order_id: Mapped[str | None]  # the broker order of a fill: one sell order's fills are one sale


class CorporateActionRow(Base):
    """A corporate action: an event of the ledger, replayed in time order with the trades."""

    __table__ = tables.CORPORATE_ACTIONS

    action_id: Mapped[str]
    household_id: Mapped[str]
    account_id: Mapped[str | None]  # None: every account
    date: Mapped[date]
    time: Mapped[time | None]
    symbol: Mapped[str]
    kind: Mapped[str]  # daemon.ledger.actions.ActionKind
    ratio: Mapped[Decimal | None]
    new_symbol: Mapped[str | None]
    cash_per_share: Mapped[Decimal | None]
    basis_fraction: Mapped[Decimal | None]
    source: Mapped[str]
    external_id: Mapped[str]
    imported_at: Mapped[datetime]
    seq: Mapped[int]


class QuarantineRow(Base):
    """A fill or activity the ledger could not apply: kept (never dropped) until it is resolved, and the
    account stays out of sync until then."""

    __table__ = tables.QUARANTINE

    id: Mapped[int]
    household_id: Mapped[str]
    account_id: Mapped[str]
    source: Mapped[str]
    external_id: Mapped[str]
    kind: Mapped[str]  # fill | activity
    activity_type: Mapped[str | None]
    payload: Mapped[dict[str, Any]]
    reason: Mapped[str]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None]


# --- the ledger's output --------------------------------------------------------------------------


class LotRow(Base):
    __table__ = tables.LOTS

    household_id: Mapped[str]
    lot_id: Mapped[str]
    purchase_id: Mapped[str]
    parent_id: Mapped[str | None]
    account_id: Mapped[str]
    symbol: Mapped[str]
    quantity: Mapped[Decimal]  # open shares
    cost: Mapped[Decimal]
    adjustment: Mapped[Decimal]
    purchased: Mapped[date]
    acquired: Mapped[date]
    absorbed: Mapped[bool]
    seq: Mapped[int]
    trade_id: Mapped[str]
    reinvested: Mapped[bool]
    origin: Mapped[str]
    washed_from: Mapped[str | None]  # purchase ids, comma-separated
    loss_basis: Mapped[Decimal | None]


class DispositionRow(Base):
    __table__ = tables.DISPOSITIONS

    household_id: Mapped[str]
    disposition_id: Mapped[str]
    trade_id: Mapped[str]
    account_id: Mapped[str]
    symbol: Mapped[str]
    lot_id: Mapped[str]
    purchase_id: Mapped[str]
    quantity: Mapped[Decimal]
    proceeds: Mapped[Decimal]
    cost_basis: Mapped[Decimal]
    acquired: Mapped[date]
    purchased: Mapped[date]
    sold: Mapped[date]
    taxable: Mapped[bool]
    seq: Mapped[int]
    washed_quantity: Mapped[Decimal]
    adjustment: Mapped[Decimal]
    permanent: Mapped[Decimal]
    kind: Mapped[str]
    lot_seq: Mapped[int]
    origin: Mapped[str]
    washed_from: Mapped[str | None]
    absorbed: Mapped[bool]
    split_factor: Mapped[Decimal | None]
    replacement_adjustment: Mapped[Decimal | None]
    time: Mapped[time | None]
    order_id: Mapped[str | None]


class WashMatchRow(Base):
    __table__ = tables.WASH_MATCHES

    id: Mapped[int]
    household_id: Mapped[str]
    position: Mapped[int]  # order within the household's LedgerState.matches
    disposition_id: Mapped[str]
    lot_id: Mapped[str]
    account_id: Mapped[str]
    symbol: Mapped[str]
    quantity: Mapped[Decimal]
    disallowed: Mapped[Decimal]
    permanent: Mapped[bool]
    replacement_date: Mapped[date]
    replacement_disposition: Mapped[str | None]


class LedgerStateRow(Base):
    __table__ = tables.LEDGER_STATES

    household_id: Mapped[str]
    through: Mapped[date | None]
    next_seq: Mapped[int]
    # Corporate actions' lasting effects (split factors, symbol changes, splits applied).
    securities: Mapped[dict[str, Any] | None]


# --- harvest runs and orders ----------------------------------------------------------------------


class HarvestRun(Base):
    __table__ = tables.HARVEST_RUNS

    id: Mapped[str]
    household_id: Mapped[str | None]  # None: a run over every household
    as_of: Mapped[date]
    mode: Mapped[str]  # dry-run | paper | live
    status: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    plan: Mapped[dict[str, Any] | None]
    error: Mapped[str | None]


class OrderIntent(Base):
    """One leg of a harvest pair, recorded before submission (`client_order_id` makes resubmission safe)."""

    __table__ = tables.ORDER_INTENTS

    client_order_id: Mapped[str]
    run_id: Mapped[str]
    pair_id: Mapped[str]
    leg: Mapped[str]  # sell | buy
    account_id: Mapped[str]
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]
    lots: Mapped[list[Any] | None]
    status: Mapped[str]
    broker_order_id: Mapped[str | None]
    filled_quantity: Mapped[Decimal]
    filled_avg_price: Mapped[Decimal | None]
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Order(Base):
    """What the broker says about a submitted intent (one row per broker order)."""

    __table__ = tables.ORDERS

    id: Mapped[int]
    client_order_id: Mapped[str]
    broker_order_id: Mapped[str]
    status: Mapped[str]
    quantity: Mapped[Decimal]
    filled_quantity: Mapped[Decimal]
    filled_avg_price: Mapped[Decimal | None]
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    raw: Mapped[dict[str, Any] | None]


# --- operations -----------------------------------------------------------------------------------


class Alert(Base):
    __table__ = tables.ALERTS

    id: Mapped[int]
    created_at: Mapped[datetime]
    run_id: Mapped[str | None]
    kind: Mapped[str]
    severity: Mapped[str]  # info | warning | error
    household_id: Mapped[str | None]
    account_id: Mapped[str | None]
    message: Mapped[str]
    data: Mapped[dict[str, Any] | None]
    delivered: Mapped[bool]


class Restriction(Base):
    """A symbol the household must not buy until `until`: the wash-sale window of a harvested loss."""

    __table__ = tables.RESTRICTIONS

    id: Mapped[int]
    household_id: Mapped[str]
    symbol: Mapped[str]
    until: Mapped[date]
    sale: Mapped[str]  # e.g. "VTI sold 2026-11-20 in joint-taxable"
    sale_date: Mapped[date]
    account_id: Mapped[str | None]
    run_id: Mapped[str | None]
    created_at: Mapped[datetime]


class Lease(Base):
    """Leader lease: one daemon instance trades at a time; others wait for `expires_at` to pass."""

    __table__ = tables.LEASES

    name: Mapped[str]
    holder: Mapped[str]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# --- the built-in paper broker's own book (brokers.paper) -------------------------------------------


class PaperOrder(Base):
    """An order the built-in paper broker accepted: the venue's record, apart from our order intents."""

    __table__ = tables.PAPER_ORDERS

    client_order_id: Mapped[str]
    broker_order_id: Mapped[str]
    account_id: Mapped[str]
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]
    time_in_force: Mapped[str]
    lot_ids: Mapped[list[Any] | None]
    status: Mapped[str]
    filled_quantity: Mapped[Decimal]
    filled_avg_price: Mapped[Decimal | None]
    reason: Mapped[str | None]
    trade_date: Mapped[date]
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaperFill(Base):
    """One execution of a paper order; a specific-lot sell fills once per lot it names."""

    __table__ = tables.PAPER_FILLS

    seq: Mapped[int]  # the fills cursor
    fill_id: Mapped[str]
    client_order_id: Mapped[str]
    account_id: Mapped[str]
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    lot_id: Mapped[str | None]
    time: Mapped[datetime]


# --- pauses and once-a-day claims ---------------------------------------------------------------------


class Pause(Base):
    """Harvesting stopped for one account (`account_id`) or the whole daemon (NULL) until resolved
    (`tlh resume`) or, when `until` is set, until that day (harvesting resumes on `until`)."""

    __table__ = tables.PAUSES

    id: Mapped[int]
    account_id: Mapped[str | None]
    kind: Mapped[str]  # manual | fill_deviation
    reason: Mapped[str]
    until: Mapped[date | None]
    run_id: Mapped[str | None]  # the run that caused it (fill_deviation)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    resolved_by: Mapped[str | None]
    resolved_at: Mapped[datetime | None]


class HarvestClaim(Base):
    """One harvest per account per trading day: the first run to insert the row trades the account that day,
    whatever started it (`tlh harvest`, `tlh run`, two at once); the primary key decides races."""

    __table__ = tables.HARVEST_CLAIMS

    account_id: Mapped[str]
    as_of: Mapped[date]
    run_id: Mapped[str]
    mode: Mapped[str]
    claimed_at: Mapped[datetime]
