"""time ranges as key ranges: each block of 4,096 audit events keeps the span of its
instants (audit.time_blocks), and passages are indexed by when they were seen

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 21:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_time_blocks',
    sa.Column('block', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('first_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('block', name=op.f('pk_audit_time_blocks'))
    )
    # The chain linked so far, in blocks of 4,096 (audit.time_blocks.SIZE as written).
    op.execute("INSERT INTO audit_time_blocks (block, first_at, last_at) "
               "SELECT (seq - 1) / 4096, min(at), max(at) FROM audit_events "
               "GROUP BY (seq - 1) / 4096")
    op.create_index('ix_passages_seen', 'passages', ['seen_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_passages_seen', table_name='passages')
    op.drop_table('audit_time_blocks')
