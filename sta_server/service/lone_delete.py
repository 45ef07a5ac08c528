"""A DELETE of one entity by its id (`Things(5)`) as ONE statement in autocommit mode, when the
delete is its row alone and the database's cascades (service/delete.py `plain`): the row and the
audit row in one query (sql/delete_row.py), so the statement is the transaction: no BEGIN, no
COMMIT, one round trip; a principal under row-level security gets its scoping in the same pipeline
(sql/precompiled.py). Anything else — a path through links, an entity whose delete refreshes
stream extents or removes dependents, a row missing or hidden from the principal, any database
error — is left to the rule set's path (service/delete.py) in a transaction of its own, which
answers exactly as before: nothing was deleted when this path declines."""
from __future__ import annotations

from sqlalchemy import Engine

from sta_server.errors import StaError
from sta_server.query.path import ResourcePath
from sta_server.security.audit import columns as audit_columns
from sta_server.security.principal import authorize, current
from sta_server.service.delete import plain
from sta_server.service.events import EntityChanged
from sta_server.service.one_statement import run_alone
from sta_server.sql.delete_row import delete_checked


def delete_alone(engine: Engine, path: ResourcePath) -> EntityChanged | None:
    """Delete the entity in one committed statement; its event, or None: declined, nothing deleted."""
    if (path.prop is not None or path.ref or path.is_collection or len(path.steps) != 1
            or path.last.id is None or not plain(path.entity_type)):
        return None
    try:
        authorize("delete", path.entity_type.name)
    except StaError:
        return None  # the rule set raises the same error
    principal = current()
    labels = None if principal.unrestricted else principal.grants
    ident = path.last.id
    audit = audit_columns(principal, "deleted", path.entity_type.name)
    row = run_alone(engine, lambda conn: delete_checked(conn, path.entity_type.name, ident, audit, labels),
                    lambda: f"a DELETE of {path.entity_type.plural}({ident})")
    if row is None:
        return None
    related = tuple((link.name, int(row[link.fk])) for link in path.entity_type.links
                    if link.fk is not None and row[link.fk] is not None)
    return EntityChanged(path.entity_type, int(row["id"]), "deleted", related=related)
