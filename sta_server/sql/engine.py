"""The database engine: psycopg 3 pool with a liveness check at checkout, connect and pool timeouts
and a per-statement timeout; every transaction opened for a scoped principal runs under row-level
security."""
from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from sta_server.security.principal import current
from sta_server.settings import Settings
from sta_server.sql.policies import scope


def make_engine(settings: Settings) -> Engine:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_s,  # then 503: never a request hanging on a full pool
        # the connection returned last is taken first: its backend's caches and prepared plans are
        # warm (FIFO spread one client's requests over every pooled backend, docs/benchmarks.md)
        pool_use_lifo=True,
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
                      "connect_timeout": settings.db_connect_timeout_s},  # a database that is down: 503 soon
    )
    event.listen(engine.pool, "checkout", check_alive)
    event.listen(engine, "begin", _scope_transaction)
    return engine


def check_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection is replaced (the pool retries with a new one) when it is closed or has
    anything to read while idle: a server that shut down or restarted sent its goodbye and closed
    the socket. A local check, no round trip (a pre-ping costs one per request); a database that
    restarted is noticed by the first request after it, which then runs on a fresh connection."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # another driver: nothing to look at
        return
    if dbapi_connection.closed or pgconn.status != 0:  # CONNECTION_OK
        raise DisconnectionError("the pooled connection is closed")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the pooled connection has data or an end while idle")


def _scope_transaction(conn: Connection) -> None:
    """At the start of each transaction: a principal other than an administrator or the server
    sees only its rows for the whole transaction (sql/policies.py)."""
    principal = current()
    if not principal.unrestricted:
        scope(conn, principal.grants)
