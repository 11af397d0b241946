"""The built-in paper broker's book: paper_orders and paper_fills.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import DecimalType, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paper_orders",
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("broker_order_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=True),
        sa.Column("notional", DecimalType(), nullable=True),
        sa.Column("time_in_force", sa.String(), nullable=False),
        sa.Column("lot_ids", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("filled_quantity", DecimalType(), nullable=False),
        sa.Column("filled_avg_price", DecimalType(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_paper_orders")),
        sa.UniqueConstraint("broker_order_id", name=op.f("uq_paper_orders_broker_order_id")),
    )
    op.create_index(op.f("ix_paper_orders_account_id"), "paper_orders", ["account_id"])
    op.create_table(
        "paper_fills",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fill_id", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("quantity", DecimalType(), nullable=False),
        sa.Column("price", DecimalType(), nullable=False),
        sa.Column("lot_id", sa.String(), nullable=True),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_order_id"], ["paper_orders.client_order_id"],
                                name=op.f("fk_paper_fills_client_order_id_paper_orders")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_paper_fills")),
        sa.UniqueConstraint("fill_id", name=op.f("uq_paper_fills_fill_id")),
    )
    op.create_index(op.f("ix_paper_fills_account_id"), "paper_fills", ["account_id"])
    op.create_index(op.f("ix_paper_fills_client_order_id"), "paper_fills", ["client_order_id"])


def downgrade() -> None:
    op.drop_table("paper_fills")
    op.drop_table("paper_orders")
