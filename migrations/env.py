"""Alembic environment: the URL comes from the config (tests) or STA_DATABASE_URL / DATABASE_URL."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from sta_server.settings import Settings, normalise_database_url
from sta_server.sql.partitions import is_partition_name
from sta_server.sql.tables import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

_INCLUDED_TABLES = set(Base.metadata.tables)


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Ignore PostGIS's own tables (spatial_ref_sys, topology…) when autogenerating.
    return not (type_ == "table" and name not in _INCLUDED_TABLES)


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # The partitions of observations (sql/partitions.py) are made by the maintenance job, not declared;
    # skipping them by name also spares reflecting each one.
    return not (type_ == "table" and is_partition_name(name))


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return normalise_database_url(url) if url else Settings.from_env().database_url


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(_url())
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, include_object=_include_object,
        include_name=_include_name, compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
