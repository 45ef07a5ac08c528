"""Observations partitioned by month of phenomenon_time_start (sta_server/sql/partitions.py).

The table is re-created as a range-partitioned parent with the same columns, constraints, indexes,
`id` sequence and row-level security; the rows are copied into monthly partitions (one per month
that has rows, plus this month and the next ones) and a DEFAULT partition catches any other time.
The primary key becomes (id, phenomenon_time_start): a partitioned table's unique keys must hold
the partition key. Nothing references observations.id by foreign key.

The policies of `features` read `observations` (a feature is visible through its Observations), so
they are dropped with the old table and created again on the new one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from sta_server.sql import partitions, policies

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_COLUMNS = ", ".join(partitions.COLUMNS)
_OLD = "observations_unpartitioned"
_SEQUENCE = "observations_id_seq"


def _create(**table_kw: str) -> None:
    op.create_table('observations',
    sa.Column('id', sa.BigInteger(), server_default=sa.text(f"nextval('{_SEQUENCE}'::regclass)"),
              nullable=False),
    sa.Column('phenomenon_time_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('phenomenon_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_number', sa.Double(), nullable=True),
    sa.Column('result_json', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('result_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_quality', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('valid_time_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('datastream_id', sa.BigInteger(), nullable=True),
    sa.Column('multi_datastream_id', sa.BigInteger(), nullable=True),
    sa.Column('feature_of_interest_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('(datastream_id IS NULL) <> (multi_datastream_id IS NULL)', name='ck_observations_one_stream'),
    sa.ForeignKeyConstraint(['datastream_id'], ['datastreams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_of_interest_id'], ['features.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['multi_datastream_id'], ['multi_datastreams.id'], ondelete='CASCADE'),
    **table_kw,
    )


def _create_indexes() -> None:
    op.create_index('ix_observations_datastream_time', 'observations', ['datastream_id', 'phenomenon_time_start', 'id'], unique=False)
    op.create_index(op.f('ix_observations_feature_of_interest_id'), 'observations', ['feature_of_interest_id'], unique=False)
    op.create_index('ix_observations_multi_datastream_time', 'observations', ['multi_datastream_id', 'phenomenon_time_start'], unique=False)


def _drop_indexes() -> None:
    op.drop_index('ix_observations_multi_datastream_time', table_name='observations')
    op.drop_index(op.f('ix_observations_feature_of_interest_id'), table_name='observations')
    op.drop_index('ix_observations_datastream_time', table_name='observations')


def _drop_policies(table: str) -> None:
    for verb in ("select", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS sta_{verb} ON {table}")


def _set_aside_old_table() -> None:
    """Rename the current table out of the way, keep its sequence (it numbers the new table too)."""
    _drop_policies("features")  # they depend on the old table
    _drop_policies("observations")
    _drop_indexes()
    op.execute(f"ALTER TABLE observations RENAME CONSTRAINT observations_pkey TO {_OLD}_pkey")
    op.execute(f"ALTER TABLE observations RENAME TO {_OLD}")
    op.execute(f"ALTER SEQUENCE {_SEQUENCE} OWNED BY NONE")


def _finish_new_table() -> None:
    op.execute(f"INSERT INTO observations ({_COLUMNS}) SELECT {_COLUMNS} FROM {_OLD}")
    op.execute(f"DROP TABLE {_OLD}")
    op.execute(f"ALTER SEQUENCE {_SEQUENCE} OWNED BY observations.id")
    _create_indexes()
    policies.run(op.execute, policies.table_policy_statements("observations"))
    policies.run(op.execute, policies.table_policy_statements("features"))
    op.execute("ANALYZE observations")


def upgrade() -> None:
    _set_aside_old_table()
    _create(postgresql_partition_by='RANGE (phenomenon_time_start)')
    op.create_primary_key('observations_pkey', 'observations', ['id', 'phenomenon_time_start'])
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF observations DEFAULT")
    months = op.get_bind().execute(sa.text(
        "SELECT DISTINCT CAST(date_trunc('month', phenomenon_time_start AT TIME ZONE 'UTC') AS date) "
        f"FROM {_OLD}")).scalars().all()
    for month in months:
        op.execute(partitions.create_statement(month))
    partitions.ensure_partitions(op.get_bind(), ahead=3)  # this month and the next ones
    _finish_new_table()


def downgrade() -> None:
    _set_aside_old_table()
    _create()
    op.create_primary_key('observations_pkey', 'observations', ['id'])
    _finish_new_table()
