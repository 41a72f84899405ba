"""dispatch: call-forward release timing per plant, a dock's next truck and expected
free time, the unloading history and what is learned from it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dispatch_estimates',
    sa.Column('plant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('hazard_class', sa.String(length=8), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('mean_min', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['plant_id'], ['plants.id'], name=op.f('fk_dispatch_estimates_plant_id_plants')),
    sa.PrimaryKeyConstraint('plant_id', 'kind', 'hazard_class', 'band', name=op.f('pk_dispatch_estimates'))
    )
    op.create_table('unloadings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trip_id', sa.Integer(), nullable=False),
    sa.Column('plant_id', sa.Integer(), nullable=False),
    sa.Column('dock_id', sa.Integer(), nullable=True),
    sa.Column('hazard_class', sa.String(length=8), nullable=False),
    sa.Column('quantity_kg', sa.Double(), nullable=False),
    sa.Column('released_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('called_forward', sa.Boolean(), nullable=False),
    sa.Column('arrived_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('predicted_min', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['dock_id'], ['docks.id'], name=op.f('fk_unloadings_dock_id_docks')),
    sa.ForeignKeyConstraint(['plant_id'], ['plants.id'], name=op.f('fk_unloadings_plant_id_plants')),
    sa.ForeignKeyConstraint(['trip_id'], ['trips.id'], name=op.f('fk_unloadings_trip_id_trips')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unloadings')),
    sa.UniqueConstraint('trip_id', name=op.f('uq_unloadings_trip_id'))
    )
    with op.batch_alter_table('unloadings', schema=None) as batch_op:
        batch_op.create_index('ix_unloadings_plant_ended', ['plant_id', 'ended_at'], unique=False)

    # The entrance queue in arrival order (admission reads it a page at a time); it
    # covers what the (lot, status) index served.
    with op.batch_alter_table('queue_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_lot_status')
        batch_op.create_index('ix_queue_lot_status_arrived',
                              ['lot_id', 'status', 'arrived_at', 'id'], unique=False)

    with op.batch_alter_table('docks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_trip_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expected_free_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('call_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_docks_call_at'), ['call_at'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_docks_next_trip_id'), ['next_trip_id'])
        batch_op.create_foreign_key(batch_op.f('fk_docks_next_trip_id_trips'), 'trips', ['next_trip_id'], ['id'])

    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_timing', sa.String(length=12), server_default='free_dock', nullable=False))
        batch_op.add_column(sa.Column('call_margin_min', sa.Integer(), server_default='1', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.drop_column('call_margin_min')
        batch_op.drop_column('release_timing')

    with op.batch_alter_table('docks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_docks_next_trip_id_trips'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_docks_next_trip_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_docks_call_at'))
        batch_op.drop_column('call_at')
        batch_op.drop_column('expected_free_at')
        batch_op.drop_column('next_trip_id')

    with op.batch_alter_table('queue_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_lot_status_arrived')
        batch_op.create_index('ix_queue_lot_status', ['lot_id', 'status'], unique=False)

    with op.batch_alter_table('unloadings', schema=None) as batch_op:
        batch_op.drop_index('ix_unloadings_plant_ended')

    op.drop_table('unloadings')
    op.drop_table('dispatch_estimates')
