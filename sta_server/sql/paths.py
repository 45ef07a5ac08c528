"""Member paths of $filter/$orderby (`Datastream/Thing/name`, `properties/radialId`) to typed SQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Text, literal
from sqlalchemy.dialects.postgresql import ARRAY

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY, EntityType, Kind, NavLink, Property
from sta_server.sql.relations import link_condition, table_of
from sta_server.sql.tables import TABLES
from sta_server.sql.typed import SqlType, Typed

Joins = list[tuple[FromClause, ColumnElement[bool]]]

_SCALAR_TYPES: dict[Kind, SqlType] = {
    Kind.ID: "number", Kind.STRING: "string", Kind.JSON: "json", Kind.GEOJSON: "geometry",
    Kind.AREA: "geometry", Kind.INSTANT: "datetime",
}


def link_joins(link: NavLink, source: FromClause, target: FromClause) -> Joins:
    """The FROM items and conditions that reach `target` from a row of `source` over `link`.

    A many-to-many link joins an alias of its link table instead of using relations.link_condition
    (a nested EXISTS there would not correlate with `source` two levels up)."""
    if link.link_table is None:
        return [(target, link_condition(link, source, target))]
    assert link.this_column and link.other_column
    pairs = TABLES[link.link_table].alias()
    return [(pairs, pairs.c[link.this_column] == source.c.id),
            (target, pairs.c[link.other_column] == target.c.id)]


def resolve_path(start: tuple[EntityType, FromClause], segments: tuple[str, ...], version: str,
                 scope: Joins) -> Typed:
    """Walk navigation links (adding aliased joins to `scope`), then a property, then JSON keys."""
    entity_type, table = start
    index = 0
    while index < len(segments):
        link = entity_type.link(segments[index])
        if link is None or link.since > version:
            break
        target_type = REGISTRY.target(link)
        target = table_of(target_type).alias()
        scope.extend(link_joins(link, table, target))
        entity_type, table = target_type, target
        index += 1
    if index == len(segments):
        raise InvalidQuery(f"'{'/'.join(segments)}' ends at an entity, not at a property")
    prop = entity_type.prop(segments[index])
    if prop is None or prop.since > version:
        raise InvalidQuery(f"{entity_type.name} has no property '{segments[index]}'",
                           target="/".join(segments))
    return _property_value(prop, table, segments[index + 1:])


def _property_value(prop: Property, table: FromClause, keys: tuple[str, ...]) -> Typed:
    if keys:
        if prop.kind is Kind.RESULT:
            return Typed(_json_path(table.c[prop.column + "_json"], keys), "json")
        if prop.kind is Kind.JSON:
            return Typed(_json_path(table.c[prop.column], keys), "json")
        raise InvalidQuery(f"'{prop.name}' has no members: '{'/'.join(keys)}'")
    if prop.kind is Kind.RESULT:
        return Typed(table.c[prop.column + "_number"], "result", json=table.c[prop.column + "_json"])
    if prop.kind in (Kind.INTERVAL, Kind.TIME):
        return Typed(table.c[prop.column + "_start"], "interval", end=table.c[prop.column + "_end"])
    if prop.kind is Kind.GEOJSON:
        return Typed(table.c[prop.column + "_geom"], "geometry")
    return Typed(table.c[prop.column], _SCALAR_TYPES[prop.kind])


def _json_path(column: ColumnElement[Any], keys: tuple[str, ...]) -> ColumnElement[Any]:
    return column.op("#>")(literal(list(keys), type_=ARRAY(Text)))
