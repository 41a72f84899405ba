"""bookings: a client's Idempotency-Key per enterprise, so a retried request books once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_trips_enterprise_id_client_key'),
                                          ['enterprise_id', 'client_key'])


def downgrade() -> None:
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_trips_enterprise_id_client_key'), type_='unique')
        batch_op.drop_column('client_key')
