"""The MQTT subscription registry in the database (kept across server restarts).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mqtt_subscriptions',
    sa.Column('client_id', sa.Text(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'topic')
    )


def downgrade() -> None:
    op.drop_table('mqtt_subscriptions')
