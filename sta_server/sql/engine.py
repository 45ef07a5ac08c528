"""The database engine: psycopg 3 pool with pre-ping, connect and pool timeouts and a per-statement timeout."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine

from sta_server.settings import Settings


def make_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=settings.db_pool_timeout_s,  # then 503: never a request hanging on a full pool
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
                      "connect_timeout": settings.db_connect_timeout_s},  # a database that is down: 503 soon
    )
