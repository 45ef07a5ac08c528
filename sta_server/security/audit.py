"""The audit trail ("object memory"): who created, changed or deleted which entity, when, through
which channel. Written in the same transaction as the change (a rolled-back change leaves no
record): one row per action and entity type of a transaction, with the ids it touched, so that an
MQTT batch of 10,000 Observations is one row, not 10,000. Readable by admins at `GET /v1.1/AuditRecords`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, RowMapping, insert, select

from sta_server.errors import BadRequest, Forbidden
from sta_server.model import EntityType
from sta_server.security.principal import Principal, current
from sta_server.sql.security_tables import AuditRecord
from sta_server.sql.tables import TABLES

records = TABLES[AuditRecord.__tablename__]
# query parameter -> column: `GET /v1.1/AuditRecords?actor=…` (also described in the OpenAPI document)
FILTERS = {"actor": records.c.actor, "role": records.c.role, "channel": records.c.channel,
           "action": records.c.action, "entityType": records.c.entity_type}
MAX_PAGE = 1000


def columns(actor: Principal, action: str, entity_type: str) -> dict[str, Any]:
    """An audit row's columns but its ids and detail."""
    return {"actor": actor.name, "role": actor.role, "channel": actor.channel, "action": action,
            "entity_type": entity_type}


def record(conn: Connection, actor: Principal, action: str, entity_type: str, ids: Iterable[int],
           detail: Mapping[str, Any] | None) -> None:
    conn.execute(insert(records).values(actor=actor.name, role=actor.role, channel=actor.channel,
                                        action=action, entity_type=entity_type, entity_ids=list(ids),
                                        detail=dict(detail) if detail is not None else None))


class Change(Protocol):
    """What the trail needs of a change: service/events.py's EntityChanged (the service layer
    imports this module, so this module does not import it)."""

    @property
    def entity_type(self) -> EntityType: ...
    @property
    def id(self) -> int: ...
    @property
    def change(self) -> str: ...


def record_events(conn: Connection, events: Sequence[Change]) -> None:
    """The events a transaction recorded, as audit rows of the current principal."""
    if not events:
        return
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in events:
        grouped[(event.change, event.entity_type.name)].append(event.id)
    actor = current()
    rows = [{**columns(actor, change, entity_type), "entity_ids": ids, "detail": None}
            for (change, entity_type), ids in grouped.items()]
    # inline: no id fetched first (one round trip for a single row, a cached statement)
    conn.execute(insert(records).inline(), rows[0] if len(rows) == 1 else rows)


def read_page(conn: Connection, params: Mapping[str, str], base_url: str) -> dict[str, Any]:
    """`GET /v1.1/AuditRecords?entityType=Thing&entityId=5&actor=…&since=…&until=…&$top=&$skip=`,
    newest first. Administrators only."""
    principal = current()
    if not principal.unrestricted:
        raise Forbidden("The audit trail is readable by administrators only")
    stmt = select(records)
    for name, column in FILTERS.items():
        if name in params:
            stmt = stmt.where(column == params[name])
    if "entityId" in params:
        stmt = stmt.where(records.c.entity_ids.contains([_int(params, "entityId")]))
    for name, op in (("since", "__ge__"), ("until", "__lt__")):
        if name in params:
            stmt = stmt.where(getattr(records.c.at, op)(_time(params, name)))
    top = min(_int(params, "$top", 100), MAX_PAGE)
    skip = _int(params, "$skip", 0)
    rows = conn.execute(stmt.order_by(records.c.id.desc()).offset(skip).limit(top + 1)).mappings().all()
    body: dict[str, Any] = {"value": [_json(row) for row in rows[:top]]}
    if len(rows) > top:
        rest = "&".join(f"{k}={v}" for k, v in params.items() if k not in ("$top", "$skip"))
        body["@iot.nextLink"] = f"{base_url}/AuditRecords?$top={top}&$skip={skip + top}" + (f"&{rest}" if rest else "")
    return body


def _json(row: RowMapping) -> dict[str, Any]:
    return {"id": row["id"], "at": row["at"].isoformat().replace("+00:00", "Z"), "actor": row["actor"],
            "role": row["role"], "channel": row["channel"], "action": row["action"],
            "entityType": row["entity_type"], "entityIds": list(row["entity_ids"]), "detail": row["detail"]}


def _int(params: Mapping[str, str], name: str, default: int | None = None) -> int:
    if name not in params and default is not None:
        return default
    try:
        value = int(params[name])
    except (KeyError, ValueError):
        raise BadRequest(f"'{name}' must be a non-negative integer", target=name) from None
    if value < 0:
        raise BadRequest(f"'{name}' must be a non-negative integer", target=name)
    return value


def _time(params: Mapping[str, str], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(params[name].replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"'{name}' must be an ISO 8601 time", target=name) from None
    if value.tzinfo is None:
        raise BadRequest(f"'{name}' needs a time zone", target=name)
    return value
