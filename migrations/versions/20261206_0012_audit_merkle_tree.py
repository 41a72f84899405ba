"""audit: a Merkle tree over the chain, trip back-links, tree-head checkpoints and
their publication

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 16:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base
from migrations.audit_sql import create_append_only_triggers, drop_append_only_triggers

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_tree',
    sa.Column('key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_audit_tree'))
    )
    # Events linked before this revision keep a NULL back-link (their hashes stay as
    # they were); the tree over them is built by the sequencer's first passes.
    # Plain ADD COLUMN (no table rebuild on SQLite): the append-only triggers stay.
    op.add_column('audit_events', sa.Column('trip_prev_leaf', sa.BigInteger(), nullable=True))
    op.add_column('audit_head', sa.Column('tree_size', sa.BigInteger(), server_default='0',
                                          nullable=False))
    op.add_column('audit_head', sa.Column('tree_edge', sa.LargeBinary(), nullable=True))
    op.add_column('audit_checkpoints', sa.Column('root', sa.String(length=64), nullable=True))
    op.add_column('audit_checkpoints', sa.Column(
        'published_at', models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('audit_checkpoints', sa.Column('publish_error', sa.String(length=500),
                                                 nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoints') as batch_op:
        batch_op.drop_column('publish_error')
        batch_op.drop_column('published_at')
        batch_op.drop_column('root')
    with op.batch_alter_table('audit_head') as batch_op:
        batch_op.drop_column('tree_edge')
        batch_op.drop_column('tree_size')
    with op.batch_alter_table('audit_events') as batch_op:
        batch_op.drop_column('trip_prev_leaf')
    _restore_triggers_after_sqlite_rebuild()
    op.drop_table('audit_tree')


def _restore_triggers_after_sqlite_rebuild() -> None:
    # Dropping a column rebuilds the table on SQLite, and the rebuild drops its
    # triggers: the trail must never be left without its append-only guard.
    if op.get_bind().dialect.name == "sqlite":
        drop_append_only_triggers(op)
        create_append_only_triggers(op)
