"""lot: one active release per trip, release deadlines and lot queues indexed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index('uq_releases_active_trip', ['trip_id'], unique=True,
                              postgresql_where=sa.text("status = 'active'"),
                              sqlite_where=sa.text("status = 'active'"))
        batch_op.create_index('ix_releases_status_deadline', ['status', 'deadline'],
                              unique=False)
    with op.batch_alter_table('queue_entries', schema=None) as batch_op:
        batch_op.create_index('ix_queue_lot_status', ['lot_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('queue_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_lot_status')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('ix_releases_status_deadline')
        batch_op.drop_index('uq_releases_active_trip')
