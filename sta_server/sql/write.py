"""Generic row writes: insert, update, delete, link and unlink (bound parameters only)."""
from __future__ import annotations

from functools import cache
from typing import Any

from geoalchemy2 import functions as geo
from sqlalchemy import Connection, RowMapping, Text, bindparam, delete, exists, insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from sta_server.model import REGISTRY, EntityType, Kind, NavLink
from sta_server.query.validate import resolve_select
from sta_server.sql.columns import read_columns
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


def _geometries(entity_type: EntityType, values: dict[str, Any]) -> frozenset[str]:
    return frozenset(prop.column + "_geom" for prop in entity_type.properties
                     if prop.kind is Kind.GEOJSON and values.get(prop.column + "_geom") is not None)


def insert_row(conn: Connection, entity_type: EntityType, values: dict[str, Any]) -> int:
    """One row; the statement is built once per entity type and set of given columns."""
    stmt = _insert_statement(entity_type.name, tuple(sorted(values)), _geometries(entity_type, values))
    return int(conn.execute(stmt, {f"new_{name}": value for name, value in values.items()}).scalar_one())


def insert_row_read(conn: Connection, entity_type: EntityType, values: dict[str, Any], version: str) -> RowMapping:
    """insert_row returning the new row as a read of `version` selects it (`id` and the read
    columns: serialize/entity.py renders the 201 answer from it instead of reading it back)."""
    stmt = _insert_read_statement(entity_type.name, tuple(sorted(values)), _geometries(entity_type, values), version)
    return conn.execute(stmt, {f"new_{name}": value for name, value in values.items()}).mappings().one()


@cache
def _insert_read_statement(type_name: str, columns: tuple[str, ...], geometries: frozenset[str], version: str) -> Any:
    entity_type = REGISTRY.type(type_name)
    table = table_of(entity_type)
    props = tuple(p for p in resolve_select(entity_type, None, version).props if p.kind is not Kind.ID)
    return (insert(table).values(_params(table, columns, geometries, "new_"))
            .returning(table.c.id, *read_columns(entity_type, table, props)))


def insert_with_parents(conn: Connection, entity_type: EntityType, values: dict[str, Any],
                        parents: dict[str, tuple[EntityType, dict[str, Any]]]) -> tuple[int, dict[str, int]]:
    """One row and the new entities its to-one links point at (`parents`: foreign key column ->
    (the parent's type, its column values)) in ONE statement: each parent's INSERT is a
    data-modifying CTE whose id the row takes. Returns the row's id and the parents' ids by key."""
    keys = tuple(sorted(parents))
    shape = tuple((fk, parents[fk][0].name, tuple(sorted(parents[fk][1])), _geometries(*parents[fk]))
                  for fk in keys)
    stmt = _nested_statement(entity_type.name, tuple(sorted(values)), _geometries(entity_type, values), shape)
    params = {f"new_{name}": value for name, value in values.items()}
    for fk in keys:
        params |= {f"{fk}_{name}": value for name, value in parents[fk][1].items()}
    row = conn.execute(stmt, params).one()
    return int(row[0]), {fk: int(ident) for fk, ident in zip(keys, row[1:], strict=True)}


def _params(table: Any, columns: tuple[str, ...], geometries: frozenset[str], prefix: str) -> dict[str, Any]:
    """column -> a bound parameter `<prefix><column>` (a GeoJSON geometry column: PostGIS makes
    the geometry from the GeoJSON text, see _sql_values)."""
    values: dict[str, Any] = {}
    for name in columns:
        param = bindparam(f"{prefix}{name}", type_=Text() if name in geometries else table.c[name].type)
        values[name] = geo.ST_SetSRID(geo.ST_GeomFromGeoJSON(param), 4326) if name in geometries else param
    return values


@cache
def _insert_statement(type_name: str, columns: tuple[str, ...], geometries: frozenset[str]) -> Any:
    """`INSERT … RETURNING id` with a bound parameter `new_<column>` per column."""
    table = table_of(REGISTRY.type(type_name))
    return insert(table).values(_params(table, columns, geometries, "new_")).returning(table.c.id)


@cache
def _nested_statement(type_name: str, columns: tuple[str, ...], geometries: frozenset[str],
                      parents: tuple[tuple[str, str, tuple[str, ...], frozenset[str]], ...]) -> Any:
    """`WITH <fk> AS (INSERT parent … RETURNING id)… INSERT row … SELECT params, parent ids
    RETURNING id, <fk>…`, built once per shape; parent parameters are `<fk>_<column>`."""
    table = table_of(REGISTRY.type(type_name))
    ctes = []
    for fk, parent_type, parent_columns, parent_geometries in parents:
        parent = table_of(REGISTRY.type(parent_type))
        ctes.append(insert(parent).values(_params(parent, parent_columns, parent_geometries, f"{fk}_"))
                    .returning(parent.c.id).cte(f"new_{fk}"))
    own = _params(table, columns, geometries, "new_")
    source = select(*[value.label(name) for name, value in own.items()], *[cte.c.id for cte in ctes])
    if ctes:  # one row each: joined on true (a plain list of FROMs reads as a forgotten join)
        joined: Any = ctes[0]
        for cte in ctes[1:]:
            joined = joined.join(cte, true())
        source = source.select_from(joined)
    row = insert(table).from_select([*own, *[fk for fk, *_ in parents]], source)
    return row.returning(table.c.id, *[table.c[fk] for fk, *_ in parents]).add_cte(*ctes)


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
