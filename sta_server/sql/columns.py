"""Properties as SQL expressions: the columns a read selects, and the value a filter or sort uses."""
from __future__ import annotations

from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import ColumnElement, FromClause, cast, func
from sqlalchemy.dialects.postgresql import JSONB

from sta_server.model import EntityType, Kind, Property


def read_columns(entity_type: EntityType, table: FromClause,
                 props: tuple[Property, ...]) -> list[ColumnElement[Any]]:
    """Labelled columns for serialize/entity.py: `<name><suffix>` for each read suffix of a kind."""
    columns: list[ColumnElement[Any]] = []
    for prop in props:
        if prop.kind is Kind.AREA:
            geojson = cast(geo.ST_AsGeoJSON(table.c[prop.column]), JSONB)
            columns.append(geojson.label(prop.name))
            continue
        for suffix in prop.kind.read_suffixes:
            columns.append(table.c[prop.column + suffix].label(prop.name + suffix))
    return columns


def value_expr(prop: Property, table: FromClause) -> ColumnElement[Any]:
    """The single SQL value a property stands for in $filter and $orderby.

    Intervals compare by their start (FROST does the same for ordering); results by their number
    when they have one, else by their JSON text."""
    if prop.kind in (Kind.INTERVAL, Kind.TIME):
        return table.c[prop.column + "_start"]
    if prop.kind is Kind.RESULT:
        return table.c[prop.column + "_number"]
    if prop.kind is Kind.GEOJSON:
        return table.c[prop.column + "_geom"]
    return table.c[prop.column]


def interval_end(prop: Property, table: FromClause) -> ColumnElement[Any]:
    """The end of an interval property; an instant's end is its start."""
    return func.coalesce(table.c[prop.column + "_end"], table.c[prop.column + "_start"])
