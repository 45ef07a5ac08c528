"""Generic row writes: insert, update, delete, link and unlink (bound parameters only)."""
from __future__ import annotations

from functools import cache
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import Connection, Text, bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sta_server.model import REGISTRY, EntityType, Kind, NavLink
from sta_server.sql.relations import table_of
from sta_server.sql.tables import TABLES


def _sql_values(entity_type: EntityType, values: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON geometry columns are filled by PostGIS from the GeoJSON text."""
    out = dict(values)
    for prop in entity_type.properties:
        if prop.kind is Kind.GEOJSON and prop.column + "_geom" in out:
            text = out[prop.column + "_geom"]
            out[prop.column + "_geom"] = (
                geo.ST_SetSRID(geo.ST_GeomFromGeoJSON(text), 4326) if text is not None else None
            )
    return out


def insert_row(conn: Connection, entity_type: EntityType, values: dict[str, Any]) -> int:
    """One row; the statement is built once per entity type and set of given columns."""
    geometries = frozenset(prop.column + "_geom" for prop in entity_type.properties
                           if prop.kind is Kind.GEOJSON and values.get(prop.column + "_geom") is not None)
    stmt = _insert_statement(entity_type.name, tuple(sorted(values)), geometries)
    return int(conn.execute(stmt, {f"new_{name}": value for name, value in values.items()}).scalar_one())


@cache
def _insert_statement(type_name: str, columns: tuple[str, ...], geometries: frozenset[str]) -> Any:
    """`INSERT … RETURNING id` with a bound parameter `new_<column>` per column; the GeoJSON
    geometry columns in `geometries` are filled by PostGIS from the GeoJSON text (_sql_values)."""
    table = table_of(REGISTRY.type(type_name))
    values: dict[str, Any] = {}
    for name in columns:
        param = bindparam(f"new_{name}", type_=Text() if name in geometries else table.c[name].type)
        values[name] = geo.ST_SetSRID(geo.ST_GeomFromGeoJSON(param), 4326) if name in geometries else param
    return insert(table).values(values).returning(table.c.id)


def update_row(conn: Connection, entity_type: EntityType, ident: int, values: dict[str, Any]) -> None:
    if values:
        table = table_of(entity_type)
        conn.execute(update(table).where(table.c.id == ident).values(_sql_values(entity_type, values)))


def delete_row(conn: Connection, entity_type: EntityType, ident: int) -> bool:
    table = table_of(entity_type)
    return conn.execute(delete(table).where(table.c.id == ident)).rowcount > 0


def row_exists(conn: Connection, entity_type: EntityType, ident: int) -> bool:
    table = table_of(entity_type)
    return bool(conn.execute(select(exists().where(table.c.id == ident))).scalar())


def read_row(conn: Connection, entity_type: EntityType, ident: int, *columns: str) -> Any:
    table = table_of(entity_type)
    return conn.execute(select(*[table.c[c] for c in columns]).where(table.c.id == ident)).first()


def add_link(conn: Connection, link: NavLink, this_id: int, other_id: int, rank: int = 0) -> None:
    """Many-to-many: link two entities (idempotent)."""
    assert link.link_table and link.this_column and link.other_column
    values: dict[str, Any] = {link.this_column: this_id, link.other_column: other_id}
    if link.order_column:
        values[link.order_column] = rank
    conn.execute(pg_insert(TABLES[link.link_table]).values(values).on_conflict_do_nothing())


def linked_ids(conn: Connection, link: NavLink, this_id: int) -> list[int]:
    """Many-to-many: the ids linked to `this_id` over `link` (each once)."""
    assert link.link_table and link.this_column and link.other_column
    pairs = TABLES[link.link_table]
    rows = conn.execute(select(pairs.c[link.other_column]).where(pairs.c[link.this_column] == this_id).distinct())
    return [int(row[0]) for row in rows]


def ordered_link_ids(conn: Connection, link: NavLink, this_id: int) -> list[int]:
    """An ordered many-to-many link (`link.order_column`): the linked ids in order, repeats kept."""
    assert link.link_table and link.this_column and link.other_column and link.order_column
    pairs = TABLES[link.link_table]
    rows = conn.execute(select(pairs.c[link.other_column]).where(pairs.c[link.this_column] == this_id)
                        .order_by(pairs.c[link.order_column]))
    return [int(row[0]) for row in rows]


def clear_links(conn: Connection, link: NavLink, this_id: int) -> None:
    assert link.link_table and link.this_column
    pairs = TABLES[link.link_table]
    conn.execute(delete(pairs).where(pairs.c[link.this_column] == this_id))


def set_owner(conn: Connection, child_type: EntityType, fk: str, child_id: int, owner_id: int) -> None:
    """One-to-many from the 'many' side: point an existing child at its new owner."""
    table = table_of(child_type)
    conn.execute(update(table).where(table.c.id == child_id).values({fk: owner_id}))
