"""security: read ids per lane, server sessions, login throttle

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:04:21.169127
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_table('user_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('remote', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_user_sessions'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_user_sessions_user_open', ['user_id', 'ended_at'], unique=False)

    # A read id now names a read within its lane: the lane joins the key, taken from
    # the passage each read belongs to.
    with op.batch_alter_table('passage_reads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane_id', sa.Integer(), nullable=True))
    op.execute("UPDATE passage_reads SET lane_id = (SELECT lane_id FROM passages "
               "WHERE passages.id = passage_reads.passage_id)")
    with op.batch_alter_table('passage_reads', schema=None) as batch_op:
        batch_op.alter_column('lane_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('pk_passage_reads'), type_='primary')
        batch_op.create_primary_key(batch_op.f('pk_passage_reads'), ['lane_id', 'read_id'])
        batch_op.create_foreign_key(batch_op.f('fk_passage_reads_lane_id_lanes'), 'lanes', ['lane_id'], ['id'])

    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_passages_read_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_passages_lane_id_read_id'), ['lane_id', 'read_id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('locked_until', models.base.UTCDateTime(timezone=True),
                                      nullable=True))

    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_passages_lane_id_read_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_passages_read_id'), ['read_id'])

    with op.batch_alter_table('passage_reads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_passage_reads_lane_id_lanes'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('pk_passage_reads'), type_='primary')
        batch_op.create_primary_key(batch_op.f('pk_passage_reads'), ['read_id'])
        batch_op.drop_column('lane_id')

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_user_sessions_user_open')

    op.drop_table('user_sessions')
    op.drop_table('login_throttle')
