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
    op.add_column('audit_head', sa.Column('blocks_through', sa.BigInteger(),
                                          server_default='0', nullable=False))
    # The chain linked so far, in blocks of 4,096 (audit.time_blocks.SIZE as written),
    # up to the head read first: an older process may go on linking meanwhile, and what
    # it links stays past blocks_through for the sequencer to catch up.
    bind = op.get_bind()
    head = bind.execute(sa.text("SELECT COALESCE(max(seq), 0) FROM audit_events")).scalar()
    bind.execute(sa.text("INSERT INTO audit_time_blocks (block, first_at, last_at) "
                         "SELECT (seq - 1) / 4096, min(at), max(at) FROM audit_events "
                         "WHERE seq <= :head GROUP BY (seq - 1) / 4096"), {"head": head})
    bind.execute(sa.text("UPDATE audit_head SET blocks_through = :head"), {"head": head})
    op.create_index('ix_passages_seen', 'passages', ['seen_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_passages_seen', table_name='passages')
    with op.batch_alter_table('audit_head') as batch_op:
        batch_op.drop_column('blocks_through')
    op.drop_table('audit_time_blocks')
