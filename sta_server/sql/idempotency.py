"""Claiming, recording and pruning idempotency keys (table in idempotency_tables.py)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from sta_server.sql.idempotency_tables import IdempotencyKey

KEYS: Table = IdempotencyKey.__table__  # type: ignore[assignment]


def claim_keys(conn: Connection, scope: str, keys: Iterable[str], fingerprint: str | None = None) -> set[str]:
    """Insert the keys not yet taken; returns those this transaction now owns. A key another open
    transaction has just inserted makes this statement wait for it (unique index): it is then
    either returned (the other rolled back) or not (it committed)."""
    rows = [{"scope": scope, "key": key, "fingerprint": fingerprint} for key in dict.fromkeys(keys)]
    if not rows:
        return set()
    statement = insert(KEYS).values(rows).on_conflict_do_nothing().returning(KEYS.c.key)
    return {str(key) for key in conn.execute(statement).scalars()}


def release_keys(conn: Connection, scope: str, keys: Iterable[str]) -> None:
    """Give claimed keys back (their message was rejected: nothing was stored under them)."""
    wanted = list(keys)
    if wanted:
        conn.execute(delete(KEYS).where(tuple_(KEYS.c.scope, KEYS.c.key).in_([(scope, k) for k in wanted])))


def read_key(conn: Connection, scope: str, key: str) -> Any:
    """The stored row of a committed key (fingerprint, status, body, location), or None."""
    columns = (KEYS.c.fingerprint, KEYS.c.status, KEYS.c.body, KEYS.c.location)
    return conn.execute(select(*columns).where(KEYS.c.scope == scope, KEYS.c.key == key)).first()


def record_answer(conn: Connection, scope: str, key: str, status: int, body: Any, location: str | None) -> None:
    conn.execute(update(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key)
                 .values(status=status, body=body, location=location))


def prune_keys(conn: Connection, older_than: timedelta) -> int:
    """Forget keys older than the retention; returns how many."""
    result = conn.execute(delete(KEYS).where(KEYS.c.created_at < func.now() - older_than))
    return int(result.rowcount or 0)
