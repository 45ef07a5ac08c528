"""Create: POST to an entity set or navigation collection, with deep insert and linking by id."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping

from sta_server.errors import IncompleteEntity, InvalidEntity, MethodNotAllowed, StaError
from sta_server.model import REGISTRY, EntityType, NavLink
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize
from sta_server.service import bulk, hooks
from sta_server.service.body import JSON, ParsedBody, is_reference, parse_body, reference_id
from sta_server.service.events import EntityChanged, record, remember_created
from sta_server.service.read import single_id
from sta_server.sql.write import (
    add_link,
    clear_links,
    insert_row,
    insert_row_read,
    insert_with_parents,
    read_row,
    row_exists,
    set_owner,
)


def create(conn: Connection, path: ResourcePath, body: Any) -> int:
    """Create the entity a POST body describes at `path`; returns its id."""
    if path.prop is not None or path.ref:
        raise MethodNotAllowed("POST is allowed on collections only")
    if not path.is_collection:
        raise MethodNotAllowed("POST is allowed on collections only; use PATCH to change an entity")
    if path.last.link is not None:  # the parent's id: 404 when any entity on the path is missing
        if not isinstance(body, dict):
            raise IncompleteEntity(f"A {path.entity_type.name} must be a JSON object")
        parent = ResourcePath(path.version, path.steps[:-1])
        parent_id = single_id(conn, parent)  # seen (under the caller's rights) just now
        body = _with_parent(body, path.last.link, parent_id)
        return create_entity(conn, path.entity_type, body, path.version,
                             seen=frozenset({(parent.entity_type.name, parent_id)}), answer=True)
    return create_entity(conn, path.entity_type, body, path.version, answer=True)


def _with_parent(body: JSON, link: NavLink, parent_id: int) -> JSON:
    """POST Things(1)/Datastreams is POST Datastreams with `"Thing": {"@iot.id": 1}`."""
    inverse = REGISTRY.inverse(link)
    ref = {"@iot.id": parent_id}
    body = dict(body)
    if inverse.many:
        existing = body.get(inverse.name) or []
        body[inverse.name] = [*existing, ref] if isinstance(existing, list) else [ref]
    else:
        given = body.get(inverse.name)
        if given is not None and not (is_reference(given) and reference_id(given, inverse.name) == parent_id):
            raise InvalidEntity(f"'{inverse.name}' names another {inverse.target} than the path",
                                target=inverse.name)  # FROST AdditionalTests test06
        body[inverse.name] = ref
    return body


def create_entity(conn: Connection, entity_type: EntityType, body: Any, version: str,
                  seen: frozenset[tuple[str, int]] = frozenset(), answer: bool = False) -> int:
    """`seen`: (type name, id) of entities this request has just found, not looked up again;
    `answer`: the request answers this entity (its row is kept for the answer when nothing the
    request creates with it changes the row: `remember_created`)."""
    if entity_type is bulk.OBSERVATION:
        return create_observation(conn, body, version, seen)
    authorize("create", entity_type.name)
    parsed = parse_body(entity_type, body, version)
    parents: dict[str, tuple[EntityType, ParsedBody]] = {}
    row: RowMapping | None = None
    for link in entity_type.links:
        if link.fk is not None and link.name in parsed.links:
            folded = _new_parent(conn, entity_type, link, parsed.links[link.name][1], version)
            if folded is not None:
                parents[link.fk] = folded
            else:
                parsed.values[link.fk] = resolve_one(conn, link, parsed.links[link.name][1], version, seen)
    hooks.before_insert(conn, entity_type, parsed)
    _check_complete(entity_type, parsed, frozenset(parents))
    if parents:
        ident, parent_ids = insert_with_parents(conn, entity_type, parsed.values,
                                                {fk: (t, p.values) for fk, (t, p) in parents.items()})
        for fk, (parent_type, parent) in parents.items():
            parsed.values[fk] = parent_ids[fk]
            record(conn, EntityChanged(parent_type, parent_ids[fk], "created",
                                       related=related_ids(parent_type, parent)))
    elif answer and "Observations" not in parsed.links:  # new Observations grow their stream's row
        row = insert_row_read(conn, entity_type, parsed.values, version)
        ident = int(row["id"])
    else:
        ident = insert_row(conn, entity_type, parsed.values)
    for link, value in parsed.links.values():
        if link.many:
            link_many(conn, entity_type, ident, link, value, version, replace=False)
    hooks.after_insert(conn, entity_type, ident, parsed)
    record(conn, EntityChanged(entity_type, ident, "created", related=related_ids(entity_type, parsed)))
    if row is not None:
        remember_created(conn, entity_type, ident, row)
    return ident


def _new_parent(conn: Connection, child_type: EntityType, link: NavLink, value: Any,
                version: str) -> tuple[EntityType, ParsedBody] | None:
    """A new entity a to-one link of a new entity creates (a Datastream's new Sensor), parsed and
    checked, when it can be inserted in the child's own statement (sql/write.py
    `insert_with_parents`): it links nothing itself and neither it (after insert) nor the child
    (before insert: it may read the link) has a hook that needs its id. None: create it first."""
    target = REGISTRY.target(link)
    if (not isinstance(value, dict) or is_reference(value) or hooks.has_before_insert(child_type)
            or hooks.has_after_insert(target) or target is bulk.OBSERVATION):
        return None
    authorize("create", target.name)
    parsed = parse_body(target, value, version)
    if parsed.links:
        return None
    hooks.before_insert(conn, target, parsed)
    _check_complete(target, parsed)
    return target, parsed


def create_observation(conn: Connection, body: Any, version: str,
                       seen: frozenset[tuple[str, int]] = frozenset()) -> int:
    """An Observation by the one rule set (service/bulk.py), once its nested new Datastream,
    MultiDatastream or FeatureOfInterest (a deep insert) exist and are linked by id. A database
    error is raised, not isolated: it fails the request (or the change set) anyway."""
    authorize("create", "Observation")
    if isinstance(body, dict):
        body = dict(body)
        for link in bulk.OBSERVATION.links:
            value = body.get(link.name)
            if link.fk is not None and isinstance(value, dict) and not is_reference(value) and link.since <= version:
                body[link.name] = {"@iot.id": resolve_one(conn, link, value, version)}
    outcome = bulk.create_observations(conn, [(None, body)], version, isolate=False, seen=seen).outcomes[0]
    if isinstance(outcome, StaError):
        raise outcome
    return outcome


def related_ids(entity_type: EntityType, parsed: ParsedBody) -> tuple[tuple[str, int], ...]:
    """The to-one links an event can be routed by (`Datastream` 7 -> `Datastreams(7)/Observations`)."""
    return tuple((link.name, int(parsed.values[link.fk])) for link in entity_type.links
                 if link.fk is not None and parsed.values.get(link.fk) is not None)


def _check_complete(entity_type: EntityType, parsed: ParsedBody, pending: frozenset[str] = frozenset()) -> None:
    """`pending`: foreign keys whose new target is inserted with the row."""
    for prop in entity_type.properties:
        if prop.required and all(parsed.values.get(c) is None for c in prop.columns()):
            raise IncompleteEntity(f"{entity_type.name} needs '{prop.name}'", target=prop.name)
    for link in entity_type.links:
        if link.required and link.fk is not None and parsed.values.get(link.fk) is None and link.fk not in pending:
            raise IncompleteEntity(f"{entity_type.name} needs a {link.name}", target=link.name)
        if link.required and link.many and not parsed.links.get(link.name, (None, []))[1]:
            raise IncompleteEntity(f"{entity_type.name} needs {link.name}", target=link.name)


def resolve_one(conn: Connection, link: NavLink, value: JSON, version: str,
                seen: frozenset[tuple[str, int]] = frozenset()) -> int:
    """The id of a to-one link's target: an existing entity by `@iot.id`, or a new one."""
    target = REGISTRY.target(link)
    if is_reference(value):
        ident = reference_id(value, link.name)
        if (target.name, ident) not in seen and not row_exists(conn, target, ident):
            raise InvalidEntity(f"No {target.name} with id {ident}", target=link.name)
        return ident
    return create_entity(conn, target, value, version)


def link_many(conn: Connection, entity_type: EntityType, ident: int, link: NavLink, items: list[JSON],
              version: str, *, replace: bool) -> None:
    """Link (existing) or create the entities of a to-many link."""
    target = REGISTRY.target(link)
    inverse = REGISTRY.inverse(link)
    if link.link_table is not None and replace:
        clear_links(conn, link, ident)
    for rank, item in enumerate(items):
        if is_reference(item):
            child = reference_id(item, link.name)
            if not row_exists(conn, target, child):
                raise InvalidEntity(f"No {target.name} with id {child}", target=link.name)
            if inverse.fk is not None:
                set_owner(conn, target, inverse.fk, child, ident)
                _moved(conn, target, child, inverse.name)
        elif inverse.fk is not None:  # the parent was created just now: not looked up again
            create_entity(conn, target, {**item, inverse.name: {"@iot.id": ident}}, version,
                          seen=frozenset({(entity_type.name, ident)}))
            continue
        else:
            child = create_entity(conn, target, item, version)
        if link.link_table is not None:
            add_link(conn, link, ident, child, rank)


def _moved(conn: Connection, entity_type: EntityType, ident: int, link_name: str) -> None:
    """An existing entity given a new owner by a deep insert or a PATCH of the owner (`"Datastreams":
    [{"@iot.id": 5}]` moves Datastream 5): an update of it, audited and notified like a PATCH."""
    links = [link for link in entity_type.links if link.fk is not None]
    row = read_row(conn, entity_type, ident, *[link.fk for link in links if link.fk])
    related = tuple((link.name, int(value)) for link, value in zip(links, row or (), strict=False)
                    if value is not None)
    record(conn, EntityChanged(entity_type, ident, "updated", frozenset({link_name}), related))
