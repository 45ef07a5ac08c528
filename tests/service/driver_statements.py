"""Count the statements a test's pooled connections send, on the driver (below SQLAlchemy: the
one-statement POST runs precompiled on psycopg, sql/precompiled.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, event


class _Counting(psycopg.Cursor[Any]):
    """Records (the statement's first 40 characters, sent in a pipeline) for each execute and executemany."""

    seen: list[tuple[str, bool]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        _Counting.seen.append((" ".join(str(query).split())[:40], self.connection.pgconn.pipeline_status != 0))
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        _Counting.seen.append((" ".join(str(query).split())[:40], self.connection.pgconn.pipeline_status != 0))
        super().executemany(query, params_seq, **kwargs)


@contextmanager
def driver_statements(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """The statements sent on `engine`'s pooled connections while the block runs."""

    def counting(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.cursor_factory = _Counting

    def plain(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor_factory = psycopg.Cursor

    event.listen(engine.pool, "checkout", counting)
    event.listen(engine.pool, "checkin", plain)
    _Counting.seen = []
    try:
        yield _Counting.seen
    finally:
        event.remove(engine.pool, "checkout", counting)
        event.remove(engine.pool, "checkin", plain)
