"""Which format a GET answers in, and the reads behind each non-JSON format.

`$resultFormat` wins (`dataArray`, `GeoJSON`, `CSV`, `SenML`; the last three in any letter case);
without it the Accept header chooses among application/json (the default, also for `*/*`),
application/geo+json, text/csv, application/senml+json and application/senml+cbor. Another
`$resultFormat` is a 400. Formats other than JSON apply to entities and collections, not to
properties, `$value` or `$ref`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from sta_server.errors import InvalidQuery
from sta_server.query.ast import Expand, Path, Query
from sta_server.query.options import parse_query
from sta_server.query.path import ResourcePath
from sta_server.serialize import csv_rows, geojson, senml
from sta_server.service.context import RequestContext
from sta_server.service.data_array import DATA_ARRAY, read_data_array
from sta_server.service.read import check_expands, check_path, read
from sta_server.service.senml import read_records
from sta_server.service.stream import flat_columns, has_more, stream_entities

JSON_TYPE = "application/json"
BY_NAME = {"geojson": "GeoJSON", "csv": "CSV", "senml": "SenML"}
BY_MEDIA_TYPE = {geojson.MEDIA_TYPE: "GeoJSON", csv_rows.MEDIA_TYPE: "CSV",
                 senml.JSON_TYPE: "SenML", senml.CBOR_TYPE: "SenML-CBOR"}


@dataclass
class Formatted:
    """A body in a format: JSON data (content_type None) or text/bytes/an iterator of text."""

    body: Any
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def choose_format(params: dict[str, str], accept: str) -> str:
    """`JSON`, `dataArray`, `GeoJSON`, `CSV`, `SenML` or `SenML-CBOR`."""
    given = params.get("$resultFormat")
    if given is not None:
        name = given.strip()
        if name == DATA_ARRAY:
            return DATA_ARRAY
        if name.lower() not in BY_NAME:
            raise InvalidQuery(f"Unknown $resultFormat '{given}'; use dataArray, GeoJSON, CSV or SenML",
                               target="$resultFormat")
        return BY_NAME[name.lower()]
    if not accept:
        return "JSON"
    best = parse_accept_header(accept, MIMEAccept).best_match([JSON_TYPE, *BY_MEDIA_TYPE])
    return BY_MEDIA_TYPE.get(best or JSON_TYPE, "JSON")


def read_formatted(conn: Connection, path: ResourcePath, ctx: RequestContext, accept: str) -> Formatted | None:
    """The body of a GET in the chosen format; None for plain JSON."""
    name = choose_format(dict(ctx.params), accept)
    if name == "JSON":
        return None
    if path.prop is not None or path.ref:
        raise InvalidQuery(f"{name} applies to entities and collections only", target="$resultFormat")
    streamed = name == "CSV"
    query = parse_query(ctx.params, max_top=ctx.max_csv_rows if streamed else ctx.max_top,
                        max_expand_depth=ctx.max_expand_depth)
    return READERS[name](conn, path, query, ctx)


def _data_array(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> Formatted:
    return Formatted(read_data_array(conn, path, query, ctx))


def _geojson(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> Formatted:
    type_name = path.entity_type.name
    query, hidden = geometry_query(type_name, query)
    body = read(conn, path, query, ctx)
    if path.is_collection:
        data = geojson.serialize_collection(body, type_name, hidden)
    else:
        data = geojson.serialize_feature(body, type_name, hidden)
    return Formatted(json.dumps(data), geojson.MEDIA_TYPE)


def geometry_query(type_name: str, query: Query) -> tuple[Query, frozenset[str]]:
    """The query with what the geometry needs (its property selected, its link expanded), and
    the members added only for that (to be left out of the Feature's properties)."""
    source = geojson.GEOMETRY_SOURCES.get(type_name)
    if source is None:
        return query, frozenset()
    needed = Path((source.prop,))
    if source.link is None:
        if query.select is not None and needed not in query.select:
            query = replace(query, select=(*query.select, needed))
        return query, frozenset()
    expanded = next((e for e in query.expand if e.link == source.link), None)
    if expanded is None:
        extra = Expand(source.link, Query(select=(needed,)))
        return replace(query, expand=(*query.expand, extra)), frozenset({source.link})
    if expanded.query.select is not None and needed not in expanded.query.select:
        inner = replace(expanded.query, select=(*expanded.query.select, needed))
        expands = tuple(replace(e, query=inner) if e is expanded else e for e in query.expand)
        query = replace(query, expand=expands)
    return query, frozenset()


def _csv(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext) -> Formatted:
    if not path.is_collection:
        raise InvalidQuery("$resultFormat=CSV applies to collections", target="$resultFormat")
    check_path(conn, path)
    check_expands(path.entity_type, query.expand, ctx.version)
    columns = flat_columns(path.entity_type, query, ctx.version)
    query, headers = _csv_bound(conn, path, query, ctx)
    chunks = stream_entities(conn.engine, path, query, ctx)
    return Formatted(csv_rows.write_csv(columns, chunks), f"{csv_rows.MEDIA_TYPE}; charset=utf-8", headers)


def _csv_bound(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext
               ) -> tuple[Query, dict[str, str]]:
    """A CSV without `$top` stops after `max_csv_rows` rows, with a Link to the rest when cut."""
    limit = ctx.max_csv_rows
    if query.top is not None or limit is None:
        return query, {}
    if query.skiptoken:
        raise InvalidQuery("$resultFormat=CSV with $skiptoken needs $top", target="$top")
    query = replace(query, top=limit)
    if not has_more(conn, path, query, ctx, limit):
        return query, {}
    return query, {"Link": f'<{ctx.next_link(path.url_path(), query.skip + limit, limit)}>; rel="next"'}


def _senml_pack(conn: Connection, path: ResourcePath, query: Query, ctx: RequestContext,
                cbor: bool) -> Formatted:
    records, next_link = read_records(conn, path, query, ctx)
    pack = senml.serialize_pack(records)
    headers = {"Link": f'<{next_link}>; rel="next"'} if next_link else {}
    if cbor:
        import cbor2

        return Formatted(cbor2.dumps(senml.to_cbor_labels(pack)), senml.CBOR_TYPE, headers)
    return Formatted(json.dumps(pack), senml.JSON_TYPE, headers)


READERS: dict[str, Callable[[Connection, ResourcePath, Query, RequestContext], Formatted]] = {
    DATA_ARRAY: _data_array,
    "GeoJSON": _geojson,
    "CSV": _csv,
    "SenML": lambda conn, path, query, ctx: _senml_pack(conn, path, query, ctx, cbor=False),
    "SenML-CBOR": lambda conn, path, query, ctx: _senml_pack(conn, path, query, ctx, cbor=True),
}
