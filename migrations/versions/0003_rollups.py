"""Hourly rollups of Datastream Observations and their dirty-bucket list.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollup_dirty',
    sa.Column('datastream_id', sa.BigInteger(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('marks', sa.BigInteger(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['datastream_id'], ['datastreams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('datastream_id', 'hour')
    )
    op.create_table('rollup_hourly',
    sa.Column('datastream_id', sa.BigInteger(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('observations', sa.BigInteger(), nullable=False),
    sa.Column('numbers', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.Double(), nullable=True),
    sa.Column('minimum', sa.Double(), nullable=True),
    sa.Column('maximum', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['datastream_id'], ['datastreams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('datastream_id', 'hour')
    )
    # Observations stored before this revision: every hour they touch is dirty, so the first
    # aggregation query (or a periodic refresh) builds their rollups.
    op.execute(
        "INSERT INTO rollup_dirty (datastream_id, hour) "
        "SELECT DISTINCT datastream_id, date_trunc('hour', phenomenon_time_start, 'UTC') "
        "FROM observations WHERE datastream_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table('rollup_hourly')
    op.drop_table('rollup_dirty')
