"""auditors: signed chain checkpoints, and each decision's reason codes for look-up

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('envelope', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoints_seq'), ['seq'], unique=False)
    op.create_table(
        'passage_reasons',
        sa.Column('passage_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('decided_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['passage_id'], ['passages.id'],
                                name=op.f('fk_passage_reasons_passage_id_passages')),
        sa.PrimaryKeyConstraint('passage_id', 'code', name=op.f('pk_passage_reasons')),
    )
    with op.batch_alter_table('passage_reasons', schema=None) as batch_op:
        batch_op.create_index('ix_passage_reasons_code_at', ['code', 'decided_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('passage_reasons', schema=None) as batch_op:
        batch_op.drop_index('ix_passage_reasons_code_at')
    op.drop_table('passage_reasons')
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoints_seq'))
    op.drop_table('audit_checkpoints')
