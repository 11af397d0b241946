"""Initial schema: households and accounts, trades, the ledger's output, harvest runs and orders, operations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Generated with Alembic autogenerate from daemon.store.models, then ordered by dependency and tidied.
Boolean server defaults use sa.true()/sa.false() so they compile per database (1/0 on SQLite, true/false
on PostgreSQL) instead of a literal baked in by whichever database generated the file.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import DecimalType, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- households and accounts
    op.create_table(
        "households",
        sa.Column("id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("broker", sa.String(), nullable=False),
        sa.Column("lot_method", sa.String(), nullable=False),
        sa.Column("broker_account", sa.String(), nullable=True),
        sa.Column("basis_reported", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("in_sync", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("sync_detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_accounts_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index(op.f("ix_accounts_household_id"), "accounts", ["household_id"], unique=False)
    op.create_table(
        "securities",
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_securities")),
    )

    # --- imported trades
    op.create_table(
        "trades",
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=False),
        sa.Column("price", DecimalType(), nullable=False),
        sa.Column("fees", DecimalType(), nullable=False),
        sa.Column("lot_id", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_trades_account_id_accounts")),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_trades")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_trades_source_external_id")),
    )
    op.create_index(op.f("ix_trades_household_id_date"), "trades", ["household_id", "date"], unique=False)

    # --- the ledger's output
    op.create_table(
        "lots",
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("lot_id", sa.String(), nullable=False),
        sa.Column("purchase_id", sa.String(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=False),
        sa.Column("cost", DecimalType(), nullable=False),
        sa.Column("adjustment", DecimalType(), nullable=False),
        sa.Column("purchased", sa.Date(), nullable=False),
        sa.Column("acquired", sa.Date(), nullable=False),
        sa.Column("absorbed", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("reinvested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "lot_id", name=op.f("pk_lots")),
    )
    op.create_index(
        op.f("ix_lots_household_id_account_id_symbol"),
        "lots",
        ["household_id", "account_id", "symbol"],
        unique=False,
    )
    op.create_table(
        "dispositions",
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("disposition_id", sa.String(), nullable=False),
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
        sa.PrimaryKeyConstraint("household_id", "disposition_id", name=op.f("pk_dispositions")),
    )
    op.create_index(
        op.f("ix_dispositions_household_id_sold"), "dispositions", ["household_id", "sold"], unique=False
    )
    op.create_table(
        "wash_matches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("disposition_id", sa.String(), nullable=False),
        sa.Column("lot_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=False),
        sa.Column("disallowed", DecimalType(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("replacement_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wash_matches")),
    )
    op.create_index(
        op.f("ix_wash_matches_household_id_position"),
        "wash_matches",
        ["household_id", "position"],
        unique=False,
    )
    op.create_table(
        "ledger_states",
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("through", sa.Date(), nullable=True),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_ledger_states")),
    )

    # --- harvest runs and orders
    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("household_id", sa.String(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("plan", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_runs")),
    )
    op.create_table(
        "order_intents",
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("pair_id", sa.String(), nullable=False),
        sa.Column("leg", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=True),
        sa.Column("notional", DecimalType(), nullable=True),
        sa.Column("lots", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("broker_order_id", sa.String(), nullable=True),
        sa.Column("filled_quantity", DecimalType(), nullable=False),
        sa.Column("filled_avg_price", DecimalType(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["harvest_runs.id"], name=op.f("fk_order_intents_run_id_harvest_runs")
        ),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_order_intents")),
    )
    op.create_index(op.f("ix_order_intents_run_id"), "order_intents", ["run_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("broker_order_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=False),
        sa.Column("filled_quantity", DecimalType(), nullable=False),
        sa.Column("filled_avg_price", DecimalType(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("raw", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["order_intents.client_order_id"],
            name=op.f("fk_orders_client_order_id_order_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_client_order_id"), "orders", ["client_order_id"], unique=False)

    # --- operations
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("household_id", sa.String(), nullable=True),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("delivered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_delivered"), "alerts", ["delivered"], unique=False)
    op.create_table(
        "restrictions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("sale", sa.Text(), nullable=False),
        sa.Column("sale_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restrictions")),
        sa.UniqueConstraint(
            "household_id",
            "symbol",
            "sale_date",
            "account_id",
            name=op.f("uq_restrictions_household_id_symbol_sale_date_account_id"),
        ),
    )
    op.create_index(
        op.f("ix_restrictions_household_id_until"), "restrictions", ["household_id", "until"], unique=False
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    # Reverse dependency order; dropping a table drops its indexes on both databases.
    for table in (
        "leases",
        "restrictions",
        "alerts",
        "orders",
        "order_intents",
        "harvest_runs",
        "ledger_states",
        "wash_matches",
        "dispositions",
        "lots",
        "trades",
        "securities",
        "accounts",
        "households",
    ):
        op.drop_table(table)
