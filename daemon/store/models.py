"""The database schema, as SQLAlchemy 2 declarative models. Migrations are generated from `Base.metadata`.

Ledger tables (`lots`, `dispositions`, `wash_matches`, `ledger_states`) mirror `daemon.ledger.types`
field for field (`account` is spelled `account_id` here); they are a cache of the pure ledger's output
and are rewritten whole per household by `daemon.store.ledger_repo`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daemon.store.types import DecimalType, UTCDateTime

# Explicit constraint names: SQLite batch migrations and PostgreSQL both need to address constraints by
# a name that is the same on every database and every run.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQL NULL (not the JSON literal null) when the Python value is None.
JSONColumn = sa.JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        Decimal: DecimalType(),
        datetime: UTCDateTime(),
        str: sa.String(),
        dict[str, Any]: JSONColumn,
        list[Any]: JSONColumn,
    }


# --- households and accounts (synced from the TOML configuration) ---------------------------------


class Household(Base):
    __tablename__ = "households"

    id: Mapped[str] = mapped_column(primary_key=True)


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(primary_key=True)
    household_id: Mapped[str] = mapped_column(sa.ForeignKey("households.id"), index=True)
    type: Mapped[str]
    broker: Mapped[str]
    lot_method: Mapped[str]
    broker_account: Mapped[str | None]
    # Form 8949 box A/D vs B/E: the ledger's Account carries it, so the store keeps it too.
    basis_reported: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # False when the last broker reconciliation disagreed with the ledger: harvesting stops for it.
    in_sync: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    sync_detail: Mapped[str | None] = mapped_column(sa.Text)
    # Where the last fill sync stopped, in the broker's own terms (activity id, execution time, fill seq).
    sync_cursor: Mapped[str | None]
    synced_at: Mapped[datetime | None]


class Security(Base):
    __tablename__ = "securities"

    symbol: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str | None]
    name: Mapped[str | None]


# --- imported trades ------------------------------------------------------------------------------


class TradeRow(Base):
    __tablename__ = "trades"
    __table_args__ = (
        # Re-importing a file or re-polling a broker must not duplicate trades.
        sa.UniqueConstraint("source", "external_id"),
        sa.Index(None, "household_id", "date"),
    )

    trade_id: Mapped[str] = mapped_column(primary_key=True)
    household_id: Mapped[str]
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"))
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
    time: Mapped[time | None] = mapped_column(sa.Time())
    # Transfers in: the original acquisition date and the total basis the shares arrive with.
    acquired: Mapped[date | None]
    basis: Mapped[Decimal | None]
    order_id: Mapped[str | None]  # the broker order of a fill: one sell order's fills are one sale


class CorporateActionRow(Base):
    """A corporate action: an event of the ledger, replayed in time order with the trades."""

    __tablename__ = "corporate_actions"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index(None, "household_id", "date"),
    )

    action_id: Mapped[str] = mapped_column(primary_key=True)
    household_id: Mapped[str]
    account_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))  # None: every account
    date: Mapped[date]
    time: Mapped[time | None] = mapped_column(sa.Time())
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

    __tablename__ = "quarantine"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    household_id: Mapped[str]
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    source: Mapped[str]
    external_id: Mapped[str]
    kind: Mapped[str]  # fill | activity
    activity_type: Mapped[str | None]
    payload: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.Text)


# --- the ledger's output --------------------------------------------------------------------------


class LotRow(Base):
    __tablename__ = "lots"
    __table_args__ = (sa.Index(None, "household_id", "account_id", "symbol"),)

    household_id: Mapped[str] = mapped_column(primary_key=True)
    lot_id: Mapped[str] = mapped_column(primary_key=True)
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
    origin: Mapped[str] = mapped_column(default="purchase", server_default="purchase")
    washed_from: Mapped[str | None] = mapped_column(sa.Text)  # purchase ids, comma-separated
    loss_basis: Mapped[Decimal | None]


class DispositionRow(Base):
    __tablename__ = "dispositions"
    __table_args__ = (sa.Index(None, "household_id", "sold"),)

    household_id: Mapped[str] = mapped_column(primary_key=True)
    disposition_id: Mapped[str] = mapped_column(primary_key=True)
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
    kind: Mapped[str] = mapped_column(default="sale", server_default="sale")
    lot_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    origin: Mapped[str] = mapped_column(default="purchase", server_default="purchase")
    washed_from: Mapped[str | None] = mapped_column(sa.Text)
    absorbed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    split_factor: Mapped[Decimal | None]
    replacement_adjustment: Mapped[Decimal | None]
    time: Mapped[time | None] = mapped_column(sa.Time())
    order_id: Mapped[str | None]


class WashMatchRow(Base):
    __tablename__ = "wash_matches"
    __table_args__ = (sa.Index(None, "household_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
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
    __tablename__ = "ledger_states"

    household_id: Mapped[str] = mapped_column(primary_key=True)
    through: Mapped[date | None]
    next_seq: Mapped[int]
    # Corporate actions' lasting effects (split factors, symbol changes, splits applied).
    securities: Mapped[dict[str, Any] | None]


# --- harvest runs and orders ----------------------------------------------------------------------


class HarvestRun(Base):
    __tablename__ = "harvest_runs"

    id: Mapped[str] = mapped_column(primary_key=True)
    household_id: Mapped[str | None]  # None: a run over every household
    as_of: Mapped[date]
    mode: Mapped[str]  # dry-run | paper | live
    status: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    plan: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)


class OrderIntent(Base):
    """One leg of a harvest pair, recorded before submission (`client_order_id` makes resubmission safe)."""

    __tablename__ = "order_intents"

    client_order_id: Mapped[str] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("harvest_runs.id"), index=True)
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
    filled_quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    filled_avg_price: Mapped[Decimal | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Order(Base):
    """What the broker says about a submitted intent (one row per broker order)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(sa.ForeignKey("order_intents.client_order_id"), index=True)
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
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    run_id: Mapped[str | None]
    kind: Mapped[str]
    severity: Mapped[str]  # info | warning | error
    household_id: Mapped[str | None]
    account_id: Mapped[str | None]
    message: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any] | None]
    delivered: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)


class Restriction(Base):
    """A symbol the household must not buy until `until`: the wash-sale window of a harvested loss."""

    __tablename__ = "restrictions"
    __table_args__ = (
        # NULL account_id rows are distinct from each other on both databases (no NULLS NOT DISTINCT
        # on SQLite): writers of household-wide restrictions must check before inserting.
        sa.UniqueConstraint("household_id", "symbol", "sale_date", "account_id"),
        sa.Index(None, "household_id", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    household_id: Mapped[str]
    symbol: Mapped[str]
    until: Mapped[date]
    sale: Mapped[str] = mapped_column(sa.Text)  # e.g. "VTI sold 2026-11-20 in joint-taxable"
    sale_date: Mapped[date]
    account_id: Mapped[str | None]
    run_id: Mapped[str | None]
    created_at: Mapped[datetime]


class Lease(Base):
    """Leader lease: one daemon instance trades at a time; others wait for `expires_at` to pass."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(primary_key=True)
    holder: Mapped[str]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# --- the built-in paper broker's own book (brokers.paper) -------------------------------------------


class PaperOrder(Base):
    """An order the built-in paper broker accepted: the venue's record, apart from our order intents."""

    __tablename__ = "paper_orders"

    client_order_id: Mapped[str] = mapped_column(primary_key=True)
    broker_order_id: Mapped[str] = mapped_column(unique=True)
    account_id: Mapped[str] = mapped_column(index=True)
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]
    time_in_force: Mapped[str]
    lot_ids: Mapped[list[Any] | None]
    status: Mapped[str]
    filled_quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    filled_avg_price: Mapped[Decimal | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    trade_date: Mapped[date]
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaperFill(Base):
    """One execution of a paper order; a specific-lot sell fills once per lot it names."""

    __tablename__ = "paper_fills"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)  # the fills cursor
    fill_id: Mapped[str] = mapped_column(unique=True)
    client_order_id: Mapped[str] = mapped_column(sa.ForeignKey("paper_orders.client_order_id"), index=True)
    account_id: Mapped[str] = mapped_column(index=True)
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

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str | None]
    kind: Mapped[str]  # manual | fill_deviation
    reason: Mapped[str] = mapped_column(sa.Text)
    until: Mapped[date | None]
    run_id: Mapped[str | None]  # the run that caused it (fill_deviation)
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    resolved_by: Mapped[str | None]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)


class HarvestClaim(Base):
    """One harvest per account per trading day: the first run to insert the row trades the account that day,
    whatever started it (`tlh harvest`, `tlh run`, two at once); the primary key decides races."""

    __tablename__ = "harvest_claims"

    account_id: Mapped[str] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    run_id: Mapped[str]
    mode: Mapped[str]
    claimed_at: Mapped[datetime]
