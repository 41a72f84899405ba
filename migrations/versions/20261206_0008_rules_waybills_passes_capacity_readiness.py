"""rules: waybill and toxic pass details, lot capacity, plant readiness

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:54:37.575632
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=True))

    with op.batch_alter_table('plants', schema=None) as batch_op:
        # Every plant was ready until readiness existed.
        batch_op.add_column(sa.Column('ready', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('ready_note', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('ready_changed_at', models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waybill_vehicle', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('waybill_trailer', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('toxic_pass_valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('toxic_pass_valid_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('toxic_pass_vehicle', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_trips_waybill', ['waybill_no'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_index('ix_trips_waybill')
        batch_op.drop_column('toxic_pass_vehicle')
        batch_op.drop_column('toxic_pass_valid_until')
        batch_op.drop_column('toxic_pass_valid_from')
        batch_op.drop_column('waybill_trailer')
        batch_op.drop_column('waybill_vehicle')

    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.drop_column('ready_changed_at')
        batch_op.drop_column('ready_note')
        batch_op.drop_column('ready')

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_column('capacity')

