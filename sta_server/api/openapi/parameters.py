"""The query options as OpenAPI parameters, their grammar described (OGC 18-088 section 9.3)."""
from __future__ import annotations

from typing import Any

OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "filter": ("$filter", {"type": "string"}),
    "select": ("$select", {"type": "string"}),
    "expand": ("$expand", {"type": "string"}),
    "orderby": ("$orderby", {"type": "string"}),
    "top": ("$top", {"type": "integer", "minimum": 0}),
    "skip": ("$skip", {"type": "integer", "minimum": 0}),
    "count": ("$count", {"type": "boolean"}),
    "resultFormat": ("$resultFormat", {"type": "string", "enum": ["dataArray", "GeoJSON", "CSV", "SenML"]}),
    "skiptoken": ("$skiptoken", {"type": "string"}),
    "apply": ("$apply", {"type": "string"}),
}
GRAMMAR = {
    "filter": "An OData boolean expression over properties and paths through to-one links: "
              "comparison `eq ne gt ge lt le`, logic `and or not`, arithmetic `add sub mul div mod`, "
              "`in (…)`, `any()/all()` lambdas on to-many links, string, math, date and geo functions "
              "(`substringof`, `year`, `geo.distance`, `st_within`…), literals in OData syntax "
              "('text', 12, 1.5, true, null, 2024-01-01T00:00:00Z, geography'POINT(8.9 46)'). "
              "Example: `Datastream/Thing/name eq 'Battery 1' and result gt 10`.",
    "select": "Comma-separated properties and navigation links to write out; `properties/key` keeps one "
              "member of a JSON property. Example: `id,name,properties/radialId`.",
    "expand": "Comma-separated navigation links to include inline, each with its own options in "
              "parentheses separated by `;`, nested with `/` or `$expand`. Example: "
              "`Datastreams($filter=name eq 'P';$top=1;$expand=Observations($orderby=phenomenonTime desc))`.",
    "orderby": "Comma-separated expressions, each optionally `asc` or `desc`. Example: `phenomenonTime desc`.",
    "top": "At most this many entities (default and maximum set by the server).",
    "skip": "Leave out this many entities first.",
    "count": "`true` adds `@iot.count`, the number of entities matching the filter.",
    "resultFormat": "`dataArray` (Observations), `GeoJSON` (a FeatureCollection), `CSV` (streamed; without "
                    "$top the whole result), `SenML` (Observations). The Accept header chooses too.",
    "skiptoken": "Opaque token of a nextLink (key-set paging); copy it from `@iot.nextLink`.",
    "apply": "Server-side aggregation (OData Data Aggregation Extension): transformations separated by `/`: "
             "`filter(…)`, `compute(expr as x)`, `groupby((keys),aggregate(…))`, `aggregate(…)`, `fill()`; "
             "methods `sum average min max count countdistinct timeweighted delta`; time buckets "
             "`bucket(phenomenonTime,'PT1H','Europe/Rome')`. Example: "
             "`groupby((bucket(phenomenonTime,'PT1H','Europe/Rome') as hour),aggregate(result with average as avg))`."
             " Not combinable with $filter/$orderby/$select/$expand (use filter() inside). See docs/aggregation.md.",
}
COLLECTION = ("filter", "select", "expand", "orderby", "top", "skip", "count", "resultFormat", "skiptoken",
              "apply")
ENTITY = ("select", "expand", "resultFormat")


def components() -> dict[str, dict[str, Any]]:
    return {name: {"name": wire, "in": "query", "required": False, "schema": schema,
                   "description": GRAMMAR[name]} for name, (wire, schema) in OPTIONS.items()}


def refs(names: tuple[str, ...]) -> list[str]:
    """References by name (apispec writes them as `#/components/parameters/<name>`)."""
    return list(names)
