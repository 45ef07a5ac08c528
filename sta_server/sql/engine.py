"""The database engine: psycopg 3 pool with pre-ping, connect and pool timeouts and a per-statement
timeout; every transaction opened for a scoped principal runs under row-level security."""
from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, event

from sta_server.security.principal import current
from sta_server.settings import Settings
from sta_server.sql.policies import scope


def make_engine(settings: Settings) -> Engine:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=settings.db_pool_timeout_s,  # then 503: never a request hanging on a full pool
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
                      "connect_timeout": settings.db_connect_timeout_s},  # a database that is down: 503 soon
    )
    event.listen(engine, "begin", _scope_transaction)
    return engine


def _scope_transaction(conn: Connection) -> None:
    """At the start of each transaction: a principal other than an administrator or the server
    sees only its rows for the whole transaction (sql/policies.py)."""
    principal = current()
    if not principal.unrestricted:
        scope(conn, principal.grants)
