"""Delete with the spec's cascade (foreign keys ON DELETE CASCADE do the walking), plus what a
cascade cannot do: entities that require the deleted one through a link table (a MultiDatastream
its ObservedProperties), stream extents and orphaned HistoricalLocations."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, Connection

from sta_server.errors import MethodNotAllowed, NotFound
from sta_server.model import REGISTRY, EntityType, NavLink
from sta_server.query.path import ResourcePath
from sta_server.security.principal import authorize
from sta_server.service.events import EntityChanged, record
from sta_server.service.observations import Streams, refresh_streams, streams_where
from sta_server.service.read import check_path, single_id
from sta_server.service.update import current_links
from sta_server.sql import side_effects
from sta_server.sql.tables import TABLES
from sta_server.sql.write import delete_row, linked_ids

_observations = TABLES["observations"]


# Observations whose deletion changes the extents of the streams they belong to (not of streams the
# delete removes itself), by the deleted entity's type
_STREAM_ROWS: dict[str, Callable[[int], ColumnElement[bool]]] = {
    "Observation": lambda ident: _observations.c.id == ident,
    "FeatureOfInterest": lambda ident: _observations.c.feature_of_interest_id == ident,
}
_ORPHANING = frozenset({"Location"})  # its Things' HistoricalLocations may be left without a Location


def _affected_streams(conn: Connection, entity_type: EntityType, ident: int) -> Streams:
    """Streams whose Observations this delete removes, not counting streams it removes itself."""
    condition = _STREAM_ROWS.get(entity_type.name)
    return streams_where(conn, condition(ident)) if condition is not None else set()


def _dependent_links(entity_type: EntityType) -> list[NavLink]:
    """The many-to-many links whose other side needs this entity (deleted with it)."""
    return [link for link in entity_type.links if link.link_table is not None and REGISTRY.inverse(link).required]


def _delete_dependents(conn: Connection, entity_type: EntityType, ident: int) -> None:
    """Entities that need this one through a required many-to-many link go with it: deleting an
    ObservedProperty deletes the MultiDatastreams that observe it (and their Observations)."""
    for link in _dependent_links(entity_type):
        target = REGISTRY.target(link)
        for dependent in linked_ids(conn, link, ident):
            delete_entity(conn, target, dependent)


def plain(entity_type: EntityType) -> bool:
    """A delete that is its row alone, the rest the database's cascades: no dependents through
    link tables, no stream extents to refresh, no orphaned HistoricalLocations
    (service/lone_delete.py runs these as one statement)."""
    return (entity_type.name not in _STREAM_ROWS and entity_type.name not in _ORPHANING
            and not _dependent_links(entity_type))


def delete(conn: Connection, path: ResourcePath) -> None:
    if path.prop is not None or path.ref or path.is_collection:
        raise MethodNotAllowed("DELETE is allowed on single entities only")
    authorize("delete", path.entity_type.name)
    missing = NotFound(f"Nothing found at {path.url_path()}", target=path.url_path())
    if len(path.steps) == 1 and path.last.id is not None:  # `Things(5)`: the DELETE itself tells
        delete_entity(conn, path.entity_type, path.last.id, missing)
        return
    check_path(conn, path)
    delete_entity(conn, path.entity_type, single_id(conn, path), missing)


def delete_entity(conn: Connection, entity_type: EntityType, ident: int, missing: NotFound | None = None) -> None:
    """Delete one entity (404: `missing`, when it does not exist or the principal cannot see it)."""
    authorize("delete", entity_type.name)
    _delete_dependents(conn, entity_type, ident)
    streams = _affected_streams(conn, entity_type, ident)
    related = current_links(conn, entity_type, ident)
    if not delete_row(conn, entity_type, ident):
        raise missing or NotFound(f"No {entity_type.name} with id {ident}")
    if entity_type.name in _ORPHANING:
        side_effects.delete_orphan_historical_locations(conn)
    refresh_streams(conn, streams)
    record(conn, EntityChanged(entity_type, ident, "deleted", related=related))
