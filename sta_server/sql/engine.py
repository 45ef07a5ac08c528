"""The database engine: psycopg 3 pool with pre-ping and a per-statement timeout."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine

from sta_server.settings import Settings


def make_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC"},
    )
