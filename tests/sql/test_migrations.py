"""The Alembic migrations create exactly the schema sql/tables.py declares."""
from __future__ import annotations

import os

from alembic import command
from sqlalchemy import Engine, inspect, text

from sta_server.model import REGISTRY
from sta_server.settings import Settings
from sta_server.sql.tables import TABLES
from tests.conftest import alembic_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_migrated_schema_matches_the_declared_tables(settings: Settings, engine: Engine) -> None:
    command.check(alembic_config(settings.database_url))  # raises when autogenerate would find a difference


def test_postgis_is_installed_by_the_migration(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")).scalar()


def test_every_property_column_exists(engine: Engine) -> None:
    inspector = inspect(engine)
    for entity_type in REGISTRY:
        columns = {c["name"] for c in inspector.get_columns(entity_type.table)}
        for prop in entity_type.properties:
            assert set(prop.columns()) <= columns, (entity_type.name, prop.name)
        for link in entity_type.links:
            if link.fk:
                assert link.fk in columns, (entity_type.name, link.name)
            if link.link_table:
                pair_columns = {c.name for c in TABLES[link.link_table].c}
                assert {link.this_column, link.other_column} <= pair_columns


def test_geometry_columns_have_spatial_indexes(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"
        )).all()
    indexed = {row.tablename for row in rows}
    assert {"locations", "features", "datastreams", "multi_datastreams"} <= indexed
