"""Navigation links in SQL: which table a type lives in, and how two rows of linked types meet."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Table, and_, exists, select

from sta_server.model import REGISTRY, EntityType, NavLink
from sta_server.sql.tables import TABLES


def table_of(entity_type: EntityType) -> Table:
    return TABLES[entity_type.table]


def link_condition(link: NavLink, source: FromClause, target: FromClause) -> ColumnElement[bool]:
    """The condition that a row of `source` is linked by `link` to a row of `target`."""
    if link.fk is not None:
        return target.c.id == source.c[link.fk]
    if link.link_table is not None:
        assert link.this_column and link.other_column
        pairs = TABLES[link.link_table]
        return exists().where(
            pairs.c[link.this_column] == source.c.id, pairs.c[link.other_column] == target.c.id
        )
    inverse = REGISTRY.inverse(link)
    assert inverse.fk is not None
    return target.c[inverse.fk] == source.c.id


def related_ids(link: NavLink, source_ids: Select[Any] | None, source_type: EntityType) -> Select[Any]:
    """Ids of the entities linked by `link` to the entities whose ids `source_ids` selects.

    `source_ids` None means every entity of the source type."""
    source = table_of(source_type)
    target = table_of(REGISTRY.target(link))

    def within(column: ColumnElement[Any]) -> ColumnElement[bool]:
        return column.in_(source_ids) if source_ids is not None else column.is_not(None)

    if link.fk is not None:
        return select(source.c[link.fk]).where(within(source.c.id))
    if link.link_table is not None:
        assert link.this_column and link.other_column
        pairs = TABLES[link.link_table]
        return select(pairs.c[link.other_column]).where(within(pairs.c[link.this_column]))
    inverse = REGISTRY.inverse(link)
    assert inverse.fk is not None
    return select(target.c.id).where(within(target.c[inverse.fk]))


def parent_join(link: NavLink, target: Table) -> tuple[FromClause, ColumnElement[Any]]:
    """For expanding `link` from many parents at once: the FROM clause (the target, joined to what
    holds the key) and the column that gives each target row's parent id."""
    if link.link_table is not None:
        assert link.this_column and link.other_column
        pairs = TABLES[link.link_table]
        joined = target.join(pairs, pairs.c[link.other_column] == target.c.id)
        return joined, pairs.c[link.this_column]
    if link.fk is not None:
        parent = table_of(REGISTRY.type(REGISTRY.inverse(link).target)).alias("parent")
        joined = target.join(parent, parent.c[link.fk] == target.c.id)
        return joined, parent.c.id
    inverse = REGISTRY.inverse(link)
    assert inverse.fk is not None
    return target, target.c[inverse.fk]


def and_all(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool] | None:
    return and_(*conditions) if conditions else None
