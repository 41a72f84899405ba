"""booth: holds are resolved explicitly (the pending list)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('resolved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_passages_resolved_by_id_users'), 'users',
                                    ['resolved_by_id'], ['id'])
        batch_op.create_index('ix_passages_lane_pending', ['lane_id', 'action', 'resolved_at'],
                              unique=False)
    # Holds already overridden are resolved; holds an operator already completed (a
    # passage names them in details.completes) are found by the pending query's
    # "later read of the same plate" rule, as are those a later read replaced.
    op.execute("UPDATE passages SET resolved_at = override_at, resolution = 'override', "
               "resolved_by_id = override_by_id WHERE override_action IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.drop_index('ix_passages_lane_pending')
        batch_op.drop_constraint(batch_op.f('fk_passages_resolved_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('resolved_by_id')
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_at')
