"""cameras: registry and refused events

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:17:55.394969
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cameras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('lane_id', sa.Integer(), nullable=True),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('secret_cipher', sa.String(length=300), nullable=True),
    sa.Column('silent_after_min', sa.Integer(), nullable=False, server_default='10'),
    sa.Column('utc_offset_min', sa.Integer(), nullable=False, server_default='480'),
    sa.Column('last_heard_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_event_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registered_from', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lane_id'], ['lanes.id'], name=op.f('fk_cameras_lane_id_lanes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cameras')),
    sa.UniqueConstraint('vendor', 'device_id', name=op.f('uq_cameras_vendor_device_id'))
    )
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cameras_lane_id'), ['lane_id'], unique=False)

    op.create_table('vendor_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('vendor', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_vendor_rejections_camera_id_cameras')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_rejections'))
    )
    with op.batch_alter_table('vendor_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_rejections_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('lanes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backlog_hours', sa.Integer(), nullable=False,
                                      server_default='24'))
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('camera_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_alarms_camera_id_cameras'), 'cameras',
                                    ['camera_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alarms_camera_id_cameras'), type_='foreignkey')
        batch_op.drop_column('camera_id')
    with op.batch_alter_table('lanes', schema=None) as batch_op:
        batch_op.drop_column('backlog_hours')

    with op.batch_alter_table('vendor_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_rejections_received_at'))

    op.drop_table('vendor_rejections')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cameras_lane_id'))

    op.drop_table('cameras')
