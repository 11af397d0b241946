"""Ledger events: trade execution times, transfers in with basis, corporate actions, the quarantine of what
could not be applied, and the ledger output's new fields.

Trades stored before this revision have no time: they keep their stored order within a day. `tlh db upgrade`
recomputes every household's ledger after this revision (the order of events changed).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from daemon.store.types import DecimalType, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('corporate_actions',
    sa.Column('action_id', sa.String(), nullable=False),
    sa.Column('household_id', sa.String(), nullable=False),
    sa.Column('account_id', sa.String(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('time', sa.Time(), nullable=True),
    sa.Column('symbol', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('ratio', DecimalType(), nullable=True),
    sa.Column('new_symbol', sa.String(), nullable=True),
    sa.Column('cash_per_share', DecimalType(), nullable=True),
    sa.Column('basis_fraction', DecimalType(), nullable=True),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('external_id', sa.String(), nullable=False),
    sa.Column('imported_at', UTCDateTime(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_corporate_actions_account_id_accounts')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_corporate_actions')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_corporate_actions_source_external_id'))
    )
    with op.batch_alter_table('corporate_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corporate_actions_household_id_date'), ['household_id', 'date'],
                              unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('household_id', sa.String(), nullable=False),
    sa.Column('account_id', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('external_id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('activity_type', sa.String(), nullable=True),
    sa.Column('payload', sa.JSON(none_as_null=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_quarantine_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_quarantine_source_external_id'))
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(), server_default='sale', nullable=False))
        batch_op.add_column(sa.Column('lot_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('origin', sa.String(), server_default='purchase', nullable=False))
        batch_op.add_column(sa.Column('washed_from', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('absorbed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('split_factor', DecimalType(), nullable=True))
        batch_op.add_column(sa.Column('replacement_adjustment', DecimalType(), nullable=True))
        batch_op.add_column(sa.Column('time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('order_id', sa.String(), nullable=True))

    with op.batch_alter_table('ledger_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('securities', sa.JSON(none_as_null=True), nullable=True))

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(), server_default='purchase', nullable=False))
        batch_op.add_column(sa.Column('washed_from', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('loss_basis', DecimalType(), nullable=True))

    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('acquired', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('basis', DecimalType(), nullable=True))
        batch_op.add_column(sa.Column('order_id', sa.String(), nullable=True))

    with op.batch_alter_table('wash_matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replacement_disposition', sa.String(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('wash_matches', schema=None) as batch_op:
        batch_op.drop_column('replacement_disposition')

    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_column('order_id')
        batch_op.drop_column('basis')
        batch_op.drop_column('acquired')
        batch_op.drop_column('time')

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_column('loss_basis')
        batch_op.drop_column('washed_from')
        batch_op.drop_column('origin')

    with op.batch_alter_table('ledger_states', schema=None) as batch_op:
        batch_op.drop_column('securities')

    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.drop_column('order_id')
        batch_op.drop_column('time')
        batch_op.drop_column('replacement_adjustment')
        batch_op.drop_column('split_factor')
        batch_op.drop_column('absorbed')
        batch_op.drop_column('washed_from')
        batch_op.drop_column('origin')
        batch_op.drop_column('lot_seq')
        batch_op.drop_column('kind')

    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_account_id'))

    op.drop_table('quarantine')
    with op.batch_alter_table('corporate_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corporate_actions_household_id_date'))

    op.drop_table('corporate_actions')
