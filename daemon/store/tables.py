"""The database schema as SQLAlchemy Core tables: the one definition of every table, column, key and index.

Migrations are generated from `metadata`; `daemon.store.models` maps its ORM classes onto these tables (the
write paths and the daemon use them). Read-only commands (`tlh lots`, `gains`, `orders`, `runs`, `alerts`,
`status`, ...) select from the tables directly: importing this module costs a few milliseconds, the ORM and
its mapped classes about a sixth of a second, which is most of what such a command is allowed.

Ledger tables (`lots`, `dispositions`, `wash_matches`, `ledger_states`) mirror `daemon.ledger.types`
field for field (`account` is spelled `account_id` here); they are a cache of the pure ledger's output
and are rewritten whole per household by `daemon.store.ledger_repo`.

A new column goes here (and into its migration); the class in `daemon.store.models` gets its annotation
(tests/store/test_tables.py checks the two agree).
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from daemon.store import sql
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

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# SQL NULL (not the JSON literal null) when the Python value is None.
JSON = sa.JSON(none_as_null=True)

HOUSEHOLDS = sa.Table(
    "households",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
)

ACCOUNTS = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("household_id", sa.String(), sa.ForeignKey("households.id"), nullable=False, index=True),
    sa.Column("type", sa.String(), nullable=False),
    sa.Column("broker", sa.String(), nullable=False),
    sa.Column("lot_method", sa.String(), nullable=False),
    sa.Column("broker_account", sa.String(), nullable=True),
    sa.Column("basis_reported", sa.Boolean(), nullable=False, default=True, server_default=sa.true()),
    sa.Column("in_sync", sa.Boolean(), nullable=False, default=True, server_default=sa.true()),
    sa.Column("sync_detail", sa.Text(), nullable=True),
    sa.Column("sync_cursor", sa.String(), nullable=True),
    sa.Column("synced_at", UTCDateTime(), nullable=True),
)

SECURITIES = sa.Table(
    "securities",
    metadata,
    sa.Column("symbol", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), nullable=True),
    sa.Column("name", sa.String(), nullable=True),
)

TRADES = sa.Table(
    "trades",
    metadata,
    sa.Column("trade_id", sa.String(), primary_key=True),
    sa.Column("household_id", sa.String(), nullable=False),
    sa.Column("account_id", sa.String(), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("side", sa.String(), nullable=False),  # buy | sell | reinvest
    sa.Column("quantity", DecimalType(), nullable=False),
    sa.Column("price", DecimalType(), nullable=False),
    sa.Column("fees", DecimalType(), nullable=False),
    sa.Column("lot_id", sa.String(), nullable=True),
    sa.Column("source", sa.String(), nullable=False),  # csv | alpaca | ibkr-flex | paper ...
    sa.Column("external_id", sa.String(), nullable=False),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("time", sa.Time(), nullable=True),
    sa.Column("acquired", sa.Date(), nullable=True),
    sa.Column("basis", DecimalType(), nullable=True),
    # The broker order of a fill: one sell order's fills are one sale.
    sa.Column("order_id", sa.String(), nullable=True),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index(None, "household_id", "date"),
)

CORPORATE_ACTIONS = sa.Table(
    "corporate_actions",
    metadata,
    sa.Column("action_id", sa.String(), primary_key=True),
    sa.Column("household_id", sa.String(), nullable=False),
    sa.Column("account_id", sa.String(), sa.ForeignKey("accounts.id"), nullable=True),  # None: every account
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("time", sa.Time(), nullable=True),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),  # daemon.ledger.actions.ActionKind
    sa.Column("ratio", DecimalType(), nullable=True),
    sa.Column("new_symbol", sa.String(), nullable=True),
    sa.Column("cash_per_share", DecimalType(), nullable=True),
    sa.Column("basis_fraction", DecimalType(), nullable=True),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("external_id", sa.String(), nullable=False),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.UniqueConstraint("source", "external_id"),
    sa.Index(None, "household_id", "date"),
)

QUARANTINE = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(), nullable=False),
    sa.Column("account_id", sa.String(), sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("external_id", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),  # fill | activity
    sa.Column("activity_type", sa.String(), nullable=True),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("resolution", sa.Text(), nullable=True),
    sa.UniqueConstraint("source", "external_id"),
)

LOTS = sa.Table(
    "lots",
    metadata,
    sa.Column("household_id", sa.String(), primary_key=True),
    sa.Column("lot_id", sa.String(), primary_key=True),
    sa.Column("purchase_id", sa.String(), nullable=False),
    sa.Column("parent_id", sa.String(), nullable=True),
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=False),  # open shares
    sa.Column("cost", DecimalType(), nullable=False),
    sa.Column("adjustment", DecimalType(), nullable=False),
    sa.Column("purchased", sa.Date(), nullable=False),
    sa.Column("acquired", sa.Date(), nullable=False),
    sa.Column("absorbed", sa.Boolean(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("trade_id", sa.String(), nullable=False),
    sa.Column("reinvested", sa.Boolean(), nullable=False),
    sa.Column("origin", sa.String(), nullable=False, default="purchase", server_default="purchase"),
    sa.Column("washed_from", sa.Text(), nullable=True),  # purchase ids, comma-separated
    sa.Column("loss_basis", DecimalType(), nullable=True),
    sa.Index(None, "household_id", "account_id", "symbol"),
)

DISPOSITIONS = sa.Table(
    "dispositions",
    metadata,
    sa.Column("household_id", sa.String(), primary_key=True),
    sa.Column("disposition_id", sa.String(), primary_key=True),
    sa.Column("trade_id", sa.String(), nullable=False),
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("lot_id", sa.String(), nullable=False),
    sa.Column("purchase_id", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=False),
    sa.Column("proceeds", DecimalType(), nullable=False),
    sa.Column("cost_basis", DecimalType(), nullable=False),
    sa.Column("acquired", sa.Date(), nullable=False),
    sa.Column("purchased", sa.Date(), nullable=False),
    sa.Column("sold", sa.Date(), nullable=False),
    sa.Column("taxable", sa.Boolean(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("washed_quantity", DecimalType(), nullable=False),
    sa.Column("adjustment", DecimalType(), nullable=False),
    sa.Column("permanent", DecimalType(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False, default="sale", server_default="sale"),
    sa.Column("lot_seq", sa.Integer(), nullable=False, default=0, server_default="0"),
    sa.Column("origin", sa.String(), nullable=False, default="purchase", server_default="purchase"),
    sa.Column("washed_from", sa.Text(), nullable=True),
    sa.Column("absorbed", sa.Boolean(), nullable=False, default=False, server_default=sa.false()),
    sa.Column("split_factor", DecimalType(), nullable=True),
    sa.Column("replacement_adjustment", DecimalType(), nullable=True),
    sa.Column("time", sa.Time(), nullable=True),
    sa.Column("order_id", sa.String(), nullable=True),
    sa.Index(None, "household_id", "sold"),
)

WASH_MATCHES = sa.Table(
    "wash_matches",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),  # order within the household's LedgerState.matches
    sa.Column("disposition_id", sa.String(), nullable=False),
    sa.Column("lot_id", sa.String(), nullable=False),
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=False),
    sa.Column("disallowed", DecimalType(), nullable=False),
    sa.Column("permanent", sa.Boolean(), nullable=False),
    sa.Column("replacement_date", sa.Date(), nullable=False),
    sa.Column("replacement_disposition", sa.String(), nullable=True),
    sa.Index(None, "household_id", "position"),
)

LEDGER_STATES = sa.Table(
    "ledger_states",
    metadata,
    sa.Column("household_id", sa.String(), primary_key=True),
    sa.Column("through", sa.Date(), nullable=True),
    sa.Column("next_seq", sa.Integer(), nullable=False),
    sa.Column("securities", JSON, nullable=True),
)

HARVEST_RUNS = sa.Table(
    "harvest_runs",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("household_id", sa.String(), nullable=True),  # None: a run over every household
    sa.Column("as_of", sa.Date(), nullable=False),
    sa.Column("mode", sa.String(), nullable=False),  # dry-run | paper | live
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("plan", JSON, nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
)

ORDER_INTENTS = sa.Table(
    "order_intents",
    metadata,
    sa.Column("client_order_id", sa.String(), primary_key=True),
    sa.Column("run_id", sa.String(), sa.ForeignKey("harvest_runs.id"), nullable=False, index=True),
    sa.Column("pair_id", sa.String(), nullable=False),
    sa.Column("leg", sa.String(), nullable=False),  # sell | buy
    sa.Column("account_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("side", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=True),
    sa.Column("notional", DecimalType(), nullable=True),
    sa.Column("lots", JSON, nullable=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("broker_order_id", sa.String(), nullable=True),
    sa.Column("filled_quantity", DecimalType(), nullable=False, default=Decimal(0)),
    sa.Column("filled_avg_price", DecimalType(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

ORDERS = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String(), sa.ForeignKey("order_intents.client_order_id"), nullable=False,
              index=True),
    sa.Column("broker_order_id", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=False),
    sa.Column("filled_quantity", DecimalType(), nullable=False),
    sa.Column("filled_avg_price", DecimalType(), nullable=True),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("raw", JSON, nullable=True),
)

ALERTS = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("run_id", sa.String(), nullable=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("severity", sa.String(), nullable=False),  # info | warning | error
    sa.Column("household_id", sa.String(), nullable=True),
    sa.Column("account_id", sa.String(), nullable=True),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("data", JSON, nullable=True),
    sa.Column("delivered", sa.Boolean(), nullable=False, index=True, default=False, server_default=sa.false()),
)

RESTRICTIONS = sa.Table(
    "restrictions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("until", sa.Date(), nullable=False),
    sa.Column("sale", sa.Text(), nullable=False),  # e.g. "VTI sold 2026-11-20 in joint-taxable"
    sa.Column("sale_date", sa.Date(), nullable=False),
    sa.Column("account_id", sa.String(), nullable=True),
    sa.Column("run_id", sa.String(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("household_id", "symbol", "sale_date", "account_id"),
    sa.Index(None, "household_id", "until"),
)

LEASES = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("holder", sa.String(), nullable=False),
    sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

PAPER_ORDERS = sa.Table(
    "paper_orders",
    metadata,
    sa.Column("client_order_id", sa.String(), primary_key=True),
    sa.Column("broker_order_id", sa.String(), nullable=False, unique=True),
    sa.Column("account_id", sa.String(), nullable=False, index=True),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("side", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=True),
    sa.Column("notional", DecimalType(), nullable=True),
    sa.Column("time_in_force", sa.String(), nullable=False),
    sa.Column("lot_ids", JSON, nullable=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("filled_quantity", DecimalType(), nullable=False, default=Decimal(0)),
    sa.Column("filled_avg_price", DecimalType(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("trade_date", sa.Date(), nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

PAPER_FILLS = sa.Table(
    "paper_fills",
    metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),  # the fills cursor
    sa.Column("fill_id", sa.String(), nullable=False, unique=True),
    sa.Column("client_order_id", sa.String(), sa.ForeignKey("paper_orders.client_order_id"), nullable=False,
              index=True),
    sa.Column("account_id", sa.String(), nullable=False, index=True),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("side", sa.String(), nullable=False),
    sa.Column("quantity", DecimalType(), nullable=False),
    sa.Column("price", DecimalType(), nullable=False),
    sa.Column("lot_id", sa.String(), nullable=True),
    sa.Column("time", UTCDateTime(), nullable=False),
)

PAUSES = sa.Table(
    "pauses",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(), nullable=True),
    sa.Column("kind", sa.String(), nullable=False),  # manual | fill_deviation
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("until", sa.Date(), nullable=True),
    sa.Column("run_id", sa.String(), nullable=True),  # the run that caused it (fill_deviation)
    sa.Column("created_by", sa.String(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_by", sa.String(), nullable=True),
    sa.Column("resolved_at", UTCDateTime(), nullable=True, index=True),
)

HARVEST_CLAIMS = sa.Table(
    "harvest_claims",
    metadata,
    sa.Column("account_id", sa.String(), primary_key=True),
    sa.Column("as_of", sa.Date(), primary_key=True),
    sa.Column("run_id", sa.String(), nullable=False),
    sa.Column("mode", sa.String(), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
)


def plain(table: sa.Table) -> sql.Table:
    """`table` as `daemon.store.sql` describes it (each column's name and kind): what the bulk inserts and the
    ledger's plain SQL need of a table."""
    return sql.Table(table.name, tuple(
        sql.Column(c.name, _kind(c.type), nullable=bool(c.nullable), default=c.default is not None,
                   server_default=c.server_default is not None,
                   json_null=isinstance(c.type, sa.JSON) and not c.type.none_as_null)
        for c in table.c))


def _kind(column_type: sa.types.TypeEngine[object]) -> str:
    # Most specific first: DecimalType and UTCDateTime are TypeDecorators; Text is a String.
    for cls, kind in ((DecimalType, sql.DECIMAL), (UTCDateTime, sql.DATETIME), (sa.JSON, sql.JSON),
                      (sa.Boolean, sql.BOOL), (sa.Integer, sql.INT), (sa.Date, sql.DATE), (sa.Time, sql.TIME),
                      (sa.String, sql.TEXT)):
        if isinstance(column_type, cls):
            return kind
    raise TypeError(f"no plain SQL kind for the column type {column_type!r}")
