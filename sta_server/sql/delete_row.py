"""One entity deleted with its audit row in ONE statement, one round trip (a DELETE whose only side
effects are the database's own cascades, service/lone_delete.py): the `DELETE … RETURNING` of the
row and the audit row's INSERT as data-modifying CTEs of one query, run precompiled on the driver in
autocommit mode (sql/precompiled.py), under row-level security when the principal is scoped."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, select
from sqlalchemy.engine.interfaces import Dialect

from sta_server.model import REGISTRY
from sta_server.sql import precompiled
from sta_server.sql.relations import table_of
from sta_server.sql.security_tables import AuditRecord
from sta_server.sql.tables import TABLES

_audit = TABLES[AuditRecord.__tablename__]


def delete_checked(conn: Connection, entity_type: str, ident: int, audit: Mapping[str, Any],
                   scoped_labels: Iterable[str] | None = None) -> dict[str, Any] | None:
    """Delete the entity and write its audit row (`audit`: column -> value, without the ids);
    the deleted row's to-one link columns (foreign keys) or None when no row was deleted (missing,
    or hidden from the scoped principal: nothing written). `conn` must be in autocommit mode."""
    statement = _precompiled(entity_type, tuple(sorted(audit)), conn.dialect)
    params = {"ident": ident, **{f"audit_{name}": value for name, value in audit.items()}}
    return precompiled.fetch_one(conn, statement, params, scoped_labels)


@cache
def _precompiled(entity_type: str, audit_columns: tuple[str, ...], dialect: Dialect) -> precompiled.Precompiled:
    return precompiled.Precompiled.of(_statement(entity_type, audit_columns), dialect)


def _statement(entity_type: str, audit_columns: tuple[str, ...]) -> Select[Any]:
    table = table_of(REGISTRY.type(entity_type))
    fks = [link.fk for link in REGISTRY.type(entity_type).links if link.fk is not None]
    gone = delete(table).where(table.c.id == bindparam("ident")).returning(
        table.c.id, *[table.c[fk] for fk in fks]).cte("gone")
    trail = insert(_audit).from_select(
        [*audit_columns, "entity_ids"],
        select(*[bindparam(f"audit_{name}", type_=_audit.c[name].type) for name in audit_columns],
               func.array_agg(gone.c.id)).select_from(gone).having(func.count() > 0)).cte("trail")
    return select(*gone.c).add_cte(trail)
