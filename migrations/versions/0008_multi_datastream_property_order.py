"""A MultiDatastream's ObservedProperties keyed by position: the same one may come twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLE = 'multi_datastreams_observed_properties'


def upgrade() -> None:
    # Positions 0..n-1 per MultiDatastream, in the order stored so far.
    op.execute(f"""
        UPDATE {TABLE} AS t SET rank = ordered.position
        FROM (SELECT multi_datastream_id, observed_property_id,
                     row_number() OVER (PARTITION BY multi_datastream_id
                                        ORDER BY rank, observed_property_id) - 1 AS position
              FROM {TABLE}) AS ordered
        WHERE t.multi_datastream_id = ordered.multi_datastream_id
          AND t.observed_property_id = ordered.observed_property_id
    """)
    op.drop_constraint(f'{TABLE}_pkey', TABLE, type_='primary')
    op.alter_column(TABLE, 'rank', server_default=None)
    op.create_primary_key(f'{TABLE}_pkey', TABLE, ['multi_datastream_id', 'rank'])


def downgrade() -> None:
    op.execute(f"""
        DELETE FROM {TABLE} AS t USING {TABLE} AS first
        WHERE t.multi_datastream_id = first.multi_datastream_id
          AND t.observed_property_id = first.observed_property_id AND t.rank > first.rank
    """)
    op.drop_constraint(f'{TABLE}_pkey', TABLE, type_='primary')
    op.alter_column(TABLE, 'rank', server_default='0')
    op.create_primary_key(f'{TABLE}_pkey', TABLE, ['multi_datastream_id', 'observed_property_id'])
