"""Reading Observations as `$resultFormat=dataArray` (OGC 18-088, section 13.1).

The page ($filter, $orderby, $skip, $top) is chosen exactly as for a normal collection read; its
rows are then grouped per Datastream / MultiDatastream in order of first appearance. `$count=true`
gives the total number of matching Observations (`@iot.count`), each group carries the number of
its rows on this page (`dataArray@iot.count`). Components are the $select-ed properties in the
order of $select (default: every property of the Observation, `id` first)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection

from sta_server.errors import InvalidQuery
from sta_server.model import REGISTRY, EntityType, NavLink, Property
from sta_server.model.selection import Selection
from sta_server.query.ast import Query
from sta_server.query.path import ResourcePath
from sta_server.query.validate import resolve_select
from sta_server.serialize.dataarray import StreamGroup, serialize_data_array
from sta_server.serialize.entity import JSON
from sta_server.service.context import RequestContext
from sta_server.service.read import check_path
from sta_server.sql import select as sql

DATA_ARRAY = "dataArray"
STREAM_LINKS = ("Datastream", "MultiDatastream")


def is_data_array(query: Query) -> bool:
    return query.result_format == DATA_ARRAY


def read_data_array(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> JSON:
    """The JSON body of a GET of Observations with `$resultFormat=dataArray`."""
    _check_request(path, query)
    check_path(conn, path)
    selection = resolve_select(path.entity_type, query.select, ctx.version)
    components = _components(path.entity_type, selection, query)
    links = _stream_links(path.entity_type, ctx.version)
    top = query.top if query.top is not None else ctx.default_top
    stmt = sql.collection_select(path, query, selection, top, links)
    rows = conn.execute(stmt).mappings().all()
    body: JSON = {}
    if query.count:
        body["@iot.count"] = conn.execute(sql.count_select(path, query)).scalar_one()
    if len(rows) > top:
        rows = rows[:top]
        body["@iot.nextLink"] = ctx.next_link(path.url_path(), query.skip + top, top)
    groups = group_by_stream(cast(Sequence[Mapping[str, Any]], rows), links, ctx)
    body["value"] = serialize_data_array(groups, components, selection)
    return body


def _check_request(path: ResourcePath, query: Query) -> None:
    if path.entity_type.name != "Observation" or not path.is_collection or path.ref:
        raise InvalidQuery("$resultFormat=dataArray applies to collections of Observations only",
                           target="$resultFormat")
    if query.expand:
        raise InvalidQuery("$expand cannot be combined with $resultFormat=dataArray", target="$expand")


def _components(entity_type: EntityType, selection: Selection, query: Query) -> tuple[Property, ...]:
    """The selected properties, in $select order; navigation links are no components."""
    if query.select is None:
        return selection.props
    if selection.links or not selection.props:
        raise InvalidQuery("With $resultFormat=dataArray, $select names Observation properties only",
                           target="$select")
    by_name = {prop.name: prop for prop in selection.props}
    ordered: dict[str, Property] = {}
    for path in query.select:
        prop = entity_type.prop(path.segments[0])
        if prop is not None and prop.name in by_name:
            ordered.setdefault(prop.name, prop)
    return tuple(ordered.values())


def _stream_links(entity_type: EntityType, version: str) -> tuple[NavLink, ...]:
    links = (entity_type.link(name) for name in STREAM_LINKS)
    return tuple(link for link in links if link is not None and link.since <= version)


def group_by_stream(rows: Sequence[Mapping[str, Any]], links: tuple[NavLink, ...],
                    ctx: RequestContext) -> list[StreamGroup]:
    """Rows grouped by the stream they belong to, groups in order of their first row."""
    groups: dict[tuple[str, int], StreamGroup] = {}
    for row in rows:
        link = next((link for link in links if row[f"{link.name}@id"] is not None), None)
        if link is None:
            continue  # unreachable: every Observation has exactly one stream (a table constraint)
        ident = int(row[f"{link.name}@id"])
        group = groups.get((link.name, ident))
        if group is None:
            url = ctx.links.self_link(REGISTRY.target(link), ident)
            group = groups[(link.name, ident)] = StreamGroup(link.name, url)
        group.rows.append(row)
    return list(groups.values())
