"""Update: PATCH (merge; links changed by `@iot.id`), PUT (replace) and JSON PATCH (RFC 6902)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from sta_server.errors import InvalidEntity, MethodNotAllowed
from sta_server.model import EntityType, Kind
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize
from sta_server.service import hooks
from sta_server.service.body import ParsedBody, is_reference, may_be_null, parse_body
from sta_server.service.create import link_many, resolve_one
from sta_server.service.events import EntityChanged, record
from sta_server.service.observations import observation_streams, refresh_streams
from sta_server.service.ordered_links import (
    check_multi_datastream_update,
    check_ordered_links,
    drop_unchanged_ordered_links,
)
from sta_server.service.read import check_path, single_id
from sta_server.sql.write import read_row, update_row


def update(conn: Connection, path: ResourcePath, body: Any, *, replace: bool = False) -> int:
    """Apply a PATCH (or with `replace`, a PUT) to the entity at `path`; returns its id."""
    if path.prop is not None or path.ref or path.is_collection:
        raise MethodNotAllowed("PATCH and PUT are allowed on single entities only")
    authorize("update", path.entity_type.name)
    check_path(conn, path)
    ident = single_id(conn, path)
    update_entity(conn, path.entity_type, ident, body, path.version, replace=replace)
    return ident


def update_entity(conn: Connection, entity_type: EntityType, ident: int, body: Any, version: str,
                  *, replace: bool = False) -> None:
    authorize("update", entity_type.name)
    parsed = parse_body(entity_type, body, version)
    _check_links_by_id(parsed)
    drop_unchanged_ordered_links(conn, ident, parsed)
    check_ordered_links(parsed, update=True)
    cleared: set[str] = set()
    if replace:
        cleared = _clear_missing(entity_type, parsed.values, version)
    for link, value in parsed.links.values():
        if link.fk is not None:
            parsed.values[link.fk] = resolve_one(conn, link, value, version)
    if entity_type.name == "Observation" and parsed.links:
        _check_one_stream(conn, entity_type, ident, parsed.values)
    if entity_type.name == "MultiDatastream":
        check_multi_datastream_update(conn, ident, parsed.values)
    for prop in entity_type.properties:
        if (prop.required and prop.name in parsed.given and not may_be_null(prop)
                and all(parsed.values.get(c) is None for c in prop.columns())):
            raise InvalidEntity(f"'{prop.name}' may not be null", target=prop.name)
    before = observation_streams(conn, ident) if entity_type.name == "Observation" else None
    update_row(conn, entity_type, ident, parsed.values)
    for link, value in parsed.links.values():
        if link.many:
            link_many(conn, entity_type, ident, link, value, version, replace=True)
    hooks.after_update(conn, entity_type, ident, parsed)
    changed = frozenset(parsed.given) | frozenset(parsed.links) | frozenset(cleared)
    links = current_links(conn, entity_type, ident)
    record(conn, EntityChanged(entity_type, ident, "updated", changed, links))
    if before is not None:
        refresh_streams(conn, before | observation_streams(conn, ident))


def current_links(conn: Connection, entity_type: EntityType, ident: int) -> tuple[tuple[str, int], ...]:
    """The to-one links of a stored entity, as (link name, target id)."""
    links = [link for link in entity_type.links if link.fk is not None]
    if not links:
        return ()
    row = read_row(conn, entity_type, ident, *[link.fk for link in links if link.fk])
    if row is None:
        return ()
    return tuple((link.name, int(value)) for link, value in zip(links, row, strict=True) if value is not None)


def _check_links_by_id(parsed: ParsedBody) -> None:
    """An update may bind links by `@iot.id` only; nested entities are a 400 (18-088 10.3)."""
    for link, value in parsed.links.values():
        if not all(is_reference(item) for item in (value if link.many else [value])):
            raise InvalidEntity(f"'{link.name}' may only link existing entities by '@iot.id' in an "
                                "update", target=link.name)


def _check_one_stream(conn: Connection, entity_type: EntityType, ident: int, values: dict[str, Any]) -> None:
    """An Observation keeps exactly one of Datastream and MultiDatastream (MultiDatastreamTests test12)."""
    columns = ("datastream_id", "multi_datastream_id")
    stored = read_row(conn, entity_type, ident, *columns)
    streams = [values.get(column, stored[i] if stored else None) for i, column in enumerate(columns)]
    if sum(stream is not None for stream in streams) != 1:
        raise InvalidEntity("An Observation belongs to exactly one Datastream or MultiDatastream",
                            target="MultiDatastream" if streams[1] is not None else "Datastream")


def _clear_missing(entity_type: EntityType, values: dict[str, Any], version: str) -> set[str]:
    """PUT replaces: optional properties the body leaves out become null (their names are returned);
    required ones must be given."""
    cleared: set[str] = set()
    for prop in entity_type.visible_properties(version):
        if prop.read_only or prop.kind is Kind.ID or prop.columns()[0] in values:
            continue
        if prop.required:
            raise InvalidEntity(f"PUT needs every mandatory property: '{prop.name}' is missing",
                                target=prop.name)
        values.update({column: None for column in prop.columns()})
        cleared.add(prop.name)
    return cleared
