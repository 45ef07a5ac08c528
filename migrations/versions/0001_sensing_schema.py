"""Sensing and MultiDatastream schema: one table per entity type, link tables, access-path indexes.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 01:39:54.144373
"""
from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('locations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('encoding_type', sa.Text(), nullable=False),
    sa.Column('location', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('location_geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_locations_geom', 'locations', ['location_geom'], unique=False, postgresql_using='gist')
    op.create_table('observed_properties',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sensors',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('encoding_type', sa.Text(), nullable=False),
    sa.Column('metadata', sa.Text(), nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('things',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('datastreams',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('unit_of_measurement', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('observation_type', sa.Text(), nullable=False),
    sa.Column('observed_area', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('phenomenon_time_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phenomenon_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_time_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('thing_id', sa.BigInteger(), nullable=False),
    sa.Column('sensor_id', sa.BigInteger(), nullable=False),
    sa.Column('observed_property_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['observed_property_id'], ['observed_properties.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_datastreams_observed_area', 'datastreams', ['observed_area'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_datastreams_observed_property_id'), 'datastreams', ['observed_property_id'], unique=False)
    op.create_index(op.f('ix_datastreams_sensor_id'), 'datastreams', ['sensor_id'], unique=False)
    op.create_index(op.f('ix_datastreams_thing_id'), 'datastreams', ['thing_id'], unique=False)
    op.create_table('features',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('encoding_type', sa.Text(), nullable=False),
    sa.Column('feature', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('feature_geom', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('source_location_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['source_location_id'], ['locations.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_features_geom', 'features', ['feature_geom'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_features_source_location_id'), 'features', ['source_location_id'], unique=False)
    op.create_table('historical_locations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('thing_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_historical_locations_thing_id'), 'historical_locations', ['thing_id'], unique=False)
    op.create_table('multi_datastreams',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('unit_of_measurements', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('observation_type', sa.Text(), nullable=False),
    sa.Column('multi_observation_data_types', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('observed_area', geoalchemy2.types.Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('phenomenon_time_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phenomenon_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_time_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_time_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('thing_id', sa.BigInteger(), nullable=False),
    sa.Column('sensor_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_multi_datastreams_observed_area', 'multi_datastreams', ['observed_area'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_multi_datastreams_sensor_id'), 'multi_datastreams', ['sensor_id'], unique=False)
    op.create_index(op.f('ix_multi_datastreams_thing_id'), 'multi_datastreams', ['thing_id'], unique=False)
    op.create_table('things_locations',
    sa.Column('thing_id', sa.BigInteger(), nullable=False),
    sa.Column('location_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thing_id'], ['things.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thing_id', 'location_id')
    )
    op.create_index(op.f('ix_things_locations_location_id'), 'things_locations', ['location_id'], unique=False)
    op.create_table('locations_historical_locations',
    sa.Column('location_id', sa.BigInteger(), nullable=False),
    sa.Column('historical_location_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['historical_location_id'], ['historical_locations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('location_id', 'historical_location_id')
    )
    op.create_index(op.f('ix_locations_historical_locations_historical_location_id'), 'locations_historical_locations', ['historical_location_id'], unique=False)
    op.create_table('multi_datastreams_observed_properties',
    sa.Column('multi_datastream_id', sa.BigInteger(), nullable=False),
    sa.Column('observed_property_id', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['multi_datastream_id'], ['multi_datastreams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['observed_property_id'], ['observed_properties.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('multi_datastream_id', 'observed_property_id')
    )
    op.create_index(op.f('ix_multi_datastreams_observed_properties_observed_property_id'), 'multi_datastreams_observed_properties', ['observed_property_id'], unique=False)
    op.create_table('observations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
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
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_observations_datastream_time', 'observations', ['datastream_id', 'phenomenon_time_start', 'id'], unique=False)
    op.create_index(op.f('ix_observations_feature_of_interest_id'), 'observations', ['feature_of_interest_id'], unique=False)
    op.create_index('ix_observations_multi_datastream_time', 'observations', ['multi_datastream_id', 'phenomenon_time_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_observations_multi_datastream_time', table_name='observations')
    op.drop_index(op.f('ix_observations_feature_of_interest_id'), table_name='observations')
    op.drop_index('ix_observations_datastream_time', table_name='observations')
    op.drop_table('observations')
    op.drop_index(op.f('ix_multi_datastreams_observed_properties_observed_property_id'), table_name='multi_datastreams_observed_properties')
    op.drop_table('multi_datastreams_observed_properties')
    op.drop_index(op.f('ix_locations_historical_locations_historical_location_id'), table_name='locations_historical_locations')
    op.drop_table('locations_historical_locations')
    op.drop_index(op.f('ix_things_locations_location_id'), table_name='things_locations')
    op.drop_table('things_locations')
    op.drop_index(op.f('ix_multi_datastreams_thing_id'), table_name='multi_datastreams')
    op.drop_index(op.f('ix_multi_datastreams_sensor_id'), table_name='multi_datastreams')
    op.drop_index('ix_multi_datastreams_observed_area', table_name='multi_datastreams', postgresql_using='gist')
    op.drop_table('multi_datastreams')
    op.drop_index(op.f('ix_historical_locations_thing_id'), table_name='historical_locations')
    op.drop_table('historical_locations')
    op.drop_index(op.f('ix_features_source_location_id'), table_name='features')
    op.drop_index('ix_features_geom', table_name='features', postgresql_using='gist')
    op.drop_table('features')
    op.drop_index(op.f('ix_datastreams_thing_id'), table_name='datastreams')
    op.drop_index(op.f('ix_datastreams_sensor_id'), table_name='datastreams')
    op.drop_index(op.f('ix_datastreams_observed_property_id'), table_name='datastreams')
    op.drop_index('ix_datastreams_observed_area', table_name='datastreams', postgresql_using='gist')
    op.drop_table('datastreams')
    op.drop_table('things')
    op.drop_table('sensors')
    op.drop_table('observed_properties')
    op.drop_index('ix_locations_geom', table_name='locations', postgresql_using='gist')
    op.drop_table('locations')
