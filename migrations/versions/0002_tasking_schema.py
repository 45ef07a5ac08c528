"""Tasking Core schema: Actuators, TaskingCapabilities (per Thing) and Tasks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:46:46.552911
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('actuators',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('encoding_type', sa.Text(), nullable=False),
    sa.Column('metadata', sa.Text(), nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('tasking_capabilities',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('tasking_parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('thing_id', sa.BigInteger(), nullable=False),
    sa.Column('actuator_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['actuator_id'], ['actuators.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_tasking_capabilities_actuator_id'), 'tasking_capabilities', ['actuator_id'], unique=False)
    op.create_index(op.f('ix_tasking_capabilities_thing_id'), 'tasking_capabilities', ['thing_id'], unique=False)
    op.create_table('tasks',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('creation_time', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tasking_parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('tasking_capability_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tasking_capability_id'], ['tasking_capabilities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_tasks_capability_time', 'tasks', ['tasking_capability_id', 'creation_time'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_capability_time', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index(op.f('ix_tasking_capabilities_thing_id'), table_name='tasking_capabilities')
    op.drop_index(op.f('ix_tasking_capabilities_actuator_id'), table_name='tasking_capabilities')
    op.drop_table('tasking_capabilities')
    op.drop_table('actuators')
